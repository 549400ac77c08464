"""Summary tables on a hand-made dataset small enough to work every row out on paper (core.summaries).

The dataset (March 2026; product 1, warehouse 1, USD at 1.0):
  order 1  Mar 2  US amazon   gmv 100  revenue 80  cogs 30  completed, first order      customer 1 (since Mar 2)
  order 2  Mar 2  US amazon   gmv  50  revenue 40  cogs 20  refunded 50                customer 1
  order 3  Mar 2  US amazon   gmv  70  revenue 60  cogs 25  cancelled
  order 4  Mar 3  DE shopify  gmv  30  revenue 25  cogs 10  completed                  customer 2 (since Feb 10)
  shipments: order 1 DHL Mar 3 09:00 -> Mar 6 15:00 (3.25 days, promised 5) cost 8
             order 2 DHL Mar 3 09:00 -> Mar 10 15:00 (7.25 days, promised 5) cost 6
             order 4 UPS Mar 4, lost, dispatched late, cost 5
  returns:   order 2 damaged, Mar 12, refund 50, return shipping 4, not restockable (unit cost 20)
             order 1 changed_mind, Mar 12, refund 0, return shipping 3, restockable
  payments (US shopify card stripe, 10 USD each):
             P1 Mar 2 succeeded, paid out Mar 9 at 1.1 USD per USD-unit; P2 Mar 2 declined (insufficient_funds)
             P3 Mar 3 succeeded, disputed Mar 20 (fraudulent); P4 Mar 3 succeeded, reported as fraud
  tickets (email, where_is_my_order, en, opened 08:00):
             T1 Mar 2 US csat 5, answered after 2.5 h, resolved after 100 h
             T2 Mar 2 US no csat, answered after 31 h
             T3 Mar 3 DE csat 1, answered after 0.5 h
"""

from __future__ import annotations

import ast
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core import summaries
from core.platform.db import unit_of_work
from core.platform.models import (
    Customer,
    DailyDelivery,
    DailyDisputes,
    DailyPaymentOutcomes,
    DailyPayments,
    DailyProductDemand,
    DailyReturns,
    DailySales,
    DailySettlements,
    DailyTickets,
    DailyTicketStats,
    DailyTicketTimes,
    DailyTransit,
    Market,
    MonthlyCohorts,
    MonthlyOrderValues,
    MonthlySkuReturns,
    MonthlySkuSales,
    Order,
    OrderLine,
    Payment,
    PaymentsInTransit,
    Return,
    Ticket,
)
from core.summaries import registry
from tests import factories as f

MAR = dt.date(2026, 3, 1)
FEB = dt.date(2026, 2, 1)
D1, D2 = dt.date(2026, 3, 2), dt.date(2026, 3, 3)
WIMO = "where_is_my_order"


def _day(day: int) -> dt.date:
    return dt.date(2026, 3, day)


def _payment(s: Session, ref: str, day: dt.date, *, settled: dt.date | None = None, **changes) -> None:
    f.card_payment(s, ref, 4, day, status=changes.pop("status", "succeeded"), fraud=changes.pop("fraud", False))
    s.flush()
    if settled is not None:
        changes.update(settled_on=settled, settled_usd_per_unit=1.1)
    if changes:
        s.execute(update(Payment).where(Payment.payment_ref == ref).values(**changes))


def _ticket(s: Session, ref: str, day: dt.date, market: str, csat: int | None, response_hours: float,
            resolution_hours: float | None = None) -> None:
    f.ticket(s, ref, day, market, csat, response_hours)
    s.flush()
    if resolution_hours is not None:
        opened = dt.datetime.combine(day, dt.time(8))
        s.execute(update(Ticket).where(Ticket.ticket_ref == ref)
                  .values(resolved_at=opened + dt.timedelta(hours=resolution_hours)))


def _return(s: Session, order_id: int, reason: str, refund: str, shipping: str, restockable: bool) -> None:
    s.add(Return(order_id=order_id, product_id=1, quantity=1, reason=reason, requested_on=_day(12),
                 refund_usd=Decimal(refund), return_shipping_usd=Decimal(shipping), restockable=restockable))


