"""structlog setup: JSON lines, ISO timestamps, bound context, phone numbers masked."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from exocomms.logging import bind_context, configure_logging, get_logger, mask_value


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(level="DEBUG", json=True, stream=stream)
    yield stream
    structlog.contextvars.clear_contextvars()
    configure_logging(level="INFO", json=True)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_json_line_with_level_timestamp_and_fields(out: io.StringIO) -> None:
    get_logger("t").info("call_started", call_sid="CA1", attempt=2)
    (line,) = lines(out)
    assert line["event"] == "call_started"
    assert line["level"] == "info"
    assert line["logger"] == "t"
    assert line["call_sid"] == "CA1"
    assert line["attempt"] == 2
    assert line["timestamp"].endswith("Z")
    assert line["timestamp"][:4].isdigit()


def test_phone_numbers_masked_everywhere(out: io.StringIO) -> None:
    log = get_logger("t")
    log.info(
        "dialing 9876543210",
        to="+919876543210",
        nested={"from": "09876543211", "list": ["919876543212", 42]},
        url="https://x.test/cb?From=%2B919876543213&To=9876543214",
        count=9876543210,  # not a string: left as is (ids are numbers; phones are strings)
    )
    raw = out.getvalue()
    for digits in ("98765432", "987654321"):
        assert digits not in raw.replace("9876543210,", "")  # the int count is allowed
    (line,) = lines(out)
    assert line["event"] == "dialing +91******3210"
    assert line["to"] == "+91******3210"
    assert line["nested"] == {"from": "+91******3211", "list": ["+91******3212", 42]}
    assert "+91******3214" in line["url"]
    assert line["count"] == 9876543210


def test_stdlib_records_and_tracebacks_masked(out: io.StringIO) -> None:
    logging.getLogger("some.library").warning("sent SMS to %s", "9876543210")
    try:
        raise RuntimeError("could not reach +919876543210")
    except RuntimeError:
        get_logger("t").exception("failed")
    raw = out.getvalue()
    assert "9876543210" not in raw
    first, second = lines(out)
    assert first["event"] == "sent SMS to +91******3210"
    assert first["logger"] == "some.library"
    assert second["level"] == "error"
    assert "RuntimeError: could not reach +91******3210" in second["exception"]


def test_bound_context_appears_on_every_line(out: io.StringIO) -> None:
    bind_context(request_id="req-1")
    get_logger("t").info("a")
    logging.getLogger("lib").info("b")
    assert [line["request_id"] for line in lines(out)] == ["req-1", "req-1"]


def test_level_filters(out: io.StringIO) -> None:
    configure_logging(level="WARNING", json=True, stream=out)
    log = get_logger("t")
    log.info("hidden")
    log.warning("shown")
    assert [line["event"] for line in lines(out)] == ["shown"]


def test_console_renderer_masks_too() -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json=False, stream=stream)
    try:
        get_logger("t").info("hello", to="9876543210")
    finally:
        configure_logging(level="INFO", json=True)
    text = stream.getvalue()
    assert "hello" in text
    assert "to=+91******3210" in text
    assert "9876543210" not in text


def test_reconfiguring_replaces_the_handler(out: io.StringIO) -> None:
    configure_logging(level="INFO", json=True, stream=out)
    configure_logging(level="INFO", json=True, stream=out)
    get_logger("t").info("once")
    assert len(lines(out)) == 1


def test_mask_value_keeps_types() -> None:
    assert mask_value(("9876543210", 1)) == ("+91******3210", 1)
    assert mask_value(None) is None
