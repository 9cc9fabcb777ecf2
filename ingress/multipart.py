"""An incremental multipart/form-data parser: feed it chunks, get part events, never buffer a body."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from daemon.errors import InvalidInput

MAX_HEADER_BYTES = 16 * 1024


@dataclass(frozen=True)
class PartStart:
    name: str
    filename: str | None
    content_type: str | None


@dataclass(frozen=True)
class PartData:
    data: bytes | memoryview  # a view into the fed chunk when it could be passed on uncopied


@dataclass(frozen=True)
class PartEnd:
    pass


Event = PartStart | PartData | PartEnd

_PARAM = re.compile(r';\s*([A-Za-z0-9_*.-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)')


def boundary_from(content_type: str) -> bytes:
    """The boundary of a ``multipart/form-data`` Content-Type, or InvalidInput."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise InvalidInput("expected a multipart/form-data body (field 'file')")
    params = dict(_params(content_type))
    boundary = params.get("boundary", "")
    if not 1 <= len(boundary) <= 200:
        raise InvalidInput("multipart body has no valid boundary")
    return boundary.encode("latin-1")


def _params(header: str) -> list[tuple[str, str]]:
    out = []
    for key, raw in _PARAM.findall(header):
        value = raw.strip()
        if value.startswith('"') and value.endswith('"'):
            value = re.sub(r"\\(.)", r"\1", value[1:-1])
        out.append((key.lower(), value))
    return out


def _disposition(value: str) -> tuple[str, str | None]:
    params = dict(_params(value))
    filename = params.get("filename")
    extended = params.get("filename*")
    if extended and "''" in extended:
        charset, _, encoded = extended.partition("''")
        filename = unquote(encoded, encoding=charset or "utf-8", errors="replace")
    elif filename is not None:
        # Browsers send UTF-8 bytes inside the quoted string; we decoded as latin-1.
        try:
            filename = filename.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return params.get("name", ""), filename


class MultipartParser:
    """State machine over a multipart body; ``feed`` returns the events the new bytes complete."""

    def __init__(self, boundary: bytes) -> None:
        self._delimiter = b"\r\n--" + boundary
        self._buffer = bytearray(b"\r\n")  # lets the first boundary match the same delimiter
        self._state = "preamble"

    @property
    def done(self) -> bool:
        return self._state == "done"

    def feed(self, chunk: bytes) -> list[Event]:
        events: list[Event] = []
        if self._state == "body" and self._body_passthrough(chunk, events):
            return events
        self._buffer += chunk
        while True:
            step = getattr(self, "_" + self._state)(events)
            if not step:
                return events

    def close(self) -> None:
        if self._state != "done":
            raise InvalidInput("multipart body ended before its closing boundary")

    def _body_passthrough(self, chunk: bytes, events: list[Event]) -> bool:
        """The common case of a large upload: a chunk in the middle of a part, with no delimiter
        in reach. Its bytes are handed on as a view (no copy into the buffer and out again)."""
        delimiter = self._delimiter
        keep = len(delimiter) - 1  # the longest delimiter prefix a chunk can end with
        if len(self._buffer) > keep or len(chunk) <= keep:
            return False
        # A delimiter starting in the buffered tail ends within the chunk's first ``keep`` bytes.
        if self._buffer and (bytes(self._buffer) + chunk[:keep]).find(delimiter) >= 0:
            return False
        if chunk.find(delimiter) >= 0:
            return False
        if self._buffer:
            events.append(PartData(bytes(self._buffer)))
        events.append(PartData(memoryview(chunk)[: len(chunk) - keep]))
        self._buffer = bytearray(chunk[len(chunk) - keep :])
        return True

    def _preamble(self, events: list[Event]) -> bool:
        index = self._buffer.find(self._delimiter)
        if index < 0:
            keep = len(self._delimiter)
            if len(self._buffer) > keep:
                del self._buffer[: len(self._buffer) - keep]
            return False
        del self._buffer[: index + len(self._delimiter)]
        self._state = "after_boundary"
        return True

    def _after_boundary(self, events: list[Event]) -> bool:
        if len(self._buffer) < 2:
            return False
        marker = bytes(self._buffer[:2])
        if marker == b"--":
            self._state = "done"
            self._buffer.clear()
            return False
        # Tolerate transport padding (spaces/tabs) before the CRLF.
        end = self._buffer.find(b"\r\n")
        if end < 0:
            if len(self._buffer) > 256:
                raise InvalidInput("malformed multipart boundary line")
            return False
        if self._buffer[:end].strip(b" \t"):
            raise InvalidInput("malformed multipart boundary line")
        del self._buffer[: end + 2]
        self._state = "headers"
        return True

    def _headers(self, events: list[Event]) -> bool:
        end = self._buffer.find(b"\r\n\r\n")
        if end < 0:
            if len(self._buffer) > MAX_HEADER_BYTES:
                raise InvalidInput("multipart part headers are too large")
            return False
        raw = bytes(self._buffer[:end]).decode("latin-1")
        del self._buffer[: end + 4]
        headers = {}
        for line in raw.split("\r\n"):
            key, sep, value = line.partition(":")
            if not sep:
                raise InvalidInput("malformed multipart part header")
            headers[key.strip().lower()] = value.strip()
        name, filename = _disposition(headers.get("content-disposition", ""))
        events.append(PartStart(name, filename, headers.get("content-type")))
        self._state = "body"
        return True

    def _body(self, events: list[Event]) -> bool:
        index = self._buffer.find(self._delimiter)
        if index >= 0:
            if index:
                events.append(PartData(bytes(self._buffer[:index])))
            del self._buffer[: index + len(self._delimiter)]
            events.append(PartEnd())
            self._state = "after_boundary"
            return True
        safe = len(self._buffer) - len(self._delimiter) + 1
        if safe > 0:
            events.append(PartData(bytes(self._buffer[:safe])))
            del self._buffer[:safe]
        return False

    def _done(self, events: list[Event]) -> bool:
        self._buffer.clear()
        return False