def build(s: Session) -> None:
    f.reference_rows(s)
    s.add_all([Customer(id=1, customer_ref="c1", market_code="US", first_order_on=D1),
               Customer(id=2, customer_ref="c2", market_code="DE", first_order_on=dt.date(2026, 2, 10))])
    s.flush()
    f.order(s, 1, D1, "US", 1, "100", "80", "30", first=True)
    f.order(s, 2, D1, "US", 1, "50", "40", "20", status="refunded", refunded="50")
    f.order(s, 3, D1, "US", 1, "70", "60", "25", status="cancelled")
    f.order(s, 4, D2, "DE", 2, "30", "25", "10")
    s.flush()
    s.execute(update(Order).where(Order.id.in_((1, 2))).values(customer_id=1))
    s.execute(update(Order).where(Order.id == 4).values(customer_id=2))
    f.shipment(s, 1, D2, _day(6), 5, "8")
    f.shipment(s, 2, D2, _day(10), 5, "6")
    f.shipment(s, 4, _day(4), None, 5, "5", carrier="UPS", status="lost", late_dispatch=True)
    _return(s, 2, "damaged", "50", "4", restockable=False)
    _return(s, 1, "changed_mind", "0", "3", restockable=True)
    _payment(s, "P1", D1, settled=_day(9))
    _payment(s, "P2", D1, status="declined", decline_reason="insufficient_funds")
    _payment(s, "P3", D2, disputed_on=_day(20), dispute_reason="fraudulent")
    _payment(s, "P4", D2, fraud=True)
    _ticket(s, "T1", D1, "US", 5, 2.5, resolution_hours=100)
    _ticket(s, "T2", D1, "US", None, 31)
    _ticket(s, "T3", D2, "DE", 1, 0.5)
    s.flush()


def _normalised(row) -> tuple:
    return tuple(round(float(v), 6) if isinstance(v, (float, Decimal)) else v for v in row)


def rows(s: Session, model) -> list[tuple]:
    return sorted(_normalised(r) for r in s.execute(select(model.__table__)).all())


def _expected(model, *expected: tuple) -> list[tuple]:
    return sorted(_normalised(r) for r in expected)


# Each case lists the rows in the table's column order (see core/platform/models.py), worked out from the docstring.
CASES = {
    # day, market, channel, orders, units, new_customers, gmv, net_revenue, cogs, shipping, refunds,
    # refunded_orders, cancelled_orders -- the cancelled order counts only as cancelled
    DailySales: [(D1, "US", 1, 2, 2, 1, 150, 120, 50, 14, 50, 1, 1),
                 (D2, "DE", 2, 1, 1, 0, 30, 25, 10, 5, 0, 0, 0)],
    # ship day, market, channel, carrier, service, shipments, delivered, on_time, lost, returned_to_sender,
    # late_dispatch, valid_tracking, transit_days_sum (3 + 7 whole days), cost
    DailyDelivery: [(D2, "US", 1, "DHL", "dhl_express", 2, 2, 1, 0, 0, 0, 2, 10, 14),
                    (_day(4), "DE", 2, "UPS", "dhl_express", 1, 0, 0, 1, 0, 1, 1, 0, 5)],
    # ship day, market, channel, carrier, transit_days, delivered, on_time
    DailyTransit: [(D2, "US", 1, "DHL", 3, 1, 1), (D2, "US", 1, "DHL", 7, 1, 0)],
    # order day, warehouse, product, units
    DailyProductDemand: [(D1, 1, 1, 2), (D2, 1, 1, 1)],
    # month, product, market, channel, orders, repeat_orders, units, sales, net_revenue, cogs, returned_units
    MonthlySkuSales: [(MAR, 1, "US", 1, 2, 1, 2, 150, 120, 50, 2), (MAR, 1, "DE", 2, 1, 1, 1, 30, 25, 10, 0)],
    # month, market, channel, band (lower edge), orders, gmv
    MonthlyOrderValues: [(MAR, "US", 1, 50, 1, 50), (MAR, "US", 1, 100, 1, 100), (MAR, "DE", 2, 30, 1, 30)],
    # day, market, channel, method, gateway, attempts, succeeded, declined, disputed, fraud, amount, fee, refunded
    DailyPayments: [(D1, "US", 2, "card", "stripe", 2, 1, 1, 0, 0, 10, 0, 0),
                    (D2, "US", 2, "card", "stripe", 2, 2, 0, 1, 1, 20, 0, 0)],
    # day, market, channel, method, gateway, card_country, decline_reason, attempts, succeeded
    DailyPaymentOutcomes: [(D1, "US", 2, "card", "stripe", "", "", 1, 1),
                           (D1, "US", 2, "card", "stripe", "", "insufficient_funds", 1, 0),
                           (D2, "US", 2, "card", "stripe", "", "", 2, 2)],
    # day raised (dispute day, else attempt day), market, channel, method, gateway, reason, disputes, fraud, amount
    DailyDisputes: [(_day(20), "US", 2, "card", "stripe", "fraudulent", 1, 0, 10),
                    (D2, "US", 2, "card", "stripe", "", 0, 1, 10)],
    # payout day, market, channel, method, gateway, currency, payments, local, usd, settled_usd, fee, lag days
    DailySettlements: [(_day(9), "US", 2, "card", "stripe", "USD", 1, 10, 10, 11, 0, 7)],
    # attempt day, market, channel, method, gateway, currency, payments, local, usd, fee
    PaymentsInTransit: [(D2, "US", 2, "card", "stripe", "USD", 2, 20, 20, 0)],
    # day, market, channel, reason, tickets, csat_sum, csat_count, first_response_hours_sum, responded
    DailyTickets: [(D1, "US", "email", WIMO, 2, 5, 1, 33.5, 2), (D2, "DE", "email", WIMO, 1, 1, 1, 0.5, 1)],
    # day, market, channel, reason, language, tickets, responded, resolved, csat_sum, csat_count
    DailyTicketStats: [(D1, "US", "email", WIMO, "en", 2, 2, 1, 5, 1), (D2, "DE", "email", WIMO, "en", 1, 1, 0, 1, 1)],
    # day, market, channel, language, measure, bucket (lower edge, hours), tickets: 2.5 h -> 2, 31 h -> 30
    # (two-hourly from 24 h), 0.5 h -> 0, 100 h -> 96; T2 and T3 are not resolved
    DailyTicketTimes: [(D1, "US", "email", "en", "first_response", 2, 1),
                       (D1, "US", "email", "en", "first_response", 30, 1),
                       (D1, "US", "email", "en", "resolution", 96, 1),
                       (D2, "DE", "email", "en", "first_response", 0, 1)],
    # request day, market, channel, reason, returns, units, refund, return shipping, unsellable (unit cost 20)
    DailyReturns: [(_day(12), "US", 1, "changed_mind", 1, 1, 0, 3, 0), (_day(12), "US", 1, "damaged", 1, 1, 50, 4, 20)],
    # order month, market, channel, product, units_sold, units_returned, refund, return shipping, unsellable
    MonthlySkuReturns: [(MAR, "US", 1, 1, 2, 2, 50, 7, 20), (MAR, "DE", 2, 1, 1, 0, 0, 0, 0)],
    # cohort month, month, market, customers, orders (customer 1 placed two live orders)
    MonthlyCohorts: [(MAR, MAR, "US", 1, 2), (FEB, MAR, "DE", 1, 1)],
}


