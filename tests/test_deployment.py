"""Running it for a team (issue 15, item 12 and the README's deployment section): the published demo passwords
are never served beyond loopback without an explicit override, the SQLite files holding the password hashes are
this account's only, and the shipped Streamlit config accepts only the loopback Host names."""

from __future__ import annotations

import os
import stat
import tomllib
from pathlib import Path

import pytest
from sqlalchemy import text

from core.platform import config, deployment, users
from core.platform.db import get_engine, unit_of_work
from core.platform.schema import upgrade
from tests.apptest_support import app_as

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("address", "loopback"), [
    ("127.0.0.1", True), ("127.0.0.53", True), ("::1", True), ("[::1]", True), ("localhost", True),
    ("LOCALHOST", True), ("app.localhost", True),
    ("0.0.0.0", False), ("::", False), ("", False), (None, False), ("10.0.0.5", False),
    ("ops.example.com", False),
])
def test_loopback_addresses(address, loopback):
    assert deployment.is_loopback(address) is loopback


@pytest.fixture
def demo_db(engine):
    with unit_of_work(engine) as session:
        users.ensure_demo_users(session)
    return engine


def _exposed(engine, address, allowed=False):
    with unit_of_work(engine) as session:
        return deployment.exposed_demo_accounts(session, address, allowed)


def test_demo_accounts_block_a_public_address_until_each_is_disabled_or_changed(demo_db):
    assert _exposed(demo_db, "127.0.0.1") == []
    assert _exposed(demo_db, "0.0.0.0") == ["admin", "manager", "staff", "viewer"]
    assert _exposed(demo_db, "0.0.0.0", allowed=True) == []
    with unit_of_work(demo_db) as session:
        users.set_disabled(session, "viewer", True)
        users.reset_password(session, "staff", "Fresh-Pass-9283")
    assert _exposed(demo_db, "0.0.0.0") == ["admin", "manager"]


def _run_check(demo_db, monkeypatch, capsys, address: str, allow: str | None = None) -> tuple[int, str]:
    monkeypatch.setenv("DATABASE_URL", demo_db.url.render_as_string(hide_password=False))
    if allow is None:
        monkeypatch.delenv("CBO_ALLOW_DEMO_ACCOUNTS", raising=False)
    else:
        monkeypatch.setenv("CBO_ALLOW_DEMO_ACCOUNTS", allow)
    code = deployment.main(["--address", address])
    return code, capsys.readouterr().err


def test_the_start_check_refuses_a_public_address_with_demo_passwords(demo_db, monkeypatch, capsys):
    code, err = _run_check(demo_db, monkeypatch, capsys, "0.0.0.0")
    assert code == 1
    assert "admin, manager, staff, viewer" in err and "CBO_ALLOW_DEMO_ACCOUNTS=1" in err
    assert _run_check(demo_db, monkeypatch, capsys, "127.0.0.1")[0] == 0
    assert _run_check(demo_db, monkeypatch, capsys, "0.0.0.0", allow="1")[0] == 0
    assert _run_check(demo_db, monkeypatch, capsys, "0.0.0.0", allow="0")[0] == 1


def test_bin_run_checks_before_it_starts_the_server():
    script = (ROOT / "bin" / "run").read_text()
    check = script.index("-m core.platform.deployment --address \"$address\"")
    start = script.index("exec .venv/bin/python -m streamlit run bin/streamlit_app.py")
    assert check < start
    assert "--server.address \"$address\"" in script[start:], "the checked address is the one served"


@pytest.fixture
def served_on(seeded_url, monkeypatch):
    """Runs the app as if `streamlit run` had been given --server.address."""
    from streamlit import config as streamlit_config

    monkeypatch.setenv("DATABASE_URL", seeded_url)
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)
    monkeypatch.delenv("CBO_ALLOW_DEMO_ACCOUNTS", raising=False)
    before = streamlit_config.get_option("server.address")

    def serve(address: str):
        streamlit_config.set_option("server.address", address)
        return app_as(None)

    yield serve
    streamlit_config.set_option("server.address", before)


def test_the_app_serves_nothing_on_a_public_address_with_demo_passwords(served_on, monkeypatch):
    at = served_on("0.0.0.0")
    assert not at.exception, [e.value for e in at.exception]
    assert any("demo accounts" in e.value and "CBO_ALLOW_DEMO_ACCOUNTS" in e.value for e in at.error)
    assert not at.text_input, "no login form"
    monkeypatch.setenv("CBO_ALLOW_DEMO_ACCOUNTS", "1")
    assert [t.label for t in served_on("0.0.0.0").text_input] == ["Username", "Password"]
    monkeypatch.delenv("CBO_ALLOW_DEMO_ACCOUNTS")
    assert [t.label for t in served_on("127.0.0.1").text_input] == ["Username", "Password"]


# --------------------------------------------------------------------------- file modes


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _write_through(url: str) -> None:
    eng = get_engine(url)
    upgrade(eng)
    with eng.begin() as conn:  # a write, so the WAL and the shared-memory index exist
        conn.execute(text("CREATE TABLE IF NOT EXISTS mode_probe (a INTEGER)"))
        conn.execute(text("INSERT INTO mode_probe VALUES (1)"))
    with eng.connect() as conn:
        conn.execute(text("SELECT a FROM mode_probe")).all()


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_new_sqlite_database_and_its_wal_are_private(tmp_path):
    db = tmp_path / "new-dir" / "crossborder.db"
    _write_through(f"sqlite:///{db}")
    assert _mode(db.parent) == 0o700
    for path in (db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        assert path.exists(), path
        assert _mode(path) == 0o600, f"{path.name}: {oct(_mode(path))}"


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_the_apps_data_directory_and_an_old_readable_database_are_tightened(tmp_path, monkeypatch):
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    db = data / "crossborder.db"
    db.touch()
    db.chmod(0o644)
    monkeypatch.setattr(config, "DATA_DIR", data)
    _write_through(f"sqlite:///{db}")
    assert _mode(data) == 0o700
    assert _mode(db) == 0o600
    assert _mode(db.with_name(db.name + "-wal")) == 0o600


@pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")
def test_a_directory_named_in_database_url_is_left_to_the_operator(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o750)
    _write_through(f"sqlite:///{shared / 'x.db'}")
    assert _mode(shared) == 0o750
    assert _mode(shared / "x.db") == 0o600


# --------------------------------------------------------------------------- the shipped Streamlit config


def test_the_shipped_config_accepts_only_loopback_host_names():
    server = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())["server"]
    assert server["address"] == "127.0.0.1"
    assert server["allowedHosts"], "an empty list accepts any Host header"
    assert all(deployment.is_loopback(host) for host in server["allowedHosts"])
    assert server["enableXsrfProtection"] is True
