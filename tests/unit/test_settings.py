"""Settings: production refuses placeholders; the configuration reference stays true."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from pydantic import ValidationError as SettingsError

from exocomms.settings import Settings, settings_reference

DOCS = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_docs_configuration_lists_every_setting() -> None:
    assert DOCS.read_text(encoding="utf-8") == settings_reference(), (
        "regenerate: python -c 'from exocomms.settings import settings_reference as r; "
        'print(r(), end="")\' > docs/configuration.md'
    )


def test_every_default_address_is_loopback() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]  # pydantic-settings kwarg
    for url in (settings.public_base_url, settings.jupiter_url):
        assert url.startswith("http://127.0.0.1:")
    assert settings.host == "127.0.0.1"


def test_production_refuses_placeholders() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings(_env_file=None, env="production", exotel_api_key=SecretStr("changeme"))  # type: ignore[call-arg]
    message = str(caught.value)
    for name in (
        "EXOCOMMS_EXOTEL_API_KEY",
        "EXOCOMMS_ADMIN_API_KEY",
        "EXOCOMMS_EXOTEL_ACCOUNT_SID",
    ):
        assert name in message
