"""``python -m exosim --flows FILE --scenario FILE``: start-up files and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from exosim.cli import app_from_args, main
from tests.exosim.conftest import http_client
from tests.support.servers import free_port, serve_in_thread

FLOWS_YAML = """\
- id: vendor-confirm
  name: Vendor confirmation
  start: hi
  applets:
    hi: {type: greeting, text: "You have a new order", next: bye}
    bye: {type: hangup}
"""

SCENARIO_YAML = """\
phones:
  "+919800000001": {answer_after: 2, keys: [{when_heard: "new order", keys: "1"}]}
  "09800000002": {behaviour: busy}
exophones:
  "08047091234": vendor-confirm
"""


def _write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_flows_and_scenario_are_loaded_at_start_up(tmp_path: Path) -> None:
    flows = _write(tmp_path, "flows.yaml", FLOWS_YAML)
    scenario = _write(tmp_path, "scenario.yaml", SCENARIO_YAML)
    port = free_port()
    app = app_from_args(["--port", str(port), "--flows", flows, "--scenario", scenario])
    with serve_in_thread(app, port=port) as url, http_client(url) as http:
        (flow,) = http.get("/_exosim/flows").json()["flows"]
        assert flow["id"] == "vendor-confirm"
        assert flow["applets"]["hi"] == {
            "type": "greeting",
            "text": "You have a new order",
            "next": "bye",
            "record": False,
        }
        vendor = http.get("/_exosim/phones/09800000001").json()
        assert vendor["scripted"] is True
        assert vendor["script"]["answer_after"] == 2
        assert vendor["script"]["keys"][0]["keys"] == "1"
        assert http.get("/_exosim/phones/09800000002").json()["script"]["behaviour"] == "busy"
        (exophone,) = http.get("/_exosim/exophones").json()
        assert exophone["voice_flow_id"] == "vendor-confirm"
        assert exophone["phone_number"] == "08047091234"


def test_json_flows_file_is_accepted(tmp_path: Path) -> None:
    body = [{"id": "f1", "start": "a", "applets": {"a": {"type": "hangup"}}}]
    flows = _write(tmp_path, "flows.json", json.dumps(body))
    port = free_port()
    app = app_from_args(["--port", str(port), "--flows", flows])
    with serve_in_thread(app, port=port) as url, http_client(url) as http:
        assert [f["id"] for f in http.get("/_exosim/flows").json()["flows"]] == ["f1"]


@pytest.mark.parametrize(
    ("flag", "text", "message"),
    [
        ("--scenario", "phones: [", "not valid YAML/JSON"),
        ("--scenario", "phones: {'+919800000001': {behaviour: asleep}}", "behaviour"),
        ("--scenario", "phones: {'12': {}}", "not a phone number: '12'"),
        ("--scenario", "exophones: {'08047091234': nowhere}", "unknown flow 'nowhere'"),
        ("--scenario", "- a list", "must be a mapping"),
        ("--flows", "[]", "non-empty list"),
        (
            "--flows",
            '[{"id": "f", "start": "x", "applets": {"a": {"type": "hangup"}}}]',
            "flows[0]",
        ),
        ("--flows", "- {id: f, start: a, applets: {a: {type: dance}}}", "flows[0]: applets.a"),
        (
            "--flows",
            "- {id: f, start: a, applets: {a: {type: hangup}}}\n" * 2,
            "flows[1]: flow id 'f' appears twice",
        ),
    ],
)
def test_bad_start_up_file_exits_2_with_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, text: str, message: str
) -> None:
    path = _write(tmp_path, "bad.yaml", text)
    assert main([flag, path, "--port", str(free_port())]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"exosim: {flag} {path}: ")
    assert message in error


def test_missing_or_binary_start_up_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = str(tmp_path / "nope.yaml")
    assert main(["--scenario", missing]) == 2
    assert f"exosim: --scenario {missing}: cannot read it" in capsys.readouterr().err
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00")
    assert main(["--flows", str(binary)]) == 2
    assert f"exosim: --flows {binary}: cannot read it" in capsys.readouterr().err


def test_scenario_exophone_may_use_a_flow_from_the_flows_file(tmp_path: Path) -> None:
    flows = _write(tmp_path, "flows.yaml", FLOWS_YAML)
    scenario = _write(tmp_path, "s.yaml", "exophones: {'08047091234': vendor-confirm}\n")
    app_from_args(["--flows", flows, "--scenario", scenario])  # no error: order is flows first
    with pytest.raises(ValueError, match="unknown flow 'vendor-confirm'"):
        app_from_args(["--scenario", scenario])
