"""Secret keys: parsing, the key ring, rotation of tokens, and what Settings demands."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from pydantic import ValidationError as PydanticValidationError

from exocomms.config.crypto import Keyring, SecretUnreadable, key_id, parse_keys
from exocomms.settings import Settings

OLD = Fernet.generate_key().decode()
NEW = Fernet.generate_key().decode()


def test_parse_keys_splits_on_commas_and_newlines() -> None:
    assert parse_keys(f" {NEW} ,\n{OLD},") == [NEW, OLD]


@pytest.mark.parametrize("raw", ["", " , ", "not-a-key", f"{NEW},short"])
def test_parse_keys_refuses_bad_lists_without_echoing_them(raw: str) -> None:
    with pytest.raises(ValueError, match="EXOCOMMS_SECRET_KEYS") as caught:
        parse_keys(raw)
    assert NEW not in str(caught.value)


def test_encrypts_with_the_first_key_and_decrypts_with_any() -> None:
    old_ring = Keyring([OLD])
    token = old_ring.encrypt("exotel-token-abcd")
    assert "exotel-token" not in token
    both = Keyring([NEW, OLD])
    assert both.decrypt(token) == "exotel-token-abcd"
    rotated = both.rotate(token)
    assert Keyring([NEW]).decrypt(rotated) == "exotel-token-abcd"
    with pytest.raises(SecretUnreadable):
        Keyring([NEW]).decrypt(token, "exotelApiToken")
    with pytest.raises(SecretUnreadable, match="exotelApiToken"):
        old_ring.decrypt(rotated, "exotelApiToken")


def test_key_ids_are_short_stable_fingerprints() -> None:
    assert key_id(NEW) == key_id(NEW)
    assert key_id(NEW) != key_id(OLD)
    assert len(key_id(NEW)) == 12
    assert Keyring([NEW, OLD]).primary_id == key_id(NEW)


def test_settings_refuse_a_malformed_key() -> None:
    with pytest.raises(PydanticValidationError, match="key #2 is not a Fernet key"):
        Settings(_env_file=None, secret_keys=SecretStr(f"{NEW},nope"))


def test_production_refuses_to_start_without_secret_keys() -> None:
    with pytest.raises(PydanticValidationError, match="EXOCOMMS_SECRET_KEYS"):
        Settings(_env_file=None, env="production")


def test_development_generates_a_private_key_file_once(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path)
    keys = settings.resolved_secret_keys
    path = tmp_path / "secret_keys"
    assert keys == [path.read_text()]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = Settings(_env_file=None, data_dir=tmp_path)
    assert again.resolved_secret_keys == keys


def test_configured_keys_win_over_the_file(tmp_path: Path) -> None:
    (tmp_path / "secret_keys").write_text(OLD)
    settings = Settings(_env_file=None, data_dir=tmp_path, secret_keys=SecretStr(f"{NEW},{OLD}"))
    assert settings.resolved_secret_keys == [NEW, OLD]