def _non_empty(s: Session) -> set[str]:
    return {model.__tablename__ for model in CASES if rows(s, model)}


@pytest.fixture
def dataset(engine):
    with unit_of_work(engine) as s:
        build(s)
    return engine


@pytest.mark.parametrize("model", list(CASES), ids=lambda model: model.__tablename__)
def test_refresh_all_writes_the_hand_worked_rows(dataset, model):
    with unit_of_work(dataset) as s:
        summaries.refresh_all(s)
    with unit_of_work(dataset) as s:
        assert rows(s, model) == _expected(model, *CASES[model])


@pytest.mark.parametrize("model", list(CASES), ids=lambda model: model.__tablename__)
def test_refreshing_twice_gives_the_same_rows(dataset, model):
    with unit_of_work(dataset) as s:
        summaries.refresh_all(s)
        summaries.refresh_all(s)
        assert rows(s, model) == _expected(model, *CASES[model])


def test_refresh_all_counts_the_rows_it_wrote(dataset):
    with unit_of_work(dataset) as s:
        counts = summaries.refresh_all(s)
    assert {model.__tablename__: counts[model.__tablename__] for model in CASES} == {
        model.__tablename__: len(expected) for model, expected in CASES.items()}


def test_a_range_refresh_rewrites_its_days_only(dataset):
    with unit_of_work(dataset) as s:
        summaries.refresh_all(s)
        s.execute(update(Order).where(Order.id.in_((1, 4))).values(gmv_usd=Decimal("1000")))
        summaries.refresh_all(s, D2, D2)
        gmv = dict(s.execute(select(DailySales.day, DailySales.gmv_usd)).all())
    assert gmv == {D1: 150, D2: 1000}  # order 1 (Mar 2) changed too, but Mar 2 was outside the range


# --- refresh_affected ---------------------------------------------------------------------------------------


FRAUD, HEALTH = "suspicious_payments", "daily_account_health"  # the fraud and risk pages' summaries
PROFIT, COSTS = "daily_profit", "sku_costs"  # the ledger's; their rows are tested in tests/test_profit.py
LEDGER = {PROFIT, "daily_profit_markets", "monthly_profit_skus"}  # the ledger and its two roll-ups


