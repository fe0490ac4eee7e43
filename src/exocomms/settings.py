"""One ``Settings`` for the whole service, from ``EXOCOMMS_*`` variables and ``.env``."""

from __future__ import annotations

import secrets
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EXOTEL_SINGAPORE = "https://api.exotel.com"
EXOTEL_MUMBAI = "https://api.in.exotel.com"

# Values that mean "nobody configured this": refused in production.
PLACEHOLDERS = frozenset({"", "changeme", "change-me", "placeholder", "secret", "xxx", "test"})


class ProductionConfigError(ValueError):
    """Production was asked for with placeholder or missing secrets."""


class Settings(BaseSettings):
    """Start-up configuration. Run-time configuration lives in the database (``config/``)."""

    model_config = SettingsConfigDict(
        env_prefix="EXOCOMMS_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "test", "production"] = "development"
    data_dir: Path = Path("./.exocomms")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite at <data_dir>/exocomms.db"
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8080", description="The URL Exotel calls back (applets, status)"
    )
    webhook_token: SecretStr | None = Field(
        default=None, description="Secret in callback URLs; generated into the data dir if unset"
    )
    admin_api_key: SecretStr | None = None
    exotel_base_url: str = EXOTEL_SINGAPORE
    exotel_account_sid: str = ""
    exotel_api_key: SecretStr = SecretStr("")
    exotel_api_token: SecretStr = SecretStr("")
    exotel_timeout_seconds: float = 10.0
    jupiter_url: str = "http://127.0.0.1:8090"
    jupiter_webhook_secret: SecretStr = SecretStr("")
    jupiter_timeout_seconds: float = 5.0

    host: str = "127.0.0.1"
    port: int = 8080
    log_level: str = "INFO"
    log_json: bool = True
    embedded_worker: bool = True
    worker_concurrency: int = Field(default=8, ge=1, le=256)
    job_lease_seconds: float = Field(default=30.0, gt=0)
    job_poll_seconds: float = Field(default=0.5, gt=0)
    outbox_timeout_seconds: float = Field(default=10.0, gt=0)

    # --- telephony (IVR calls slice) ---

    # --- commerce (commerce backend slice) ---

    # --- escalation (orchestrator slice) ---

    # --- config (run-time configuration slice) ---

    # --- masking (connecting people slice) ---

    @model_validator(mode="after")
    def _refuse_placeholders_in_production(self) -> Settings:
        if self.env != "production":
            return self
        required: dict[str, SecretStr | None] = {
            "EXOCOMMS_WEBHOOK_TOKEN": self.webhook_token,
            "EXOCOMMS_ADMIN_API_KEY": self.admin_api_key,
            "EXOCOMMS_EXOTEL_API_KEY": self.exotel_api_key,
            "EXOCOMMS_EXOTEL_API_TOKEN": self.exotel_api_token,
            "EXOCOMMS_JUPITER_WEBHOOK_SECRET": self.jupiter_webhook_secret,
        }
        bad = [
            name
            for name, value in required.items()
            if value is None
            or value.get_secret_value().strip().lower() in PLACEHOLDERS
            or len(value.get_secret_value()) < 16
        ]
        if not self.exotel_account_sid:
            bad.append("EXOCOMMS_EXOTEL_ACCOUNT_SID")
        if bad:
            raise ProductionConfigError(
                "refusing to start in production with missing or placeholder settings: "
                + ", ".join(bad)
            )
        return self

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or the default SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'exocomms.db').resolve()}"

    @cached_property
    def resolved_webhook_token(self) -> str:
        """The callback-URL secret: configured, or generated once and kept in the data dir."""
        if self.webhook_token is not None and self.webhook_token.get_secret_value():
            return self.webhook_token.get_secret_value()
        path = self.data_dir / "webhook_token"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        token = secrets.token_urlsafe(32)
        path.write_text(token)
        path.chmod(0o600)
        return token
