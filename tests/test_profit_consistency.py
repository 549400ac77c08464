"""One definition of margin everywhere (issue 16): every page that shows a margin or a profit takes it from the
ledger (core.profit), so the same SKU, market and period show the same contribution wherever they appear.

The first tests read the sources: nothing in core/ but the ledger computes a margin from product cost. The rest
open the pages with AppTest on the seeded database (SQLite, and PostgreSQL under ./bin/test) and compare them
with core.profit's own calls."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import overview, product_selection, profit, what_if
from core.platform.db import unit_of_work
from core.platform.filters import Filters
from core.platform.models import DailySales
from tests.apptest_support import app_as, open_page
from tests.conftest import SEED_END

ROOT = Path(__file__).resolve().parent.parent
# The ledger (its reads, its writers), the summaries and imports that store cost columns, and the models.
ALLOWED = ("core/profit.py", "core/summaries/", "core/imports/", "core/platform/models.py")


def _domain_sources() -> dict[str, str]:
    found = {}
    for path in sorted((ROOT / "core").rglob("*.py")):
        name = path.relative_to(ROOT).as_posix()
        if not name.startswith(ALLOWED):
            found[name] = path.read_text(encoding="utf-8")
    return found


def cogs_reads(sources: dict[str, str]) -> list[str]:
    """file:line of every `cogs_usd` a module reads (the order-line product cost the ledger replaced)."""
    return [f"{name}:{number}" for name, text in sources.items()
            for number, line in enumerate(text.splitlines(), 1) if re.search(r"\bcogs_usd\b", line)]


def revenue_minus_cost(sources: dict[str, str]) -> list[str]:
    """file:line of every subtraction of a product or shipping cost from a revenue: a margin of its own."""
    found = []
    for name, text in sources.items():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
                left = ast.get_source_segment(text, node.left) or ""
                right = ast.get_source_segment(text, node.right) or ""
                if "revenue" in left and re.search(r"cogs|product_cost|shipping_cost", right):
                    found.append(f"{name}:{node.lineno}")
    return found


def test_the_scans_find_a_margin_of_its_own():
    """The scans can fail: the Overview's and market research's old arithmetic is caught."""
    old = {
        "core/overview.py": "def gross_margin(net_revenue, cogs):\n    return (float(net_revenue) - float(cogs)) / 1\n",
        "core/market.py": "x = DailySales.cogs_usd\n"
                          "m = (d['net_revenue_usd'] - d['cogs_usd'] - d['shipping_usd']) / d['net_revenue_usd']\n",
    }
    assert cogs_reads(old) == ["core/market.py:1", "core/market.py:2"]
    assert sorted(revenue_minus_cost(old)) == ["core/market.py:2", "core/overview.py:2"]
    assert revenue_minus_cost({"core/x.py": "c = net_price - marketplace_fee - product_cost\n"}) == []


def test_no_domain_module_reads_cogs_or_computes_a_margin_of_its_own():
    sources = _domain_sources()
    assert "core/overview.py" in sources and "core/market.py" in sources
    found = cogs_reads(sources)
    assert found == []
    assert revenue_minus_cost(sources) == []


# --- the seeded database ---------------------------------------------------------------------------------------

# The what-if starts from the BASELINE_MONTHS full months before today's month; product selection takes whole
# months; so one whole-month period serves all three.
TODAY = SEED_END
FIRST = what_if._months_back(TODAY.replace(day=1), what_if.BASELINE_MONTHS)
LAST = TODAY.replace(day=1) - dt.timedelta(days=1)
MARKET = "DE"


@pytest.fixture
def _app_env(seeded_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)


@pytest.fixture
def best_seller(seeded_engine) -> int:
    """The SKU with the most units in MARKET over the period (a real row on every page)."""
    with unit_of_work(seeded_engine) as s:
        rows = profit.table(s, Filters(FIRST, LAST, (MARKET,)), "sku_market")
    rows = rows[rows["product_id"] != profit.NO_PRODUCT].sort_values(["units", "product_id"], ascending=False)
    assert not rows.empty and rows["units"].iloc[0] >= 5
    return int(rows["product_id"].iloc[0])


def test_one_sku_market_period_has_one_contribution(seeded_engine, best_seller):
    """Profit (its table), Product selection (its SKU row) and the what-if's start values agree."""
    filters = Filters(FIRST, LAST, (MARKET,))
    with unit_of_work(seeded_engine) as s:
        on_profit = profit.table(s, filters, "sku_market").set_index("product_id").loc[best_seller]
        per_unit = profit.per_unit(s, filters, best_seller, MARKET)
        selection = product_selection.scored_products(s, filters).set_index("product_id").loc[best_seller]
        base = what_if.baseline(s, MARKET, TODAY).set_index("product_id").loc[[best_seller]].reset_index()
    start = what_if.simulate(base, what_if.Levers(), {}).iloc[0]
    assert selection["contribution"] == pytest.approx(on_profit["contribution"], abs=0.005)
    assert selection["margin_pct"] == pytest.approx(on_profit["margin"], rel=1e-9)
    assert not selection["margin_estimated"]
    # the what-if shows monthly figures: the period's contribution over its months
    assert start["base_profit"] * what_if.BASELINE_MONTHS == pytest.approx(on_profit["contribution"], rel=0.01)
    assert start["base_units"] * what_if.BASELINE_MONTHS == pytest.approx(on_profit["units"], rel=1e-9)
    # every per-unit start value reconciles with the ledger's actuals within 1 %
    fees = per_unit["marketplace_fees"]
    pairs = {
        "net price": (start["base_net_price"], per_unit["net_revenue"]),
        "product cost": (start["base_product_cost"], per_unit["product_cost"]),
        "shipping and fees": (start["base_freight"] + start["base_marketplace_fee"], per_unit["shipping"] + fees),
        "payment fee": (start["base_payment_fee"], per_unit["payment_fees"]),
        "FX cost": (start["base_fx_cost"], per_unit["fx_cost"]),
        "duty": (start["base_duty"], per_unit["duty"]),
        "advertising": (start["base_ads"], per_unit["advertising"] + per_unit["unattributed_ads"]),
        "returns and other": (start["base_returns"] + start["base_other_costs"],
                              sum(per_unit[k] for k in ("refunds", "return_shipping", "write_off", "chargebacks",
                                                        "dispute_fees", "storage"))),
        "shipping charged": (start["base_shipping_income"], per_unit["shipping_income"]),
        "contribution": (start["base_contribution"], per_unit["contribution"]),
    }
    for name, (got, expected) in pairs.items():
        assert got == pytest.approx(expected, rel=0.01, abs=0.005), name