@pytest.mark.parametrize(("touched", "refreshed"), [
    ({"orders"}, {"daily_sales", "daily_delivery", "daily_transit", "daily_product_demand", "monthly_sku_sales",
                  "monthly_order_values", "daily_returns", "monthly_sku_returns", "monthly_cohorts", FRAUD, HEALTH,
                  *LEDGER}),
    ({"tickets"}, {"daily_tickets", "daily_ticket_stats", "daily_ticket_times", HEALTH}),
    ({"payments"}, {"daily_payments", "daily_payment_outcomes", "daily_disputes", "daily_settlements",
                    "payments_in_transit", FRAUD, HEALTH, *LEDGER}),
    ({"shipments"}, {"daily_sales", "daily_delivery", "daily_transit", "daily_product_demand", HEALTH, *LEDGER}),
    ({"inventory_snapshots"}, LEDGER),  # storage
    ({"inbound_shipments"}, {COSTS, *LEDGER}),  # a batch moves the unit cost of later sales
])
def test_refresh_affected_runs_only_the_summaries_reading_the_touched_tables(dataset, touched, refreshed):
    with unit_of_work(dataset) as s:
        counts = summaries.refresh_affected(s, touched, D1, _day(31))
        assert _non_empty(s) - LEDGER == refreshed - {FRAUD, HEALTH, COSTS, *LEDGER}
    assert set(counts) == refreshed


@pytest.mark.parametrize(("start", "end", "widened"), [
    (D1, D2, (None, None)),  # the orders are on D1 and D2: this range is the whole history
    (_day(1), _day(31), (None, None)),
    (D2, D2, (D2, None)),  # no order after D2, so nothing after it needs keeping
    (D1, D1, (None, D1)),
    (None, D1, (None, D1)),
])
def test_a_range_reaching_past_every_order_is_refreshed_unbounded(dataset, start, end, widened):
    with unit_of_work(dataset) as s:
        assert registry._whole_history(s, start, end)(start, end) == widened


@pytest.mark.parametrize("model", list(CASES), ids=lambda model: model.__tablename__)
def test_refresh_affected_over_every_table_gives_the_rows_of_refresh_all(dataset, model):
    with unit_of_work(dataset) as s:
        summaries.refresh_affected(s, {"orders", "order_lines", "customers", "shipments", "payments", "tickets",
                                       "returns"}, D1, D2)
        assert rows(s, model) == _expected(model, *CASES[model])


def test_refresh_affected_refuses_an_unknown_table(dataset):
    with unit_of_work(dataset) as s, pytest.raises(ValueError, match="order"):
        summaries.refresh_affected(s, {"order"}, D1, D1)  # a typo must not silently refresh nothing


def test_a_late_shipment_refreshes_the_day_of_its_order(dataset):
    """The shipment's day is Mar 10, but daily_sales files its cost under the order's day, Mar 3."""
    with unit_of_work(dataset) as s:
        summaries.refresh_all(s)
        f.shipment(s, 4, _day(10), None, 5, "7", status="in_transit")
        summaries.refresh_affected(s, {"shipments"}, _day(10), _day(10))
        shipping = dict(s.execute(select(DailySales.day, DailySales.shipping_cost_usd)).all())
    assert shipping == {D1: 14, D2: 5 + 7}


@pytest.mark.parametrize(("summary", "touched", "expected"), [
    ("daily_sales", {"orders"}, (D1, D2)),  # filed by order day: the touched days themselves
    ("daily_sales", {"shipments"}, (None, D2)),  # a shipment's order came on or before it
    ("daily_sales", {"orders", "order_lines", "customers"}, (D1, D2)),  # lines are dated by their order
    ("monthly_cohorts", {"orders", "customers"}, (D1, D2)),  # and rebuilds from D1's month on itself
    ("daily_returns", {"orders", "order_lines"}, (D1, None)),  # a return comes on or after its order
    ("daily_delivery", {"shipments"}, (D1, D2)),
    ("daily_delivery", {"orders"}, (D1, None)),  # an order's shipments come on or after it
    ("daily_delivery", {"orders", "shipments"}, (D1, None)),
    ("daily_tickets", {"tickets"}, (D1, D2)),
])
def test_affected_range(summary, touched, expected):
    assert summaries.affected_range(summaries.REFRESHERS[summary], touched, D1, D2) == expected


