"""``python -m exosim``: run the emulator from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from exosim.app import build_store, create_app
from exosim.clock import SimClock
from exosim.config import SimConfig
from exosim.flows.model import Flow
from exosim.phones.scenario import (
    Scenario,
    ScenarioError,
    apply_scenario,
    parse_flows,
    parse_scenario,
)
from exosim.store import Store


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="exosim",
        description="A local Exotel emulator. Flags override EXOSIM_* environment variables.",
    )
    parser.add_argument("--host", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port to listen on (default 4000)")
    parser.add_argument("--sid", dest="account_sid", help="default account SID (exosim)")
    parser.add_argument("--api-key", help="API key of the default account (exosim-key)")
    parser.add_argument("--api-token", help="API token of the default account (exosim-token)")
    parser.add_argument(
        "--time-scale", type=float, help="simulated seconds per real second (default 1)"
    )
    parser.add_argument("--public-base-url", help="URL clients reach the emulator at")
    parser.add_argument(
        "--scenario",
        metavar="FILE",
        type=Path,
        help="YAML/JSON scenario (phones, flows, exophones) loaded at start-up",
    )
    parser.add_argument(
        "--flows",
        metavar="FILE",
        type=Path,
        help="YAML/JSON list of flows (as POST /_exosim/flows takes) loaded at start-up",
    )
    return parser


@dataclass
class Startup:
    """What a run needs: the settings and what to load into the store at start-up."""

    config: SimConfig
    flows: list[Flow]
    scenario: Scenario | None

    def setup(self, store: Store) -> None:
        """Load the flows, then the scenario (whose ExoPhones may use those flows)."""
        for flow in self.flows:
            store.flows[flow.id] = flow
        if self.scenario is not None:
            apply_scenario(store, self.scenario, self.config.account_sid)


@contextmanager
def _about(flag: str, path: Path | None) -> Iterator[None]:
    """Prefix a start-up file's error with the flag and the file it came from."""
    try:
        yield
    except ScenarioError as exc:
        raise ScenarioError(f"{flag} {path}: {exc}") from exc


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read it: {exc}") from exc


def startup_from_args(argv: Sequence[str] | None = None) -> Startup:
    """Parse flags and environment, and read and validate ``--flows``/``--scenario``.

    Raises:
        SystemExit: on invalid flags (argparse prints why).
        ValueError: a malformed ``EXOSIM_*`` variable.
        ScenarioError: a start-up file that cannot be read or is invalid (the message names
            the flag and the file).
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.port is not None and not 0 < args.port < 65536:
        parser.error("--port must be from 1 to 65535")
    if args.time_scale is not None and args.time_scale <= 0:
        parser.error("--time-scale must be positive")
    flows_path: Path | None = args.flows
    scenario_path: Path | None = args.scenario
    del args.flows, args.scenario  # not settings of SimConfig
    config = SimConfig.from_env(**vars(args))
    startup = Startup(config, [], None)
    if flows_path is not None:
        with _about("--flows", flows_path):
            startup.flows = parse_flows(_read(flows_path))
    if scenario_path is not None:
        with _about("--scenario", scenario_path):
            startup.scenario = parse_scenario(_read(scenario_path))
            # Dry run on a scratch store: cross-file errors (an ExoPhone naming an unknown
            # flow) surface now, not inside the server's start-up.
            startup.setup(build_store(config, SimClock()))
    return startup


def config_from_args(argv: Sequence[str] | None = None) -> SimConfig:
    """Defaults, then ``EXOSIM_*`` variables, then command-line flags.

    Raises:
        SystemExit: on invalid flags (argparse prints why).
    """
    return startup_from_args(argv).config


def app_from_args(argv: Sequence[str] | None = None, clock: SimClock | None = None) -> FastAPI:
    """The ASGI app ``python -m exosim <argv>`` would serve, start-up files included.

    Raises:
        SystemExit, ValueError, ScenarioError: as :func:`startup_from_args`.
    """
    startup = startup_from_args(argv)
    return create_app(startup.config, clock, setup=startup.setup)


def banner(config: SimConfig) -> str:
    """What a user needs to point a client at this instance."""
    return "\n".join(
        [
            "exosim - local Exotel emulator",
            f"  base URL     {config.base_url}",
            f"  account SID  {config.account_sid}",
            f"  API key      {config.api_key}",
            f"  API token    {config.api_token}",
            f"  example      {config.base_url}/v1/Accounts/{config.account_sid}/Calls/connect.json",
            f"  control API  {config.base_url}/_exosim/health",
            f"  time scale   {config.time_scale}",
        ]
    )


def run(config: SimConfig, setup: Callable[[Store], object] | None = None) -> None:
    """Serve one emulator with uvicorn until interrupted (``setup`` fills its store)."""
    print(banner(config), flush=True)
    app = create_app(config, setup=setup)
    uvicorn.run(app, host=config.host, port=config.port, log_level="info")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m exosim``; returns the process exit code."""
    try:
        startup = startup_from_args(argv)
    except SystemExit as exc:  # --help, or argparse already printed the error
        return exc.code if isinstance(exc.code, int) else 2
    except ValueError as exc:  # a malformed EXOSIM_* variable or start-up file
        print(f"exosim: {exc}", file=sys.stderr)
        return 2
    run(startup.config, startup.setup)
    return 0
