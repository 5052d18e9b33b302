"""Structured logs: one line per event, ``key=value`` pairs from ``extra=``.

Values are JSON-quoted, and control characters that JSON leaves as they are (DEL, the C1 range)
are escaped too, so a remote error text or a request path can neither start a fake log line nor
send escape sequences to a terminal. uvicorn's ``color_message`` (the same message with ANSI
colours) is dropped.

While a request is handled, every line (the access line, a refusal, a handler's warning, an
error) carries the request's ``request_id``: the access middleware puts it in a context
variable, which asyncio tasks started meanwhile inherit, and the handler's filter adds it. The
worker's lines (deliveries, inbox processing) belong to no request and carry none.
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from typing import TextIO

_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
_DROPPED = {"color_message"}
_ESCAPES = {c: f"\\u{c:04x}" for c in (*range(0x20), *range(0x7F, 0xA0))}
_TRACEBACK_ESCAPES = {c: e for c, e in _ESCAPES.items() if c != ord("\n")}


REQUEST_ID: ContextVar[str | None] = ContextVar("coopub_request_id", default=None)
"""The id of the request being handled in this context (set by ``instance.access``)."""
EXCEPTION_REQUEST_ID = "coopub_request_id"
"""Attribute naming the request an exception escaped from: uvicorn logs that exception after
the request's context is gone."""


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to records emitted while a request is handled (and to the server's
    report of an exception that escaped one); a ``request_id`` given in ``extra`` is kept."""

    def filter(self, record: logging.LogRecord) -> bool:
        if "request_id" not in vars(record):
            error = record.exc_info[1] if record.exc_info else None
            rid = REQUEST_ID.get() or getattr(error, EXCEPTION_REQUEST_ID, None)
            if rid is not None:
                record.request_id = rid
        return True


def _value(value: object) -> str:
    return json.dumps(value, default=str, ensure_ascii=False).translate(_ESCAPES)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        fields.update(
            {k: v for k, v in vars(record).items() if k not in _STANDARD and k not in _DROPPED}
        )
        line = " ".join(f"{k}={_value(v)}" for k, v in fields.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info).translate(_TRACEBACK_ESCAPES)
        return line


class QuietPoolRetries(logging.Filter):
    """asyncpg's pool logs a full traceback each time it fails to reconnect (every 1 to 60 s)
    while PostgreSQL is down; the worker and ``/healthz`` already report the outage once. Those
    records only pass at DEBUG, as one line with the error."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.getMessage().startswith("Failed to restore the pool connection floor"):
            return True
        if not logging.getLogger().isEnabledFor(logging.DEBUG):
            return False
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            record.error = f"{type(error).__name__}: {' '.join(str(error).split())}"
        record.exc_info = record.exc_text = None
        return True


def log_handler(stream: TextIO) -> logging.Handler:
    """The handler every process logs through: ``key=value`` lines carrying the request id."""
    handler = logging.StreamHandler(stream)
    handler.setFormatter(KeyValueFormatter())
    handler.addFilter(RequestIdFilter())
    return handler


def setup_logging(level: str = "INFO") -> None:
    root = logging.getLogger()
    root.handlers[:] = [log_handler(sys.stderr)]
    root.setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("tortoise").setLevel(logging.WARNING)
    pool = logging.getLogger("asyncpg.pool")
    if not any(isinstance(f, QuietPoolRetries) for f in pool.filters):
        pool.addFilter(QuietPoolRetries())