def test_an_order_with_two_lines_and_two_shipments_counts_each_once(engine):
    with unit_of_work(engine) as s:
        f.reference_rows(s)
        f.order(s, 1, D1, "US", 1, "100", "80", "30")
        s.flush()
        s.add(OrderLine(order_id=1, product_id=1, quantity=3, unit_price=Decimal("10"), line_total=Decimal("30"),
                          revenue_usd=Decimal("20"), cogs_usd=Decimal("9")))
        f.shipment(s, 1, D2, None, 5, "8", status="in_transit")
        f.shipment(s, 1, D2, None, 5, "2", status="in_transit")
        s.flush()
        summaries.refresh_daily_sales(s)
        # orders, units, new_customers, gmv, net_revenue, cogs, shipping
        assert [r[3:10] for r in rows(s, DailySales)] == [(1, 4, 0, 100, 100, 39, 10)]


def test_a_refresh_with_no_rows_leaves_the_summaries_empty(engine):
    with unit_of_work(engine) as s:
        s.add(Market(code="US", name="United States", region="NA", currency="USD", vat_rate=0.0, language="en",
                     low_value_rule=""))
        counts = summaries.refresh_all(s)
        assert not _non_empty(s)
    assert set(counts.values()) == {0}


def test_every_response_time_lands_in_its_own_bucket(engine):
    """A quarter hour past each bucket's lower edge, plus a reply logged before the ticket (clock skew)."""
    from core.summaries.tickets import BUCKET_EDGES

    with unit_of_work(engine) as s:
        f.reference_rows(s)
        for i, edge in enumerate(BUCKET_EDGES):
            f.ticket(s, f"T{i}", D1, "US", None, edge + 0.25)
        f.ticket(s, "early", D1, "US", None, -1)
        s.flush()
        summaries.refresh_daily_ticket_times(s)
        buckets = s.execute(select(DailyTicketTimes.bucket_hours, DailyTicketTimes.tickets)
                            .order_by(DailyTicketTimes.bucket_hours)).all()
    assert [tuple(b) for b in buckets] == [(0, 2)] + [(edge, 1) for edge in BUCKET_EDGES[1:]]


@pytest.mark.parametrize(("touched", "refreshed"), [
    ({"tickets"}, {"daily_tickets", "daily_ticket_stats", "daily_ticket_times"}),
    (None, {model.__tablename__ for model in CASES}),  # a caller that does not say what it touched: everything
])
def test_an_import_refreshes_what_it_touched(dataset, touched, refreshed):
    from core.imports.importers import _refresh

    with unit_of_work(dataset) as s:
        # as imports pass them: the touched rows' dates (before and after an update), some unknown
        assert _refresh(s, [dt.datetime(2026, 3, 2, 8), None, D2], touched) == (D1, D2)
        assert _non_empty(s) == refreshed


@pytest.mark.parametrize("hours", [2, 24, 26, 48, 720])
def test_a_reply_after_exactly_a_bucket_edge_falls_in_that_bucket(engine, hours):
    with unit_of_work(engine) as s:
        f.reference_rows(s)
        f.ticket(s, "T", D1, "US", None, hours)
        s.flush()
        summaries.refresh_daily_ticket_times(s)
        assert s.scalars(select(DailyTicketTimes.bucket_hours)).all() == [hours]


# --- the registry and the package's place in the layers ---------------------------------------------------------


def test_register_refuses_a_misspelt_table():
    with pytest.raises(ValueError, match="order_line"):
        registry.register("daily_sales_v2", "orders", "order_line")  # a typo would never trigger a refresh


def test_register_refuses_a_second_refresher_for_a_table():
    with pytest.raises(ValueError, match="daily_sales"):
        registry.register("daily_sales", "orders")(summaries.refresh_daily_sales)


SUMMARIES_MAY_IMPORT = ("core.platform", "core.summaries", "core.thresholds")  # thresholds imports nothing of ours


def _project_imports(source: str) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules |= {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}
    return {m for m in modules if m.split(".")[0] in ("core", "ui", "pages", "data")}


def _upward(name: str) -> bool:
    return name != "core" and not any(name == allowed or name.startswith(f"{allowed}.")
                                      for allowed in SUMMARIES_MAY_IMPORT)


def test_the_summaries_import_only_the_platform():
    """Domain modules read the summaries; the summaries never import a page's domain module back."""
    package = Path(summaries.__file__).parent
    upward = {f"{path.stem}: {name}" for path in sorted(package.glob("*.py"))
              for name in _project_imports(path.read_text(encoding="utf-8")) if _upward(name)}
    assert upward == set()
