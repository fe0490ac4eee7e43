"""``python -m exosim``: run the emulator from the command line."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from exosim.app import create_app
from exosim.config import SimConfig


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
    return parser


def config_from_args(argv: Sequence[str] | None = None) -> SimConfig:
    """Defaults, then ``EXOSIM_*`` variables, then command-line flags.

    Raises:
        SystemExit: on invalid flags (argparse prints why).
    """
    parser = _parser()
    args = parser.parse_args(argv)
    if args.port is not None and not 0 < args.port < 65536:
        parser.error("--port must be from 1 to 65535")
    if args.time_scale is not None and args.time_scale <= 0:
        parser.error("--time-scale must be positive")
    return SimConfig.from_env(**vars(args))


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


def run(config: SimConfig) -> None:
    """Serve one emulator with uvicorn until interrupted."""
    print(banner(config), flush=True)
    uvicorn.run(create_app(config), host=config.host, port=config.port, log_level="info")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m exosim``; returns the process exit code."""
    try:
        config = config_from_args(argv)
    except SystemExit as exc:  # --help, or argparse already printed the error
        return exc.code if isinstance(exc.code, int) else 2
    except ValueError as exc:  # a malformed EXOSIM_* variable
        print(f"exosim: {exc}", file=sys.stderr)
        return 2
    run(config)
    return 0
