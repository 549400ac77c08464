"""Market research: growth, attractiveness, sales share, notes (hand-worked), and the page."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import select

from core import market as mk
from core.platform import users
from core.platform.db import unit_of_work
from core.platform.models import AuditEvent, MarketNote, User
from tests import factories as f
from tests.apptest_support import app_as, open_page


@pytest.mark.parametrize(("current", "last_year", "growth"), [(120, 100, 0.2), (80, 100, -0.2), (50, 0, None),
                                                               (50, None, None)])
def test_yoy_growth(current, last_year, growth):
    result = mk.yoy_growth(current, last_year)
    assert result == (pytest.approx(growth) if growth is not None else None)


@pytest.mark.parametrize(("values", "invert", "scaled"), [
    ([10, 20, 30], False, [0, 50, 100]),    # (20 - 10) / (30 - 10) = 0.5
    ([10, 20, 30], True, [100, 50, 0]),
    ([5, 5], False, [50, 50]),              # all equal
    ([None, 1, 3], False, [0, 0, 100]),     # missing scores 0
])
def test_scale_0_100(values, invert, scaled):
    assert mk.scale_0_100(values, invert=invert) == pytest.approx(scaled)


def test_attractiveness_hand_worked():
    components = pd.DataFrame([
        # gmv 1,000 / 10,000 / 100,000 -> log10 3 / 4 / 5 -> size 0 / 50 / 100
        {"market": "X", "gmv": 1_000.0, "growth": 0.5, "margin": 0.1, "competition": 100.0, "logistics_share": 0.1},
        {"market": "Y", "gmv": 10_000.0, "growth": 0.0, "margin": 0.2, "competition": 300.0, "logistics_share": 0.2},
        {"market": "Z", "gmv": 100_000.0, "growth": 0.1, "margin": 0.3, "competition": 500.0, "logistics_share": 0.3},
    ])
    scored = mk.attractiveness(components, {"size": 1, "growth": 1, "margin": 1, "competition": 1, "logistics": 1})
    by_market = scored.set_index("market")
    # X: size 0, growth 100, margin 0, competition 100 (lowest reviews), logistics 100 -> 300 / 5 = 60
    # Y: 50, 0, 50, 50, 50 -> 40;  Z: 100, 20, 100, 0, 0 -> 44
    assert by_market.loc["X", "score"] == pytest.approx(60)
    assert by_market.loc["Y", "score"] == pytest.approx(40)
    assert by_market.loc["Z", "score"] == pytest.approx(44)
    assert list(scored["market"]) == ["X", "Z", "Y"]


@pytest.mark.parametrize(("ours", "competitors", "share"), [(20, [30, 50], 0.2), (0, [10], 0.0), (0, [], None)])
def test_share_of_sales(ours, competitors, share):
    assert mk.share_of_sales(ours, competitors) == share


@pytest.fixture
def notes_db(engine):
    with unit_of_work(engine) as s:
        f.reference_rows(s)
        now = dt.datetime(2026, 1, 1)
        for name, role in (("boss", "manager"), ("reader", "viewer")):
            s.add(User(username=name, display_name=name, role=role, password_hash="x", created_at=now,
                       updated_at=now))
    return engine


def test_manager_saves_a_note_with_who_and_when(notes_db):
    when = dt.datetime(2026, 3, 1, 12, 0)
    with unit_of_work(notes_db) as s:
        mk.save_note(s, "boss", "DE", "SWOT", "threats", "  New EUR 3 duty per line  ", now=when)
    with unit_of_work(notes_db) as s:
        note = s.scalar(select(MarketNote).where(MarketNote.market_code == "DE"))
        assert (note.body, note.updated_by, note.updated_at) == ("New EUR 3 duty per line", "boss", when)
        event = s.scalar(select(AuditEvent).where(AuditEvent.entity == "market_note"))
        assert (event.username, event.entity_id, event.action) == ("boss", "DE/SWOT/threats", "create")


@pytest.mark.parametrize(("actor", "framework", "box", "error"), [
    ("reader", "SWOT", "threats", users.PermissionDenied),
    (None, "SWOT", "threats", users.PermissionDenied),
    ("boss", "SWOT", "political", ValueError),
])
def test_notes_refuse_non_managers_and_unknown_boxes(notes_db, actor, framework, box, error):
    with unit_of_work(notes_db) as s, pytest.raises(error):
        mk.save_note(s, actor, "DE", framework, box, "text")


# --- the page ---------------------------------------------------------------------------------------


@pytest.fixture
def _app_env(seeded_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)


def _page(role):
    at = open_page(app_as(role), "market")
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_viewer_reads_the_market_page_but_cannot_edit_notes(_app_env):
    at = _page("viewer")
    assert [t.value for t in at.title] == ["Market research"]
    assert len(at.dataframe) >= 3
    assert not at.text_area
    assert any("Managers can edit" in c.value for c in at.caption)


def test_manager_edits_a_note_and_it_persists_with_who_and_when(_app_env, seeded_url):
    from core.platform.db import get_engine

    at = _page("manager")
    at.selectbox(key="note_box").set_value(("PEST", "technological"))
    at.text_area(key="note_body").input("AppTest note: <b>not html</b>")
    next(b for b in at.button if b.label == "Save note").click().run()
    assert not at.exception, [e.value for e in at.exception]
    with unit_of_work(get_engine(seeded_url)) as s:
        note = s.scalar(select(MarketNote).where(MarketNote.market_code == "US", MarketNote.framework == "PEST",
                                                 MarketNote.box == "technological"))
        assert note.body == "AppTest note: <b>not html</b>"
        assert note.updated_by == "manager"
    assert any(t.value == "AppTest note: <b>not html</b>" for t in at.text)
