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

    env: Literal["development", "test", "production"] = Field(
        default="development", description="production refuses placeholder or missing secrets"
    )
    data_dir: Path = Field(
        default=Path("./.exocomms"), description="SQLite file, generated token and keys"
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite at <data_dir>/exocomms.db"
    )
    public_base_url: str = Field(
        default="http://127.0.0.1:8080", description="The URL Exotel calls back (applets, status)"
    )
    webhook_token: SecretStr | None = Field(
        default=None, description="Secret in callback URLs; generated into the data dir if unset"
    )
    admin_api_key: SecretStr | None = Field(
        default=None, description="Admin key (X-API-Key or Authorization: Bearer)"
    )
    exotel_base_url: str = Field(
        default=EXOTEL_SINGAPORE,
        description="Singapore; https://api.in.exotel.com for Mumbai; or exosim",
    )
    exotel_account_sid: str = Field(default="", description="Exotel account SID")
    exotel_api_key: SecretStr = Field(default=SecretStr(""), description="Exotel API key")
    exotel_api_token: SecretStr = Field(default=SecretStr(""), description="Exotel API token")
    exotel_timeout_seconds: float = Field(default=10.0, description="Per request to Exotel")
    jupiter_url: str = Field(
        default="http://127.0.0.1:8090", description="The commerce backend (look-ups, outcomes)"
    )
    jupiter_webhook_secret: SecretStr = Field(
        default=SecretStr(""), description="HMAC secret shared with the commerce backend"
    )
    jupiter_timeout_seconds: float = Field(
        default=5.0, description="Per look-up on the commerce backend"
    )

    host: str = Field(default="127.0.0.1", description="Interface `serve` listens on")
    port: int = Field(default=8080, description="Port `serve` listens on")
    log_level: str = Field(default="INFO", description="DEBUG, INFO, WARNING, ERROR")
    log_json: bool = Field(default=True, description="JSON logs (false: console)")
    embedded_worker: bool = Field(default=True, description="Run a job worker inside `serve`")
    worker_concurrency: int = Field(default=8, ge=1, le=256, description="Jobs run at once")
    job_lease_seconds: float = Field(
        default=30.0, gt=0, description="A claimed job is reserved this long (renewed)"
    )
    job_poll_seconds: float = Field(
        default=0.5, gt=0, description="Longest idle sleep between claim rounds"
    )
    outbox_timeout_seconds: float = Field(
        default=10.0, gt=0, description="One outgoing webhook attempt"
    )

    # --- telephony (IVR calls slice) ---
    did_new_order: str = Field(default="", description="Caller id for new-order calls")
    did_reminder: str = Field(default="", description="Caller id for reminder calls")
    did_address: str = Field(default="", description="Caller id for address-update calls")
    caller_id: str = Field(default="", description="Default caller id (ExoPhone)")
    sms_sender_id: str = Field(default="", description="DLT sender id; default the caller id")
    whatsapp_number: str = Field(default="", description="WhatsApp business number")
    dlt_entity_id: str = ""
    dlt_template_ids: dict[str, str] = Field(
        default_factory=dict, description="Message template name → DLT template id (JSON)"
    )
    whatsapp_templates: bool = Field(
        default=True, description="Send WhatsApp as approved templates (false: plain text)"
    )
    exotel_flows: dict[str, str] = Field(
        default_factory=dict, description="IVR name → Exotel app (flow) id; default the name"
    )
    ring_flow: str = Field(default="ring", description="Flow that hangs up at once (rings)")
    call_time_limit_seconds: int = Field(default=300, ge=10, le=14_400)
    call_ring_timeout_seconds: int = Field(default=30, ge=5, le=120)
    reconcile_margin_seconds: float = Field(default=120.0, ge=0)
    ivr_retry: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="Call purpose → {max_attempts, initial_delay, factor, max_delay} (JSON)",
    )

    @model_validator(mode="after")
    def _check_ivr_retry(self) -> Settings:
        from exocomms.calls.service import policy_from_settings  # here: avoids an import cycle

        for purpose, spec in self.ivr_retry.items():
            policy_from_settings(purpose, spec)  # raises ValueError on a bad policy
        return self

    # --- commerce (commerce backend slice) ---
    jupiter_outcomes_path: str = Field(
        default="/exocomms/outcomes", description="Where outcomes are POSTed on jupiter_url"
    )
    jupiter_push_path: str = Field(
        default="/exocomms/push", description="Where push requests are POSTed on jupiter_url"
    )
    jupiter_cache_seconds: float = Field(default=30.0, ge=0, description="Look-up cache TTL")
    jupiter_webhook_tolerance_seconds: float = Field(
        default=300.0, gt=0, description="Max age (and skew) of a signed inbound webhook"
    )
    jupiter_lookup_on_webhook: bool = Field(
        default=True, description="Fill in store/rider details missing from inbound events"
    )

    # --- escalation (orchestrator slice) ---
    admin_on_duty_phone: str = Field(
        default="", description="Admin on duty (E.164): ladder alerts and bridge calls"
    )
    escalation_ring_seconds: int = Field(
        default=15, ge=5, le=60, description="How long a ladder's ring step lets the phone ring"
    )

    # --- config (run-time configuration slice) ---
    secret_keys: SecretStr | None = Field(
        default=None,
        description="Fernet keys for credentials at rest, comma-separated, newest first; "
        "generated into the data dir in development when unset, required in production",
    )
    config_cache_seconds: float = Field(
        default=1.0, ge=0, le=60, description="How stale run-time config may be in a process"
    )

    @model_validator(mode="after")
    def _check_secret_keys(self) -> Settings:
        from exocomms.config.crypto import parse_keys  # here: keeps settings import-light

        raw = self.secret_keys.get_secret_value() if self.secret_keys else ""
        if raw.strip():
            parse_keys(raw)  # raises ValueError naming the bad key's position, never the key
        # Missing in production: reported with the other missing secrets, below.
        return self

    @cached_property
    def resolved_secret_keys(self) -> list[str]:
        """The Fernet keys, newest first: configured, or one generated into the data dir."""
        from exocomms.config.crypto import generate_key, parse_keys

        raw = self.secret_keys.get_secret_value() if self.secret_keys else ""
        if raw.strip():
            return parse_keys(raw)
        path = self.data_dir / "secret_keys"
        if path.exists():
            return parse_keys(path.read_text())
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = generate_key()
        path.write_text(key)
        path.chmod(0o600)
        return [key]

    # --- masking (connecting people slice) ---

    # --- connect (click-to-call, missed calls, inbound IVR slice) ---
    masked_call_time_limit_seconds: int = Field(
        default=1800, ge=60, le=14_400, description="Longest masked conversation (Connect)"
    )
    masked_call_record: bool = Field(default=True, description="Record masked calls")
    missed_call_delay_seconds: float = Field(
        default=30.0, ge=0, le=3600, description="Wait before calling a missed caller back"
    )
    missed_call_window_seconds: float = Field(
        default=600.0, ge=0, le=86_400, description="Repeat missed calls within this: one callback"
    )
    support_phone: str = Field(
        default="", description="Support desk (E.164) for 'talk to support'; default the admin"
    )

    # --- scheduling (scheduled calls and leads slice) ---
    lead_call_delay: float = Field(
        default=60.0, ge=0, le=86_400, description="Seconds from POST /leads to the lead's call"
    )
    lead_flow: str = Field(default="", description="Exotel app (flow) id leads are called into")
    lead_agent_phone: str = Field(
        default="", description="Agent bridged to each lead (E.164); used when lead_flow is unset"
    )
    lead_max_attempts: int = Field(default=3, ge=1, le=10)
    lead_dedupe_hours: float = Field(
        default=24.0, ge=0, le=720, description="A lead with the same phone within this is reused"
    )
    crm_provider: Literal["none", "zoho"] = "none"
    zoho_accounts_url: str = Field(
        default="https://accounts.zoho.in", description="Zoho accounts (OAuth) domain, by region"
    )
    zoho_api_url: str = Field(default="https://www.zohoapis.in", description="Zoho API domain")
    zoho_client_id: str = ""
    zoho_client_secret: SecretStr = SecretStr("")
    zoho_refresh_token: SecretStr = SecretStr("")
    zoho_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    masking_numbers: str = Field(
        default="", description="Virtual-number pool: comma-separated E.164 numbers"
    )
    masking_backend: Literal["pool", "leadassist"] = "pool"
    masking_grace_hours: float = Field(default=4.0, ge=0, le=168)
    masking_default_hours: float = Field(default=24.0, gt=0, le=168)
    masking_pin_digits: int = Field(default=4, ge=4, le=6)
    masking_recolour: bool = Field(
        default=True, description="Move unrevealed sessions to keep the pool small (Kempe)"
    )
    leadassist_base_url: str = "https://leadassist.exotel.in"
    leadassist_tenant_id: str = ""
    leadassist_token: SecretStr = SecretStr("")  # the ExoBridge token (user: account SID)
    leadassist_timeout_seconds: float = Field(default=10.0, gt=0)

    # --- push (FCM HTTP v1) ---
    push_provider: Literal["webhook", "fcm"] = Field(
        default="webhook",
        description="Ladder push: webhook (via the commerce backend) or fcm (FCM HTTP v1)",
    )
    fcm_project_id: str = Field(default="", description="Firebase project id (FCM HTTP v1)")
    fcm_service_account_json: SecretStr = Field(
        default=SecretStr(""), description="Service-account key JSON for FCM (or the file below)"
    )
    fcm_service_account_file: Path | None = Field(
        default=None, description="Path of the service-account key JSON for FCM"
    )
    fcm_base_url: str = Field(
        default="https://fcm.googleapis.com", description="FCM API root (a fake in tests)"
    )
    fcm_timeout_seconds: float = Field(
        default=10.0, gt=0, le=120, description="Per request to FCM and its token endpoint"
    )

    @model_validator(mode="after")
    def _check_push(self) -> Settings:
        if self.push_provider != "fcm" or self.env != "production":
            return self
        missing = []
        if not self.fcm_project_id.strip():
            missing.append("EXOCOMMS_FCM_PROJECT_ID")
        has_json = bool(self.fcm_service_account_json.get_secret_value().strip())
        if not has_json and self.fcm_service_account_file is None:
            missing.append("EXOCOMMS_FCM_SERVICE_ACCOUNT_JSON (or _FILE)")
        if missing:
            raise ProductionConfigError(
                "push_provider=fcm needs its settings in production: " + ", ".join(missing)
            )
        return self

    @property
    def masking_pool(self) -> list[str]:
        """``masking_numbers`` as a list (order kept, blanks and duplicates dropped)."""
        seen: dict[str, None] = {}
        for part in self.masking_numbers.split(","):
            if part.strip():
                seen.setdefault(part.strip(), None)
        return list(seen)

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
        if self.secret_keys is None or not self.secret_keys.get_secret_value().strip():
            bad.append("EXOCOMMS_SECRET_KEYS (make one with `exocomms keys generate`)")
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


def settings_reference() -> str:
    """Every setting as a Markdown table (``docs/configuration.md`` is this, kept in sync)."""
    lines = [
        "# Configuration reference",
        "",
        "Every start-up setting, from the environment (prefix `EXOCOMMS_`) or a `.env` file.",
        "Run-time configuration (timing rules, retries, features, credentials) lives in the",
        "database: see `docs/api.md`, section *Configuration and keys*. This file is generated",
        "from `exocomms.settings.Settings` (`tests/unit/test_settings.py` keeps it in sync).",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        default = field.default_factory() if field.default_factory is not None else field.default  # type: ignore[call-arg]  # pydantic's factory takes no args here
        if isinstance(default, SecretStr):
            shown = "(secret) empty" if not default.get_secret_value() else "(secret)"
        elif default is None or default == "" or default == {}:
            shown = "unset"
        else:
            shown = f"`{default}`"
        lines.append(f"| `EXOCOMMS_{name.upper()}` | {shown} | {field.description or ''} |")
    return "\n".join(lines) + "\n"
