"""Structured logging: structlog, JSON lines on stdout, request ids, phone numbers masked.

One pipeline for everything: structlog events and plain ``logging`` records from libraries
(uvicorn, httpx, SQLAlchemy) go through the same processors and renderer, so every line is
JSON (or, with ``log_json=False``, a readable console line) with an ISO UTC timestamp, the
level, the event, any bound context (``request_id``, ``call_sid``…), and every phone number in
any string value masked as ``+91******3210``.

Usage::

    from exocomms.logging import get_logger
    log = get_logger(__name__)
    log.info("call_started", call_sid=sid, to=number)   # "to" comes out masked
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor

from exocomms.phones import mask_text

_HANDLER_NAME = "exocomms"
_QUIET_LIBRARIES = ("httpx", "httpcore")


def mask_value(value: Any) -> Any:
    """Mask phone numbers in ``value``: strings, and strings nested in dicts, lists, tuples."""
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return {key: mask_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(mask_value(item) for item in value)
    return value


def mask_phone_numbers(_logger: Any, _method: str, event_dict: EventDict) -> EventDict:
    """structlog processor: mask every phone number in every string value of the event."""
    for key, value in event_dict.items():
        if not key.startswith("_"):  # structlog's own bookkeeping (_record, _from_structlog)
            event_dict[key] = mask_value(value)
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        # Wall time on purpose: logs must not follow a test's or the demo's accelerated clock.
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


class _StdoutHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stdout`` is *now* (pytest and the CLI swap it at run time)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream or sys.stdout)
        self._fixed = stream

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = self._fixed or sys.stdout
        super().emit(record)


def configure_logging(
    *, level: str | int = "INFO", json: bool = True, stream: TextIO | None = None
) -> None:
    """Route structlog and stdlib logging to one handler on stdout (or ``stream``).

    Safe to call again (tests, ``create_app`` per app): the previous exocomms handler is
    replaced, other handlers on the root logger (pytest's capture, for one) are kept.

    Args:
        level: Minimum level, a name such as ``"INFO"`` or a ``logging`` constant.
        json: One JSON object per line; otherwise coloured-free console lines for humans.
        stream: Where to write; default the current ``sys.stdout``.
    """
    shared = _shared_processors()
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # Not cached, so a later configure_logging (tests, the CLI) reaches existing loggers.
        cache_logger_on_first_use=False,
    )
    renderer: Processor = (
        structlog.processors.JSONRenderer(default=str)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    final: list[Processor] = [structlog.stdlib.ProcessorFormatter.remove_processors_meta]
    if json:
        final.append(structlog.processors.format_exc_info)
    final += [mask_phone_numbers, renderer]
    formatter = structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)

    handler = _StdoutHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level.upper() if isinstance(level, str) else level)
    # httpx logs every request at INFO; our own events already say what was called and why.
    for noisy in _QUIET_LIBRARIES:
        logging.getLogger(noisy).setLevel(logging.WARNING)


def get_logger(name: str | None = None, **initial: Any) -> structlog.stdlib.BoundLogger:
    """A structlog logger, optionally with context bound from the start."""
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger.bind(**initial) if initial else logger


def bind_context(**values: Any) -> None:
    """Bind values (``request_id``, ``call_sid``…) to every log line of the current task."""
    structlog.contextvars.bind_contextvars(**values)


def current_context() -> MutableMapping[str, Any]:
    """The context bound with :func:`bind_context` in the current task."""
    return structlog.contextvars.get_contextvars()
