"""Streaming a large JSON answer: an object whose one list is sent in batches as they are read."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import msgspec

_encoder = msgspec.json.Encoder()


def json_array_body(
    head: dict[str, Any],
    key: str,
    batches: Iterator[list[dict[str, Any]]],
    decorate: Callable[[dict[str, Any]], None] | None = None,
) -> Iterator[bytes]:
    """``{...head, "key": [items...]}`` as byte chunks, one per batch; memory is bounded by a
    batch. The batches iterator is closed when the client goes away mid-answer."""
    opening = _encoder.encode(head)
    yield opening[:-1] + (b"," if len(head) else b"") + b'"' + key.encode() + b'":['
    first = True
    try:
        for batch in batches:
            if not batch:
                continue
            if decorate is not None:
                for item in batch:
                    decorate(item)
            encoded = _encoder.encode(batch)
            yield (b"" if first else b",") + encoded[1:-1]
            first = False
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()
    yield b"]}"