def test_the_what_if_page_starts_from_the_ledger(_app_env, seeded_engine, best_seller):
    """The SKU simulator's card shows the ledger's monthly contribution for the SKU in the market."""
    with unit_of_work(seeded_engine) as s:
        ledger = profit.per_unit(s, Filters(FIRST, LAST, (MARKET,)), best_seller, MARKET)
    at = open_page(app_as("manager"), "what-if")
    at.selectbox(key="wi_market").select(MARKET).run()
    at.selectbox(key="wi_sku").select(best_seller).run()
    assert not at.exception, [e.value for e in at.exception]
    card = next(m for m in at.metric if m.label == "Contribution per month")
    monthly = ledger["contribution"] * ledger["units"] / what_if.BASELINE_MONTHS
    assert card.value == _money(monthly)


def test_the_product_selection_page_shows_the_ledgers_contribution(_app_env, seeded_engine, best_seller):
    """With the sidebar on the market and the period, the ranking table's row for the SKU carries the Profit
    table's contribution and margin."""
    with unit_of_work(seeded_engine) as s:
        on_profit = profit.table(s, Filters(FIRST, LAST, (MARKET,)), "sku_market").set_index("product_id")
    at = app_as("viewer")
    at.multiselect(key="markets").select(MARKET)
    at.date_input(key="period").set_value((FIRST, LAST))
    at.run()
    at = open_page(at, "product-selection")
    assert not at.exception, [e.value for e in at.exception]
    from core.platform import formatting

    # the page read the filters: its caption names the whole months and the market it estimates in
    caption = next(c.value for c in at.caption if "profit ledger" in c.value)
    assert formatting.date(FIRST, "en") in caption and formatting.date(LAST, "en") in caption
    assert f"in {MARKET}," in caption
    ranking = at.dataframe[0].value.set_index("sku")
    row = ranking.loc[on_profit.loc[best_seller, "sku"]]
    assert row["contribution"] == pytest.approx(on_profit.loc[best_seller, "contribution"], abs=0.005)
    assert row["margin_pct"] == pytest.approx(on_profit.loc[best_seller, "margin"], rel=1e-9)
    assert not row["margin_estimated"]


def _money(value: float) -> str:
    from core.platform import formatting

    return formatting.money(value, "USD", "en", compact=True)


def test_the_overview_shows_the_ledgers_contribution(_app_env, seeded_engine):
    """Overview's contribution card equals core.profit.totals for the same (default) filters."""
    at = app_as("viewer")
    assert not at.exception, [e.value for e in at.exception]
    from core.platform.filters import default_range

    filters = Filters(*default_range(TODAY))
    with unit_of_work(seeded_engine) as s:
        total = profit.totals(s, filters)
        kpis = overview.kpis(s, filters)
    assert kpis.contribution == pytest.approx(total["contribution"], abs=1e-6)
    assert kpis.net_revenue == pytest.approx(total["net_revenue"], abs=1e-6)
    assert kpis.contribution_margin == pytest.approx(profit.margin(total["contribution"], total["net_revenue"]))
    shown = {m.label: m.value for m in at.metric}
    assert shown["Contribution profit"] == _money(total["contribution"])
    assert shown["Net revenue"] == _money(total["net_revenue"])


@pytest.mark.parametrize("markets", [(), ("DE",), ("US", "JP")])
def test_ledger_net_revenue_is_the_sum_of_daily_sales(seeded_engine, markets):
    filters = Filters(SEED_END - dt.timedelta(days=364), SEED_END, markets)
    with unit_of_work(seeded_engine) as s:
        stmt = select(func.sum(DailySales.net_revenue_usd)).where(
            DailySales.day >= filters.start, DailySales.day <= filters.end)
        if markets:
            stmt = stmt.where(DailySales.market_code.in_(markets))
        expected = float(s.scalar(stmt))
        assert profit.totals(s, filters)["net_revenue"] == pytest.approx(expected, abs=0.01)


def test_market_attractiveness_takes_the_ledgers_margin(seeded_engine):
    from core import market

    filters = Filters(SEED_END - dt.timedelta(days=89), SEED_END)
    with unit_of_work(seeded_engine) as s:
        components = market.attractiveness_components(s, filters).set_index("market")
        ledger = profit.table(s, filters, "market").set_index("market_code")
        logistics = profit.lines(s, filters, "market", ("net_revenue", "shipping", "fulfilment_fees"))
    logistics = logistics.set_index("market_code")
    for code, row in components.iterrows():
        assert row["margin"] == pytest.approx(ledger.loc[code, "margin"], rel=1e-9)
        share = (logistics.loc[code, "shipping"] + logistics.loc[code, "fulfilment_fees"]) \
            / logistics.loc[code, "net_revenue"]
        assert row["logistics_share"] == pytest.approx(share, rel=1e-9)
