"""First start, broken databases and the cookie signing key."""

from __future__ import annotations

import stat

import pytest

from core.bootstrap import DatabaseUnavailable, prepare_database
from core.platform import config
from core.platform.db import get_engine


def test_a_broken_database_file_gives_a_message_with_the_fix(tmp_path):
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"this is not a database" * 100)
    with pytest.raises(DatabaseUnavailable) as caught:
        prepare_database(get_engine(f"sqlite:///{broken}"), seed_if_empty=False)
    message = str(caught.value)
    assert "could not be opened" in message and "mv data/crossborder.db" in message


def test_an_unreachable_server_gives_a_message_without_the_password():
    engine = get_engine("postgresql://someone:s3cret@127.0.0.1:1/nowhere")
    with pytest.raises(DatabaseUnavailable) as caught:
        prepare_database(engine, seed_if_empty=False)
    assert "s3cret" not in str(caught.value)
    assert "DATABASE_URL" in str(caught.value)


def test_cookie_key_is_generated_once_private_and_long(tmp_path, monkeypatch):
    monkeypatch.delenv("CBO_COOKIE_KEY", raising=False)
    monkeypatch.setattr(config, "SECRETS_FILE", tmp_path / "absent.toml")
    monkeypatch.setattr(config, "GENERATED_KEY_FILE", tmp_path / "secrets" / "cookie_key")
    first = config.cookie_key()
    assert len(first.encode()) >= 32
    assert config.cookie_key() == first
    assert stat.S_IMODE((tmp_path / "secrets" / "cookie_key").stat().st_mode) == 0o600


def test_a_short_cookie_key_is_refused(monkeypatch):
    monkeypatch.setenv("CBO_COOKIE_KEY", "too-short")
    with pytest.raises(ValueError, match="at least 32 bytes"):
        config.cookie_key()


def test_settings_come_from_the_secrets_file(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('DATABASE_URL = "sqlite:////tmp/elsewhere.db"\n')
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setattr(config, "SECRETS_FILE", secrets)
    assert config.database_url() == "sqlite:////tmp/elsewhere.db"
