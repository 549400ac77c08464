"""Risk page: formulas on hand-worked cases, the audited writes, and the page as viewer and manager."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pandas as pd
import pytest
from sqlalchemy import delete, func, select

from core import fraud, risk
from core.platform import users
from core.platform.db import get_engine, unit_of_work
from core.platform.filters import Filters
from core.platform.models import AuditEvent, ComplianceItem, Payment, Risk, SuspiciousPayment, Ticket
from core.summaries import fraud_scores, refresh_all
from tests import factories as f
from tests.apptest_support import app_as, open_page
from tests.conftest import SEED_END

MARCH = Filters(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
DAY = dt.date(2026, 3, 10)

# --- risk matrix -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("likelihood", "impact", "score", "band"),
    [
        (1, 1, 1, "low"),  # 1 x 1 = 1
        (2, 2, 4, "low"),  # 2 x 2 = 4, top of low
        (1, 5, 5, "medium"),  # 1 x 5 = 5, bottom of medium
        (3, 3, 9, "medium"),  # 3 x 3 = 9, top of medium
        (2, 5, 10, "high"),  # 2 x 5 = 10, bottom of high
        (3, 5, 15, "high"),  # 3 x 5 = 15, top of high
        (4, 4, 16, "critical"),  # 4 x 4 = 16, bottom of critical
        (5, 5, 25, "critical"),  # 5 x 5 = 25
    ],
)
def test_risk_score_and_band(likelihood, impact, score, band):
    assert risk.risk_score(likelihood, impact) == score
    assert risk.risk_band(score) == band


@pytest.mark.parametrize(("likelihood", "impact"), [(0, 3), (6, 1), (3, 0), (2.5, 1), (True, 2)])
def test_risk_score_rejects_values_off_the_scale(likelihood, impact):
    with pytest.raises(risk.InvalidRiskInput):
        risk.risk_score(likelihood, impact)


# --- concentration ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amounts", "expected"),
    [
        ([100], 10_000.0),  # one member: 100^2
        ([50, 50], 5_000.0),  # 50^2 + 50^2 = 2,500 + 2,500
        ([25, 25, 25, 25], 2_500.0),  # 4 x 25^2 = 4 x 625
        ([60, 30, 10], 4_600.0),  # 3,600 + 900 + 100
        ([3, 1], 6_250.0),  # shares 75 % and 25 %: 5,625 + 625
        ([10] * 10, 1_000.0),  # 10 x 10^2
        ([0, 0], None),  # nothing spent: undefined
    ],
)
def test_hhi_is_the_sum_of_squared_percentage_shares(amounts, expected):
    result = risk.hhi(amounts)
    assert result == (pytest.approx(expected) if expected is not None else None)


@pytest.mark.parametrize(("index", "band"), [(None, "unconcentrated"), (1_499, "unconcentrated"),
                                             (1_500, "moderate"), (2_500, "moderate"), (2_501, "high")])
def test_hhi_bands(index, band):
    assert risk.hhi_band(index) == band


# --- account-health ratios ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "numerator", "denominator", "expected"),
    [
        (risk.order_defect_rate, 3, 200, 0.015),  # 3 / 200
        (risk.order_defect_rate, 0, 100, 0.0),
        (risk.order_defect_rate, 5, 0, None),  # no orders: undefined
        (risk.cancel_rate, 5, 195, 0.025),  # 5 / (195 + 5)
        (risk.cancel_rate, 0, 40, 0.0),
    ],
)
def test_account_health_ratios(function, numerator, denominator, expected):
    result = function(numerator, denominator)
    assert result == (pytest.approx(expected) if expected is not None else None)


def test_monthly_policy_impact_is_cost_change_times_units():
    # +2.50 per unit on 100 units and -1.00 per unit on 10 units: 250 - 10 = 240 a month
    assert risk.monthly_impact([(2.5, 100), (-1.0, 10)]) == pytest.approx(240.0)


# --- fraud score ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("signals", "score", "reasons"),
    [
        ({}, 0, []),
        ({"velocity": True}, 35, ["velocity"]),
        ({"countries": 2}, 15, ["country_mismatch"]),  # one extra country: 15
        ({"countries": 3}, 30, ["country_mismatch"]),  # two extra countries: 2 x 15
        ({"velocity": True, "countries": 2}, 50, ["velocity", "country_mismatch"]),  # 35 + 15
        ({"high_value_first": True, "decline_then_success": True}, 40,
         ["high_value_first", "decline_then_success"]),  # 25 + 15: just suspicious
        ({"velocity": True, "countries": 3, "duplicate": True, "high_value_first": True,
          "decline_then_success": True}, 100, list(fraud.RULES)),  # 35 + 30 + 20 + 25 + 15 = 125, capped at 100
    ],
)
def test_fraud_score(signals, score, reasons):
    assert fraud_scores.fraud_score(**signals) == (score, reasons)


def _attempt(ref, minute, status="succeeded", *, card=None, ip=None, customer=None, amount=10.0,
             card_country="US", ip_country="US", market="US", first=False, hour=10):
    return {"payment_ref": ref, "attempted_at": dt.datetime(2026, 3, 10, hour, 0) + dt.timedelta(minutes=minute),
            "status": status, "amount_usd": amount, "currency": "USD", "market_code": market,
            "card_country": card_country, "ip_country": ip_country, "card_fingerprint": card, "ip_hash": ip,
            "customer_id": customer, "is_first_order": first}


HAND_MADE = [
    # card A: four declines at 10:00, 10:10, 10:20, 10:30, then a success at 10:40 -> the 5th attempt in an hour
    *[_attempt(f"A{i}", 10 * i, "declined", card="cardA") for i in range(4)],
    _attempt("A4", 40, card="cardA"),
    # B: card CN, IP RU, shipped to the US: 3 countries
    _attempt("B", 0, card="cardB", card_country="CN", ip_country="RU"),
    # C then D: same card, same USD 20.00, 4 hours apart, both accepted -> D is a duplicate
    _attempt("C", 60, card="cardC", amount=20.0), _attempt("D", 300, card="cardC", amount=20.0),
    # E: first order of USD 300; F: first order just under USD 250
    _attempt("E", 0, card="cardE", amount=300.0, first=True), _attempt("F", 0, card="cardF", amount=249.99, first=True),
    # G: declined at 10:30, accepted at 12:00 (90 min later): outside the 60-minute window
    _attempt("G0", 30, "declined", card="cardG"), _attempt("G1", 120, card="cardG"),
    # H: declined on one card, accepted 5 minutes later on another card from the same IP
    _attempt("H0", 0, "declined", card="cardH1", ip="ipH"), _attempt("H1", 5, card="cardH2", ip="ipH"),
    # I: 5 attempts from one IP, each on a new card, within the hour (card testing): all 5th+ flagged
    *[_attempt(f"I{i}", 12 * i, "declined", card=f"cardI{i}", ip="ipI", hour=14) for i in range(5)],
]
EXPECTED = {
    "A0": (0, ""), "A1": (0, ""), "A2": (0, ""), "A3": (0, ""),
    "A4": (50, "velocity,decline_then_success"),  # 5 attempts in [09:40, 10:40]: 35, after a decline: 15
    "B": (30, "country_mismatch"),  # 2 extra countries x 15
    "C": (0, ""), "D": (20, "duplicate"),
    "E": (25, "high_value_first"), "F": (0, ""),
    "G0": (0, ""), "G1": (0, ""),
    "H0": (0, ""), "H1": (15, "decline_then_success"),  # same IP declined 5 minutes earlier
    "I0": (0, ""), "I1": (0, ""), "I2": (0, ""), "I3": (0, ""),
    "I4": (35, "velocity"),  # 14:00, 14:12, 14:24, 14:36, 14:48: the 5th attempt within 60 minutes
}


def test_score_payments_on_a_hand_made_set():
    scored = fraud_scores.score_payments(pd.DataFrame(HAND_MADE)).set_index("payment_ref")
    got = {ref: (int(row.score), row.reasons) for ref, row in scored.iterrows()}
    assert got == EXPECTED


def test_velocity_window_includes_exactly_sixty_minutes_back():
    # 5 attempts at 0, 15, 30, 45 and 60 minutes: the last sees [0, 60] inclusive -> 5 attempts
    at_edge = [_attempt(f"V{i}", 15 * i, "declined", card="cardV") for i in range(5)]
    assert fraud_scores.score_payments(pd.DataFrame(at_edge))["score"].tolist() == [0, 0, 0, 0, 35]
    # spread over 61 minutes instead, no attempt has 5 in its hour
    beyond = [_attempt(f"W{i}", m, "declined", card="cardW") for i, m in enumerate((0, 15, 30, 45, 61))]
    assert fraud_scores.score_payments(pd.DataFrame(beyond))["score"].tolist() == [0, 0, 0, 0, 0]


# --- database-backed services -----------------------------------------------------------------------------------


def _ticket(s, ref, order_id, csat, reason="product_question", market="US"):
    created = dt.datetime.combine(DAY, dt.time(12))
    s.add(Ticket(ticket_ref=ref, order_id=order_id, market_code=market, channel="marketplace", reason=reason,
                 language="en", created_at=created, created_date=DAY, first_response_at=created, csat=csat))


@pytest.fixture
def health_db(engine):
    """Amazon (channel 1, US): 8 live orders on 10 Mar and 1 cancelled; Shopify (channel 2, DE): 1 clean order.

    order 1: rated 1 -> negative feedback
    order 2: "where is my order" ticket, shipment lost -> A-to-z claim
    order 3: payment disputed (chargeback) and rated 2 -> one defective order with two defects
    orders 4, 7-10: clean; order 4 dispatched late
    order 5: cancelled, rated 1 -> not counted anywhere but the cancel rate
    """
    with unit_of_work(engine) as s:
        f.reference_rows(s)
        users.ensure_demo_users(s)
        for oid in (1, 2, 3, 4, 7, 8, 9, 10):
            f.order(s, oid, DAY, "US", 1, "50", "40", "20")
        f.order(s, 5, DAY, "US", 1, "50", "40", "20", status="cancelled")
        f.order(s, 6, DAY, "DE", 2, "60", "50", "25")
        s.flush()
        for oid in (1, 3, 4):
            f.shipment(s, oid, DAY, DAY + dt.timedelta(days=5), 7, "5", late_dispatch=oid == 4)
        f.shipment(s, 2, DAY, None, 7, "5", status="lost")
        _ticket(s, "T1", 1, 1)
        _ticket(s, "T2", 2, None, reason="where_is_my_order")
        _ticket(s, "T3", 3, 2)
        _ticket(s, "T5", 5, 1)
        f.card_payment(s, "P3", 3, DAY, disputed=True)
        s.flush()
        refresh_all(s)
    return engine


def test_account_health_per_channel_matches_hand_worked_figures(health_db):
    with unit_of_work(health_db) as s:
        health = risk.account_health(s, MARCH).set_index("channel")
    amazon = health.loc["amazon"]
    assert amazon["orders_60d"] == 8  # live orders; the cancelled one is not an order for the ODR
    assert (amazon["negative_feedback"], amazon["a_to_z_claims"], amazon["chargebacks"]) == (2, 1, 1)
    assert amazon["defective_orders"] == 3  # orders 1, 2, 3 (order 3 has two defects, counted once)
    assert amazon["order_defect_rate"] == pytest.approx(3 / 8)  # 0.375
    assert amazon["late_shipment_rate"] == pytest.approx(1 / 4)  # order 4 of 4 shipments
    assert amazon["cancel_rate"] == pytest.approx(1 / 9)  # 1 cancelled / (8 live + 1 cancelled)
    assert amazon["order_defect_rate_status"] == "breach"
    shopify = health.loc["shopify"]
    assert shopify["order_defect_rate"] == 0 and shopify["order_defect_rate_status"] == "ok"


def test_threshold_watch_bands_each_ratio(health_db):
    with unit_of_work(health_db) as s:
        watch = risk.threshold_watch(s, MARCH).set_index("metric")
    # 3 defective of 9 live orders over both channels = 0.333 >= 1 %: breach
    assert watch.loc["order_defect_rate", "value"] == pytest.approx(3 / 9)
    assert watch.loc["order_defect_rate", "status"] == "breach"
    assert watch.loc["late_shipment_rate", "value"] == pytest.approx(1 / 4)
    assert watch.loc["vamp_ratio", "limit"] == pytest.approx(0.022)  # March 2026: before the 1.5 % limit
    assert set(watch.index) >= {"cancel_rate", "valid_tracking_rate", "on_time_rate", "mastercard_ecm_ratio"}


def _payment_row(s, pid, ref, at, status, **extra):
    s.add(Payment(id=pid, payment_ref=ref, market_code=extra.pop("market", "US"), channel_id=2, attempted_at=at,
                  attempt_date=at.date(), method="card", gateway="stripe", amount=Decimal("3"), currency="USD",
                  usd_per_unit=1.0, amount_usd=Decimal("3"), status=status, **extra))


def test_suspicious_payments_table_is_refreshed_and_filtered(engine):
    with unit_of_work(engine) as s:
        f.reference_rows(s)
        start = dt.datetime(2026, 3, 10, 14, 0)
        for i in range(6):  # card testing from one IP: attempts 5 and 6 hit the velocity rule
            _payment_row(s, 100 + i, f"X{i}", start + dt.timedelta(minutes=5 * i), "declined", ip_hash="ipX",
                         card_fingerprint=f"c{i}", card_country="NG", ip_country="NG")
        _payment_row(s, 200, "Y", start, "succeeded", market="DE", card_country="DE", ip_country="DE")
        s.flush()
        counts = refresh_all(s)
    assert counts["suspicious_payments"] == 6  # every X attempt: card NG / IP NG / shipped US = 15 points
    with unit_of_work(engine) as s:
        scores = dict(s.execute(select(SuspiciousPayment.payment_ref, SuspiciousPayment.score)).all())
        assert scores == {"X0": 15, "X1": 15, "X2": 15, "X3": 15, "X4": 50, "X5": 50}  # 35 + 15 on the last two
        listed = fraud.suspicious_payments(s, MARCH)
        assert list(listed["payment_ref"]) == ["X5", "X4"]  # score >= 40, newest first
        assert fraud.suspicious_total(s, MARCH) == (2, pytest.approx(6.0))
        assert fraud.suspicious_payments(s, Filters(MARCH.start, MARCH.end, ("DE",))).empty
        signals = fraud.signal_counts(s, MARCH).set_index("rule")
        assert signals.loc["velocity", "payments"] == 2 and signals.loc["country_mismatch", "payments"] == 6
        # rescoring one day replaces that day's rows only
        assert fraud_scores.refresh_suspicious_payments(s, DAY, DAY) == 6
        assert s.scalar(select(func.count()).select_from(SuspiciousPayment)) == 6


def test_concentration_on_hand_made_sales(health_db):
    with unit_of_work(health_db) as s:
        markets = risk.market_concentration(s, MARCH).set_index("market")
    # net revenue: US 8 x 40 = 320, DE 50 -> shares 320/370 and 50/370
    assert markets.loc["US", "share"] == pytest.approx(320 / 370)
    assert risk.hhi(markets["revenue"]) == pytest.approx((100 * 320 / 370) ** 2 + (100 * 50 / 370) ** 2)


# --- audited writes -----------------------------------------------------------------------------------------------


@pytest.fixture
def register_db(engine):
    with unit_of_work(engine) as s:
        f.reference_rows(s)
        users.ensure_demo_users(s)
    return engine


def _audit_rows(session, entity):
    return session.execute(select(AuditEvent.username, AuditEvent.entity_id, AuditEvent.action, AuditEvent.detail)
                           .where(AuditEvent.entity == entity).order_by(AuditEvent.id)).all()


def test_manager_adds_edits_and_closes_a_risk_with_an_audit_trail(register_db):
    with unit_of_work(register_db) as s:
        rid = risk.add_risk(s, "manager", title="Port strike in Ningbo", category="supply_chain", likelihood=2,
                            impact=4, owner="Li Wei", mitigation="Dual-port routing")
    with unit_of_work(register_db) as s:
        diff = risk.update_risk(s, "manager", rid, likelihood=5, owner="Li Wei")
        assert diff == {"likelihood": (2, 5)}  # owner unchanged: not in the diff
        assert risk.update_risk(s, "manager", rid, likelihood=5) == {}  # no change, nothing written
    with unit_of_work(register_db) as s:
        risk.close_risk(s, "manager", rid)
    with unit_of_work(register_db) as s:
        stored = s.get(Risk, rid)
        assert (stored.likelihood, stored.status, stored.updated_by) == (5, "closed", "manager")
        trail = _audit_rows(s, "risk")
        assert [(u, e, a) for u, e, a, _ in trail] == [("manager", str(rid), "create"), ("manager", str(rid), "update"),
                                                       ("manager", str(rid), "close")]
        assert json.loads(trail[1].detail) == {"likelihood": [2, 5]}
        assert json.loads(trail[2].detail) == {"status": ["open", "closed"]}
        cells = risk.heat_map(s)
        assert cells["risks"].sum() == 0  # closed risks leave the heat map


@pytest.mark.parametrize("actor", ["viewer", "staff", "nobody", None])
def test_only_managers_write_the_register(register_db, actor):
    with unit_of_work(register_db) as s:
        with pytest.raises(users.PermissionDenied):
            risk.add_risk(s, actor, title="x", category="market", likelihood=1, impact=1, owner="x")
        assert s.scalar(select(func.count()).select_from(Risk)) == 0


@pytest.mark.parametrize(
    "changes",
    [{"likelihood": 6}, {"impact": 0}, {"category": "weather"}, {"status": "done"}, {"title": "  "},
     {"colour": "red"}],
)
def test_invalid_risk_edits_are_refused(register_db, changes):
    with unit_of_work(register_db) as s:
        rid = risk.add_risk(s, "manager", title="FX", category="financial", likelihood=3, impact=3, owner="Wang")
    with unit_of_work(register_db) as s:
        with pytest.raises(risk.InvalidRiskInput):
            risk.update_risk(s, "manager", rid, **changes)


def test_heat_map_counts_open_risks_per_cell(register_db):
    with unit_of_work(register_db) as s:
        for title, lk, im in (("a", 5, 4), ("b", 5, 4), ("c", 1, 2)):
            risk.add_risk(s, "admin", title=title, category="market", likelihood=lk, impact=im, owner="o")
        cells = risk.heat_map(s).set_index(["likelihood", "impact"])
    assert len(cells) == 25
    assert cells.loc[(5, 4), "risks"] == 2 and cells.loc[(5, 4), "band"] == "critical"  # 20
    assert cells.loc[(1, 2), "risks"] == 1 and cells.loc[(1, 2), "band"] == "low"  # 2
    assert cells["risks"].sum() == 3


def test_compliance_item_edits_are_audited_and_need_a_manager(register_db):
    with unit_of_work(register_db) as s:
        s.add(ComplianceItem(id=1, market_code="DE", area="tax_registration", requirement="IOSS", status="missing",
                             owner="", updated_by="seed", updated_at=dt.datetime(2026, 1, 1)))
    with unit_of_work(register_db) as s:
        with pytest.raises(users.PermissionDenied):
            risk.update_compliance_item(s, "viewer", 1, status="done")
        with pytest.raises(risk.InvalidRiskInput):
            risk.update_compliance_item(s, "manager", 1, status="finished")
    with unit_of_work(register_db) as s:
        risk.update_compliance_item(s, "manager", 1, status="done", owner="Wang Fang")
    with unit_of_work(register_db) as s:
        item = s.get(ComplianceItem, 1)
        assert (item.status, item.owner, item.updated_by) == ("done", "Wang Fang", "manager")
        (trail,) = _audit_rows(s, "compliance_item")
        assert json.loads(trail.detail) == {"owner": ["", "Wang Fang"], "status": ["missing", "done"]}
        summary = risk.compliance_summary(risk.compliance_checklist(s, ("DE",)))
        assert summary.iloc[0][["items", "done", "done_share"]].tolist() == [1, 1, 1.0]


# --- seeded data ----------------------------------------------------------------------------------------------------


def test_seeded_policy_register_prices_customs_changes_only(seeded_url):
    with unit_of_work(get_engine(seeded_url)) as s:
        register = risk.policy_register(s, SEED_END).set_index("title")
    de_minimis = register.loc["US ends duty-free de minimis entry for low-value parcels"]
    assert de_minimis["markets"] == "US" and de_minimis["skus"]
    assert de_minimis["monthly_impact_usd"] > 0  # duty now due on parcels that entered duty-free
    assert pd.isna(register.loc["Visa VAMP excessive threshold lowered to 1.5 %", "monthly_impact_usd"])
    assert register.loc["EU General Product Safety Regulation (GPSR) applies", "status"] == "in_force"


# --- the page -------------------------------------------------------------------------------------------------------


@pytest.fixture
def app_env(seeded_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)
    return seeded_url


EDIT_CONTROLS = {"Save changes", "Close this risk", "Add risk", "Save checklist"}


def test_viewer_reads_the_risk_page_without_edit_controls(app_env):
    at = open_page(app_as("viewer"), "risk")
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Risk"]
    assert [t.label for t in at.tabs][:6] == ["Risk register", "Policy changes", "Fraud signals", "Account health",
                                              "Concentration", "Compliance"]
    assert not EDIT_CONTROLS & {b.label for b in at.button}
    assert not at.text_area and not at.number_input  # no risk form
    assert len(at.dataframe) >= 8  # watch, register, policies, rules, suspicious, health, suppliers, checklist
    assert {m.label for m in at.metric} >= {"Suspicious payments", "Supplier spend HHI", "Market revenue HHI"}


def _heat_map_cells(at) -> dict[tuple[int, int], int]:
    """Risks per (likelihood, impact) cell, read from the data the page sent to the heat-map chart."""
    import pyarrow as pa

    for chart in at.get("vega_lite_chart"):
        if "Risks not closed by likelihood and impact" in chart.proto.spec:
            data = pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_all().to_pandas()
            return {(int(r.likelihood), int(r.impact)): int(r.risks) for r in data.itertuples()}
    raise AssertionError("no heat map on the page")


def test_manager_edits_a_risk_and_the_checklist_and_both_persist(app_env):
    engine = get_engine(app_env)
    with unit_of_work(engine) as s:
        target = s.scalars(select(Risk).where(Risk.status != "closed").order_by(Risk.id)).first()
        rid, old_likelihood, impact = target.id, target.likelihood, target.impact
        first_item = risk.compliance_checklist(s).iloc[0]  # the editor's first row
        item_id, old_owner = int(first_item["id"]), first_item["owner"]
        last_audit = s.scalar(select(func.coalesce(func.max(AuditEvent.id), 0)))
    new_likelihood = 1 if old_likelihood != 1 else 2
    try:
        at = open_page(app_as("manager"), "risk")
        assert not at.exception, [e.value for e in at.exception]
        assert EDIT_CONTROLS <= {b.label for b in at.button}
        before = _heat_map_cells(at)
        at.selectbox(key="risk_edit_choice").select(rid).run()
        at.number_input(key=f"edit_{rid}_likelihood").set_value(new_likelihood)
        next(b for b in at.button if b.label == "Save changes").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert any(f"Risk #{rid} saved." in m.value for m in at.success)
        after = _heat_map_cells(at)  # the rerun after the write shows the new heat map (caches cleared)
        assert after[(old_likelihood, impact)] == before[(old_likelihood, impact)] - 1
        assert after[(new_likelihood, impact)] == before[(new_likelihood, impact)] + 1
        with unit_of_work(engine) as s:
            assert s.get(Risk, rid).likelihood == new_likelihood
            last = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
            assert (last.username, last.entity, last.entity_id) == ("manager", "risk", str(rid))
            assert json.loads(last.detail) == {"likelihood": [old_likelihood, new_likelihood]}

        at.session_state["compliance_editor"] = {"edited_rows": {0: {"owner": "Apptest Owner"}},
                                                 "added_rows": [], "deleted_rows": []}
        next(b for b in at.button if b.label == "Save checklist").click().run()
        assert not at.exception, [e.value for e in at.exception]
        assert any("1 checklist items saved." in m.value for m in at.success)
        with unit_of_work(engine) as s:
            assert s.get(ComplianceItem, item_id).owner == "Apptest Owner"
            last = s.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
            assert (last.entity, last.entity_id, last.username) == ("compliance_item", str(item_id), "manager")
    finally:
        with unit_of_work(engine) as s:
            s.get(Risk, rid).likelihood = old_likelihood
            s.get(ComplianceItem, item_id).owner = old_owner
            s.execute(delete(AuditEvent).where(AuditEvent.id > last_audit))
