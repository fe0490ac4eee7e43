"""Start-up settings of the emulator (flags or ``EXOSIM_*`` environment variables)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass
class SimConfig:
    """How one exosim instance starts. Everything else changes at run time via ``/_exosim/``."""

    host: str = "127.0.0.1"
    port: int = 4000
    account_sid: str = "exosim"
    api_key: str = "exosim-key"
    api_token: str = "exosim-token"  # noqa: S105 - the emulator's documented demo token
    voice_per_minute: int = 200  # Exotel's documented limit for all voice APIs
    sms_per_minute: int = 200  # ... and for all SMS APIs
    time_scale: float = 1.0  # simulated seconds per real second
    passthru_timeout: float = 8.0  # seconds an applet waits for your URL (an assumption)
    callback_timeout: float = 15.0  # seconds a status callback waits for your 2xx
    public_base_url: str | None = None  # where recordings are served; default http://host:port

    @property
    def base_url(self) -> str:
        """The URL this instance is reachable at (for RecordingUrl and the like)."""
        return (self.public_base_url or f"http://{self.host}:{self.port}").rstrip("/")

    @classmethod
    def from_env(cls, **overrides: object) -> SimConfig:
        """Defaults, then ``EXOSIM_*`` variables, then explicit (non-None) overrides."""
        config = cls()
        for name, value in vars(cls()).items():
            raw = os.environ.get(f"EXOSIM_{name.upper()}")
            if raw is not None:
                setattr(config, name, type(value)(raw) if value is not None else raw)
        for name, value in overrides.items():
            if value is not None:
                setattr(config, name, value)
        return config
