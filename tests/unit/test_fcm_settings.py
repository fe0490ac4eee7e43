"""``push_provider=fcm`` in production needs a project id and service-account credentials."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from exocomms.config.crypto import generate_key
from exocomms.settings import Settings


def _production(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "_env_file": None,
        "env": "production",
        "webhook_token": SecretStr("w" * 32),
        "admin_api_key": SecretStr("a" * 32),
        "exotel_account_sid": "exocomms1",
        "exotel_api_key": SecretStr("k" * 32),
        "exotel_api_token": SecretStr("t" * 32),
        "jupiter_webhook_secret": SecretStr("j" * 32),
        "secret_keys": SecretStr(generate_key()),
    }
    values.update(overrides)
    return Settings(**values)


def test_webhook_push_needs_nothing_more() -> None:
    assert _production().push_provider == "webhook"


def test_fcm_in_production_names_what_is_missing() -> None:
    with pytest.raises(ValueError, match="push_provider=fcm") as info:
        _production(push_provider="fcm")
    assert "EXOCOMMS_FCM_PROJECT_ID" in str(info.value)
    assert "EXOCOMMS_FCM_SERVICE_ACCOUNT_JSON" in str(info.value)


def test_fcm_in_production_with_a_key_file(tmp_path: Path) -> None:
    settings = _production(
        push_provider="fcm", fcm_project_id="shop-app", fcm_service_account_file=tmp_path / "k"
    )
    assert settings.fcm_base_url == "https://fcm.googleapis.com"
    secret = '{"client_email": "x@y"}'
    assert secret not in repr(
        _production(
            push_provider="fcm", fcm_project_id="p", fcm_service_account_json=SecretStr(secret)
        )
    )
