"""Logging for the commands: one handler on stderr, as text or as one JSON object per line.

MEDIA_SYNC_LOG_FORMAT=text gives ``<time> <LEVEL> <logger>: <message>``; ``json`` gives
``{"time": "<ISO-8601 UTC>", "level", "logger", "message", ...}`` with the structured fields
an event line carries (``project``, ``path``, ``size``, ``outcome``, ``client``, ...; see
``daemon.observe``) and ``exception`` when a traceback is logged. uvicorn's own loggers lose
their handlers and go through the same one (its access log is off: ``media_sync_api.access``
is ours).
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from daemon.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")
# What every LogRecord carries: anything else on a record came in through ``extra=``.
# uvicorn adds ``color_message`` (its message with terminal colours): left out too.
_STANDARD = frozenset(vars(logging.makeLogRecord({}))) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        document: dict[str, Any] = {
            "time": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in document and not key.startswith("_"):
                document[key] = value
        if record.exc_info:
            document["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            document["exception"] = record.exc_text
        if record.stack_info:
            document["stack"] = self.formatStack(record.stack_info)
        return json.dumps(document, ensure_ascii=False, default=str)


def formatter_for(log_format: str) -> logging.Formatter:
    """The formatter of MEDIA_SYNC_LOG_FORMAT (``text`` or ``json``)."""
    return JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(settings: Settings, stream: TextIO | None = None) -> None:
    """Send every record at MEDIA_SYNC_LOG_LEVEL or above to ``stream`` (stderr) in the
    chosen format; uvicorn's loggers propagate to it instead of printing their own lines.
    Calling it again replaces the handler this function installed before."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(formatter_for(settings.log_format))
    handler.set_name("media-sync")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "media-sync"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level)
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
        logger.setLevel(logging.NOTSET)  # MEDIA_SYNC_LOG_LEVEL decides, not an earlier config
        logger.disabled = False  # a dictConfig (uvicorn's own) may have disabled it
