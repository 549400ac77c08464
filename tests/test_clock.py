"""One clock: CBO_TODAY pins "today" for demos and tests, otherwise it is the real date."""

from __future__ import annotations

import datetime as dt

import pytest

from core.platform import clock


def test_cbo_today_pins_the_day(monkeypatch):
    monkeypatch.setenv("CBO_TODAY", "2024-02-29")
    assert clock.today() == dt.date(2024, 2, 29)


def test_without_cbo_today_it_is_the_real_date(monkeypatch):
    monkeypatch.delenv("CBO_TODAY", raising=False)
    monkeypatch.setattr("core.platform.config._secrets_toml", dict)  # a developer's secrets.toml must not pin it
    assert clock.today() == dt.date.today()


def test_a_malformed_cbo_today_says_what_it_expects(monkeypatch):
    monkeypatch.setenv("CBO_TODAY", "20/11/2026")
    with pytest.raises(ValueError, match="CBO_TODAY must be a date as YYYY-MM-DD"):
        clock.today()
