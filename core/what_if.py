"""What-if simulator: re-price a SKU (or every SKU of a market) and see margin and monthly profit move.

All per-unit money goes through `core.unit_economics.unit_economics` (the one margin formula) and
`break_even_price`; this module only decides the inputs. Amounts are USD unless a name says `_local`.

Baseline, per SKU x market, from `baseline()` (cached by the page per market and day), over the period
`baseline_period(today)`: the `BASELINE_MONTHS` full months before today's month.

A SKU that sold in the market then starts from the profit ledger's actuals per unit sold (core.profit,
`per_unit_by_sku`: the one definition of margin and profit), fed into `unit_economics` so that with no lever
moved its contribution per unit is the ledger's (tests/test_profit_consistency.py holds them within 1 %):
- units        = the ledger's units sold / BASELINE_MONTHS (per month).
- price_local  = net revenue per unit x (1 + VAT rate), at today's rate: what the customer paid after discounts.
- marketplace fee rate = referral fees per unit / that price (FBA fulfilment counts as freight);
  payment fee rate = payment fees per unit / price; fx cost rate = FX cost per unit / price (negative: a gain);
  ad rate = attributed + unattributed advertising per unit / price.
- product cost, duty = the ledger's per unit; freight = outbound shipping + FBA fulfilment per unit.
- return rate  = returned units / units sold; a return costs (refunds + return shipping + write-off) / returned
  units; refunds with no return on record (lost parcels, goodwill) count in other costs.
- other costs  = chargebacks, dispute fees and storage per unit; shipping income = shipping charged per unit.
A SKU with no sales there (`estimated`) has no actuals and starts from estimates, as the page says:
- price_local  = list price x (1 + VAT); marketplace fee = the mean over channels of the dated fee schedule for
  its category (core.profit.referral_fee_rates, as of today); payment fee = the market's gateway fees /
  captured amount over the last 90 days (marketplace payments carry the referral fee, so they are left out);
  fx cost rate = `FX_COST_RATE` outside the US; product cost = factory price (CNY) at today's CNY rate; freight
  and duty = the cheapest route of the landed-cost engine; a return costs product cost + freight.
- VAT rate     = the market's rate where prices include VAT; 0 in TAX_EXCLUSIVE_MARKETS (tax added on top).

Levers (`Levers`) move those inputs:
    new local price   = price_local x (1 + price_change)
    price paid        = new local price x (1 - discount)                   (what the customer pays)
    price_gross (USD) = price paid x usd_per_local x (1 + fx_change)      (fx_change +0.05 = the local
                                                                            currency 5 % stronger)
    marketplace fee   = baseline rate + marketplace_fee_delta;  payment fee = baseline + payment_fee_delta
    freight           = route freight x (1 + freight_change)              (carrier rate change)
    duty              = duty_rate x (product cost + freight) when duty_rate is set (the unit's CIF value),
                        else the route's duty
    ads               = (baseline ad rate + ad_rate_delta) x price_gross
    return rate       = baseline + return_rate_delta (clipped to 0..1)

Demand (constant elasticity), on the price the customer sees in local currency:
    units = base_units x (price paid / base price) ^ elasticity
Monthly figures: net revenue = units x net price; contribution = units x contribution per unit.

Elasticity estimate (`estimate_elasticities`): per category, a log-log least-squares fit of monthly units on the
average price paid, over (SKU, market, month) cells of monthly_sku_sales with at least `MIN_CELL_UNITS` units,
with fixed effects: log units and log price are demeaned within each SKU x market (its level: popularity,
market fit) and within each category month (season), alternating until stable, then
elasticity = sum(w x dp x du) / sum(w x dp^2), weights w = units. The seeded price moves are persistent list
price steps, so the within-SKU price variation identifies the slope. Thin data falls back to the category's
default (`categories.price_elasticity`): fewer than `MIN_OBSERVATIONS` cells, price variation below
`MIN_PRICE_SPREAD` (standard deviation of demeaned log price), or an estimate outside `ELASTICITY_RANGE`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections import namedtuple
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from sqlalchemy import String, case, delete, func, select, type_coerce
from sqlalchemy.orm import Session

from core import profit
from core.platform.filters import Filters
from core.platform.models import (
    AuditEvent,
    Category,
    DailyPayments,
    FxRate,
    Market,
    MonthlySkuSales,
    Product,
    Scenario,
)
from core.platform.reference import TAX_EXCLUSIVE_MARKETS
from core.platform.users import PermissionDenied, authorize
from core.unit_economics import break_even_price, unit_economics

BASELINE_MONTHS = 3
PAYMENT_FEE_WINDOW_DAYS = 90
FX_COST_RATE = 0.01  # as core.product_selection: the conversion spread on a non-USD payout
MIN_CELL_UNITS = 3
MIN_OBSERVATIONS = 30
MIN_PRICE_SPREAD = 0.02
ELASTICITY_RANGE = (-6.0, -0.05)
FE_ITERATIONS = 8
SWEEP_RANGE = (0.5, 2.0)
SWEEP_POINTS = 61
MAX_COMPARE = 3
SCENARIO_ROLE = "manager"

BASELINE_COLUMNS = [
    "product_id", "sku", "name", "category_id", "market_code", "currency", "usd_per_local", "vat_rate",
    "units", "price_local", "marketplace_fee_rate", "payment_fee_rate", "fx_cost_rate", "product_cost",
    "freight", "duty", "return_rate", "service", "ad_rate", "return_cost", "shipping_income", "other_costs",
    "estimated",
]


class ScenarioError(ValueError):
    """A scenario cannot be saved or compared as asked (empty name, too many to compare)."""


# --- pure formulas ------------------------------------------------------------------------------------------------


def projected_units(base_units: float, base_price: float, new_price: float, elasticity: float) -> float:
    """Constant-elasticity demand: base_units x (new_price / base_price) ^ elasticity (0 when a price is 0)."""
    if base_price <= 0 or new_price <= 0:
        return 0.0
    return float(base_units) * (float(new_price) / float(base_price)) ** float(elasticity)


@dataclass(frozen=True)
class Levers:
    """What the manager changes; every default leaves the baseline as it is (see the module docstring)."""

    price_change: float = 0.0
    discount: float = 0.0
    fx_change: float = 0.0
    marketplace_fee_delta: float = 0.0
    payment_fee_delta: float = 0.0
    freight_change: float = 0.0
    service: str | None = None  # a route of `routes` (single SKU); None = the baseline's cheapest route
    duty_rate: float | None = None
    ad_rate_delta: float = 0.0
    return_rate_delta: float = 0.0
    elasticity: float | None = None  # None = the category estimate

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> Levers:
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def _economics(row, *, price_local: float, levers: Levers, scenario: bool):
    """unit_economics for one baseline row at a local shelf price (levers applied when `scenario`)."""
    lv = levers if scenario else Levers()
    paid_local = price_local * (1 - lv.discount)
    price_gross = max(paid_local * row.usd_per_local * (1 + lv.fx_change), 0.0)
    freight = row.freight * (1 + lv.freight_change)
    duty = row.duty if lv.duty_rate is None else lv.duty_rate * (row.product_cost + freight)
    return_rate = min(max(row.return_rate + lv.return_rate_delta, 0.0), 1.0)
    # an estimate's return loses the unit and its freight; an actual one what the ledger's returns cost
    return_cost = row.product_cost + freight if _missing(row.return_cost) else row.return_cost
    inputs = dict(
        vat_rate=row.vat_rate, marketplace_fee_rate=max(row.marketplace_fee_rate + lv.marketplace_fee_delta, 0.0),
        payment_fee_rate=max(row.payment_fee_rate + lv.payment_fee_delta, 0.0), payment_fee_fixed=0.0,
        fx_cost_rate=row.fx_cost_rate, product_cost=row.product_cost, freight=freight, duty=duty,
        ad_rate=max(_zero(row.ad_rate) + lv.ad_rate_delta, 0.0), return_rate=return_rate, return_cost=return_cost,
        shipping_income=_zero(row.shipping_income), other_costs=_zero(row.other_costs),
    )
    economics = unit_economics(price_gross=price_gross, **inputs)
    break_even_usd = break_even_price(**inputs)
    usd_per_paid_local = row.usd_per_local * (1 + lv.fx_change) * (1 - lv.discount)
    break_even_local = break_even_usd / usd_per_paid_local if usd_per_paid_local > 0 else math.inf
    return economics, paid_local, break_even_local


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _zero(value) -> float:
    """A line an estimate does not have (NaN in a hand-made row) counts 0."""
    return 0.0 if _missing(value) else float(value)


def with_route(rows: pd.DataFrame, routes: pd.DataFrame, service: str | None) -> pd.DataFrame:
    """The baseline rows with freight and duty of the route whose service is `service` (None, or the rows' own
    service: unchanged, so a SKU that sold keeps its actual freight until another route is picked)."""
    if service is None or routes is None or routes.empty or (rows["service"] == service).all():
        return rows
    chosen = routes[routes["service"] == service]
    if chosen.empty:
        return rows
    first = chosen.iloc[0]
    return rows.assign(freight=float(first["freight_per_unit"]), duty=float(first["duty_per_unit"]),
                       service=service)


STEP_KEYS = ["price_gross", "vat", "shipping_income", "marketplace_fee", "payment_fee", "fx_cost", "product_cost",
             "freight", "duty", "ads", "returns", "other_costs", "net_price", "contribution"]


BASE_COLUMNS = [f"base_{key}" for key in STEP_KEYS] + ["base_paid"]


def with_base_economics(rows: pd.DataFrame) -> pd.DataFrame:
    """The baseline rows with their baseline per-unit economics (`base_*`, `base_paid`) computed once, so that
    `simulate` on a large portfolio prices only the scenario side on each lever move."""
    columns = {name: [] for name in BASE_COLUMNS}
    for row in _plain_rows(rows):
        base, base_paid, _ = _economics(row, price_local=row.price_local, levers=Levers(), scenario=False)
        for key in STEP_KEYS:
            columns[f"base_{key}"].append(getattr(base, key))
        columns["base_paid"].append(base_paid)
    extra = pd.DataFrame({k: np.asarray(v, dtype=float) for k, v in columns.items()}, index=rows.index)
    return pd.concat([rows.drop(columns=[c for c in BASE_COLUMNS if c in rows.columns]), extra], axis=1)


_NUMERIC = ["category_id", "usd_per_local", "vat_rate", "units", "price_local", "marketplace_fee_rate",
            "payment_fee_rate", "fx_cost_rate", "product_cost", "freight", "duty", "return_rate", "ad_rate",
            "return_cost", "shipping_income", "other_costs"]
_Row = namedtuple("_Row", _NUMERIC)


def _plain_rows(frame: pd.DataFrame) -> list:
    """The numeric columns as plain Python tuples: the per-row loop then costs microseconds, not pandas calls."""
    return [_Row(*values) for values in zip(*(frame[c].to_numpy().tolist() for c in _NUMERIC))]


def simulate(rows: pd.DataFrame, levers: Levers, elasticities: dict[int, float],
             scenario_rows: pd.DataFrame | None = None) -> pd.DataFrame:
    """Baseline and scenario per row: per-unit economics (`base_*`, `new_*`), monthly units, net revenue and
    contribution (`base_units`, `units`, `base_revenue`, `revenue`, `base_profit`, `profit`), `profit_delta`,
    the elasticity used and the break-even local shelf price under the scenario. `scenario_rows` (same rows,
    e.g. `with_route` applied) replace `rows` on the scenario side only.

    Each row's per-unit figures come from `unit_economics` (one call for the baseline, one for the scenario);
    the monthly projections are vectorised over the rows."""
    base_side = _plain_rows(rows)
    scenario_side = base_side if scenario_rows is None else _plain_rows(scenario_rows)
    precomputed = BASE_COLUMNS[0] in rows.columns  # with_base_economics already ran (cached by the page)
    sides = ("new",) if precomputed else ("base", "new")
    columns = {f"{side}_{key}": [] for side in sides for key in STEP_KEYS}
    columns.update(elasticity=[], new_paid=[], break_even_local=[], **({} if precomputed else {"base_paid": []}))
    for row, moved in zip(base_side, scenario_side):
        columns["elasticity"].append(levers.elasticity if levers.elasticity is not None
                                     else elasticities.get(row.category_id, -1.0))
        if not precomputed:
            base, base_paid, _ = _economics(row, price_local=row.price_local, levers=levers, scenario=False)
            for key in STEP_KEYS:
                columns[f"base_{key}"].append(getattr(base, key))
            columns["base_paid"].append(base_paid)
        new, new_paid, break_even_local = _economics(moved, price_local=row.price_local * (1 + levers.price_change),
                                                     levers=levers, scenario=True)
        for key in STEP_KEYS:
            columns[f"new_{key}"].append(getattr(new, key))
        columns["new_paid"].append(new_paid)
        columns["break_even_local"].append(break_even_local)
    if not base_side:
        return pd.DataFrame()
    # one DataFrame built at the end: inserting columns one by one costs milliseconds each in pandas 3
    out = {c: rows[c].array for c in ("product_id", "sku", "name", "market_code", "currency")}
    if precomputed:
        out.update({name: rows[name].to_numpy(float) for name in BASE_COLUMNS})
    out.update({name: np.asarray(values, dtype=float) for name, values in columns.items()})
    out["base_price_local"] = rows["price_local"].to_numpy(float)
    out["price_local"] = out["base_price_local"] * (1 + levers.price_change)
    out["base_units"] = rows["units"].to_numpy(float)
    # constant elasticity, as projected_units: base units x (price paid / base price paid) ^ elasticity
    valid = (out["base_paid"] > 0) & (out["new_paid"] > 0)
    ratio = np.where(valid, out["new_paid"] / np.where(valid, out["base_paid"], 1.0), 1.0)
    out["units"] = np.where(valid, out["base_units"] * np.power(ratio, out["elasticity"]), 0.0)
    out["base_revenue"] = out["base_units"] * out["base_net_price"]
    out["revenue"] = out["units"] * out["new_net_price"]
    out["base_profit"] = out["base_units"] * out["base_contribution"]
    out["profit"] = out["units"] * out["new_contribution"]
    out["profit_delta"] = out["profit"] - out["base_profit"]
    return pd.DataFrame(out, copy=False)


@dataclass(frozen=True)
class Outcome:
    """Monthly totals of a simulation, baseline and scenario (USD)."""

    base_units: float
    units: float
    base_revenue: float
    revenue: float
    base_profit: float
    profit: float
    base_margin: float | None
    margin: float | None
    break_even_local: float | None  # one SKU only

    @property
    def profit_delta(self) -> float:
        return self.profit - self.base_profit

    def as_dict(self) -> dict:
        values = asdict(self)
        return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in values.items()}


def _margin(profit: float, revenue: float) -> float | None:
    return profit / revenue if revenue else None


def outcome(result: pd.DataFrame) -> Outcome:
    """Totals of `simulate`: units, net revenue, contribution; margin % = contribution / net revenue.
    With no units sold (a SKU not sold yet) the margin is the per-unit one."""
    if result.empty:
        return Outcome(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, None, None, None)
    sums = result[["base_units", "units", "base_revenue", "revenue", "base_profit", "profit"]].sum()
    base_margin = _margin(sums["base_profit"], sums["base_revenue"])
    margin = _margin(sums["profit"], sums["revenue"])
    if len(result) == 1:
        first = result.iloc[0]
        if base_margin is None:
            base_margin = _margin(first["base_contribution"], first["base_net_price"])
        if margin is None:
            margin = _margin(first["new_contribution"], first["new_net_price"])
    break_even = float(result["break_even_local"].iloc[0]) if len(result) == 1 else None
    return Outcome(float(sums["base_units"]), float(sums["units"]), float(sums["base_revenue"]),
                   float(sums["revenue"]), float(sums["base_profit"]), float(sums["profit"]), base_margin, margin,
                   break_even)


WATERFALL_LABELS = {"price_gross": "Price (incl. VAT)", "vat": "VAT", "shipping_income": "Shipping charged",
                    "marketplace_fee": "Marketplace fee", "payment_fee": "Payment fee", "fx_cost": "FX cost",
                    "product_cost": "Product cost", "freight": "Freight", "duty": "Duty", "ads": "Advertising",
                    "returns": "Returns", "other_costs": "Storage, chargebacks and other",
                    "contribution": "Contribution"}
INCOME_STEPS = ("price_gross", "shipping_income")


def waterfall(result: pd.DataFrame, scenario: bool = True) -> pd.DataFrame:
    """Per-unit waterfall (price, then each cost negative, then the contribution), averaged over the rows
    weighted by their monthly units (equal weights when nothing sells). Columns: key, step (English label,
    translated by the page), amount, start, end (running total for the floating bars)."""
    prefix = "new_" if scenario else "base_"
    weights = result["units" if scenario else "base_units"].to_numpy(float)
    if weights.sum() <= 0:
        weights = np.ones(len(result))
    weights = weights / weights.sum()
    rows, running = [], 0.0
    for key, label in WATERFALL_LABELS.items():
        value = float((result[prefix + key].to_numpy(float) * weights).sum())
        if key == "contribution":
            rows.append({"key": key, "step": label, "amount": value, "start": 0.0, "end": value})
            continue
        amount = value if key in INCOME_STEPS else -value
        rows.append({"key": key, "step": label, "amount": amount, "start": running, "end": running + amount})
        running += amount
    return pd.DataFrame(rows, columns=["key", "step", "amount", "start", "end"])


def price_sweep(row: pd.DataFrame, levers: Levers, elasticities: dict[int, float],
                multipliers: np.ndarray | None = None) -> pd.DataFrame:
    """Monthly contribution of one baseline row at shelf prices from SWEEP_RANGE x its baseline price (the
    other levers held): columns price_local, units, profit, margin. The profit-maximising row has `optimum`."""
    if multipliers is None:
        multipliers = np.linspace(*SWEEP_RANGE, SWEEP_POINTS)
    first = _plain_rows(row)[0]
    elasticity = levers.elasticity if levers.elasticity is not None else elasticities.get(first.category_id, -1.0)
    _, base_paid, _ = _economics(first, price_local=first.price_local, levers=levers, scenario=False)
    points = []
    for m in multipliers:
        price = first.price_local * float(m)
        economics, paid, _ = _economics(first, price_local=price, levers=levers, scenario=True)
        units = projected_units(first.units, base_paid, paid, elasticity)
        points.append({"price_local": price, "units": units, "profit": units * economics.contribution,
                       "margin": economics.margin_pct})
    sweep = pd.DataFrame(points, columns=["price_local", "units", "profit", "margin"])
    sweep["optimum"] = False
    if not sweep.empty:
        sweep.loc[sweep["profit"].idxmax(), "optimum"] = True
    return sweep


def optimum(sweep: pd.DataFrame) -> tuple[float, float, bool] | None:
    """(price, monthly profit, at_edge) of the sweep's profit-maximising point; at_edge is True when it is the
    highest or lowest price swept (with inelastic demand, |elasticity| <= 1, profit keeps rising with price
    under constant elasticity, so the optimum is only a direction)."""
    best = sweep[sweep["optimum"]]
    if best.empty:
        return None
    position = sweep.index.get_loc(best.index[0])
    return float(best["price_local"].iloc[0]), float(best["profit"].iloc[0]), position in (0, len(sweep) - 1)


def movers(result: pd.DataFrame, n: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(winners, losers): the `n` rows with the largest profit gain and the `n` with the largest loss."""
    columns = ["sku", "name", "market_code", "base_profit", "profit", "profit_delta", "base_units", "units"]
    if result.empty:
        empty = pd.DataFrame(columns=columns)
        return empty, empty
    ordered = result.sort_values("profit_delta")
    winners = ordered[ordered["profit_delta"] > 0].tail(n).iloc[::-1][columns].reset_index(drop=True)
    losers = ordered[ordered["profit_delta"] < 0].head(n)[columns].reset_index(drop=True)
    return winners, losers


def estimate_elasticities(history: pd.DataFrame, defaults: dict[int, float]) -> pd.DataFrame:
    """Per category: the fixed-effects log-log slope of units on price (see the module docstring).

    `history` columns: category_id, product_id, market_code, month, units, price. Returns category_id,
    elasticity, estimate (None when thin), observations, source ('estimated' or 'default')."""
    cells = history
    if not history.empty:
        cells = history[(history["units"] >= MIN_CELL_UNITS) & (history["price"] > 0)
                        & history["category_id"].isin(list(defaults))]
    slopes = _fe_slopes(cells) if len(cells) else {}
    counts = cells["category_id"].value_counts().to_dict() if len(cells) else {}
    out = []
    for category_id, default in sorted(defaults.items()):
        n = int(counts.get(category_id, 0))
        estimate = slopes.get(category_id) if n >= MIN_OBSERVATIONS else None
        usable = estimate is not None and ELASTICITY_RANGE[0] <= estimate <= ELASTICITY_RANGE[1]
        out.append({"category_id": category_id, "elasticity": estimate if usable else float(default),
                    "estimate": estimate, "observations": n, "source": "estimated" if usable else "default"})
    return pd.DataFrame(out, columns=["category_id", "elasticity", "estimate", "observations", "source"])


def _group_codes(*keys: pd.Series) -> np.ndarray:
    """One integer code per distinct combination of the keys (as factorizing a MultiIndex of them, whose tuples
    cost ~60 ms at 50k cells): each key factorized on its own, the codes combined arithmetically."""
    combined = np.zeros(len(keys[0]), dtype=np.int64)
    for key in keys:
        codes, uniques = pd.factorize(key)
        combined = pd.factorize(combined * len(uniques) + codes)[0]  # renumbered: stays below the row count
    return combined


def _fe_slopes(cells: pd.DataFrame) -> dict[int, float | None]:
    """category -> weighted slope of log units on log price after removing the SKU x market and the category
    month means (alternating projections; both fixed effects nest inside a category, so all categories are
    demeaned together and the slope is then taken per category)."""
    category = cells["category_id"].to_numpy()
    group = _group_codes(cells["product_id"], cells["market_code"])
    month = _group_codes(cells["category_id"], cells["month"].astype(str))
    y = np.log(cells["units"].to_numpy(float))
    x = np.log(cells["price"].to_numpy(float))
    w = cells["units"].to_numpy(float)
    for _ in range(FE_ITERATIONS):
        for key in (group, month):
            weight_sum = np.bincount(key, weights=w)
            x = x - (np.bincount(key, weights=w * x) / weight_sum)[key]
            y = y - (np.bincount(key, weights=w * y) / weight_sum)[key]
    slopes: dict[int, float | None] = {}
    for category_id in np.unique(category):
        mask = category == category_id
        xs, ys, ws = x[mask], y[mask], w[mask]
        sxx = float((ws * xs * xs).sum())
        spread = math.sqrt(sxx / float(ws.sum()))
        slopes[int(category_id)] = float((ws * xs * ys).sum()) / sxx if spread >= MIN_PRICE_SPREAD else None
    return slopes


# --- services (read) ------------------------------------------------------------------------------------------------


def _month_floor(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _months_back(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 - n
    return dt.date(index // 12, index % 12 + 1, 1)


def _per_usd(session: Session, currency: str, on: dt.date) -> float:
    if currency == "USD":
        return 1.0
    rate = session.scalar(select(FxRate.per_usd).where(FxRate.currency == currency, FxRate.day <= on)
                          .order_by(FxRate.day.desc()).limit(1))
    if rate is None:
        rate = session.scalar(select(FxRate.per_usd).where(FxRate.currency == currency)
                              .order_by(FxRate.day).limit(1))
    return float(rate or 1.0)


def payment_fee_rate(session: Session, market_code: str, on: dt.date) -> float:
    """Gateway fees / captured amount in the market over the PAYMENT_FEE_WINDOW_DAYS before `on`."""
    start = on - dt.timedelta(days=PAYMENT_FEE_WINDOW_DAYS)
    fees = func.sum(case((DailyPayments.method != "marketplace", DailyPayments.fee_usd), else_=0.0))
    fee, amount = session.execute(select(fees, func.sum(DailyPayments.amount_usd)).where(
        DailyPayments.market_code == market_code, DailyPayments.day > start, DailyPayments.day <= on)).one()
    return float(fee) / float(amount) if fee is not None and amount else 0.0


def baseline_period(on: dt.date) -> tuple[dt.date, dt.date]:
    """The first and last day of the BASELINE_MONTHS full months before `on`'s month."""
    last = _month_floor(on)
    return _months_back(last, BASELINE_MONTHS), last - dt.timedelta(days=1)


def _schedule_mean(session: Session, on: dt.date) -> dict:
    """category id -> the mean over channels of its referral fee on `on` (an unsold SKU's channel mix is unknown)."""
    schedule = profit.referral_fee_rates(session, on)
    rows = schedule[schedule["category_id"].notna()]
    return {int(c): float(r) for c, r in rows.groupby("category_id")["rate"].mean().items()}


def _per_price(amount: pd.Series, price: pd.Series) -> pd.Series:
    return (amount / price.where(price > 0)).fillna(0.0)


def baseline(session: Session, market_code: str, on: dt.date) -> pd.DataFrame:
    """The start values of every active SKU in one market (see the module docstring), one row per SKU:
    BASELINE_COLUMNS. The ledger's actuals per unit for the SKUs that sold in `baseline_period(on)` (one query),
    estimates for the others; the landed-cost engine's cheapest route once per SKU (the scenario's route
    choice; an unsold SKU's freight and duty). The page caches the result per market and day."""
    market = session.get(Market, market_code)
    if market is None:
        return pd.DataFrame(columns=BASELINE_COLUMNS)
    first, last = baseline_period(on)
    actual = profit.per_unit_by_sku(session, Filters(first, last, (market_code,)))
    products = pd.DataFrame(session.execute(
        select(Product.id.label("product_id"), Product.sku, Product.name, Product.category_id,
               Product.unit_cost_cny, Product.list_price_usd).where(Product.status == "active")
        .order_by(Product.sku)
    ).all(), columns=["product_id", "sku", "name", "category_id", "unit_cost_cny", "list_price_usd"])
    table = products.merge(actual, on="product_id", how="left")
    per_usd = _per_usd(session, market.currency, on)
    cny_per_usd = _per_usd(session, "CNY", on)
    vat = 0.0 if market_code in TAX_EXCLUSIVE_MARKETS else float(market.vat_rate)
    units_sold = table["units"].fillna(0).astype(float)  # over the period
    sold = units_sold > 0
    act = table[sold].copy()  # the ledger's per-unit actuals, before the estimates take their column names
    freight, duty, service = [], [], []
    for pid in table["product_id"]:
        best = cheapest_route(session, int(pid), market_code, on)
        freight.append(np.nan if best is None else best["freight_per_unit"])
        duty.append(np.nan if best is None else best["duty_per_unit"])
        service.append("" if best is None else best["service"])
    table["route_freight"], table["route_duty"], table["service"] = freight, duty, service

    # estimates, for every SKU; the SKUs that sold then take the ledger's actuals below
    table["estimated"] = ~sold
    table["units"] = units_sold / BASELINE_MONTHS
    table["price_gross"] = table["list_price_usd"].astype(float) * (1 + vat)
    table["marketplace_fee_rate"] = table["category_id"].map(_schedule_mean(session, on)).fillna(0.0)
    table["payment_fee_rate"] = payment_fee_rate(session, market_code, on)
    table["fx_cost_rate"] = 0.0 if market.currency == "USD" else FX_COST_RATE
    table["product_cost"] = table["unit_cost_cny"].astype(float) / cny_per_usd
    table["freight"], table["duty"] = table["route_freight"], table["route_duty"]
    table["return_rate"], table["return_cost"], table["ad_rate"] = 0.0, np.nan, 0.0
    table["shipping_income"], table["other_costs"] = 0.0, 0.0

    price = act["net_revenue"] * (1 + vat)
    returns = act["refunds"] + act["return_shipping"] + act["write_off"]
    return_rate = (act["returned_units"] / units_sold[sold]).clip(0, 1)
    returned = return_rate > 0
    # a cost charged as a rate of the price needs a price; without one it stays an amount per unit
    no_price = price <= 0
    rated = act["marketplace_fees"] - act["fulfilment_fees"] + act["payment_fees"] + act["fx_cost"] \
        + act["advertising"] + act["unattributed_ads"]
    table.loc[sold, "price_gross"] = price
    table.loc[sold, "marketplace_fee_rate"] = _per_price(act["marketplace_fees"] - act["fulfilment_fees"], price)
    table.loc[sold, "payment_fee_rate"] = _per_price(act["payment_fees"], price)
    table.loc[sold, "fx_cost_rate"] = _per_price(act["fx_cost"], price)
    table.loc[sold, "ad_rate"] = _per_price(act["advertising"] + act["unattributed_ads"], price)
    table.loc[sold, "product_cost"] = act["product_cost"]
    table.loc[sold, "freight"] = act["shipping"] + act["fulfilment_fees"]
    table.loc[sold, "duty"] = act["duty"]
    table.loc[sold, "return_rate"] = return_rate
    table.loc[sold, "return_cost"] = (returns / return_rate.where(returned)).where(returned)
    table.loc[sold, "shipping_income"] = act["shipping_income"]
    table.loc[sold, "other_costs"] = (act["chargebacks"] + act["dispute_fees"] + act["storage"]
                                      + returns.where(~returned, 0.0) + rated.where(no_price, 0.0))

    table["price_local"] = table["price_gross"] * per_usd
    table["market_code"], table["currency"], table["usd_per_local"] = market_code, market.currency, 1.0 / per_usd
    table["vat_rate"] = vat
    table = table[sold | table["freight"].notna()]  # an unsold SKU no route reaches has nothing to start from
    return table[BASELINE_COLUMNS].reset_index(drop=True)


def cheapest_route(session: Session, product_id: int, market_code: str, on: dt.date) -> dict | None:
    """The row of `core.landed_cost.product_route_options` with the lowest cost per unit (None: no route), read
    through the engine's own row builder so a baseline of hundreds of SKUs builds no DataFrame per SKU."""
    from core import landed_cost

    try:
        rows = landed_cost._route_rows(session, **landed_cost._product_inputs(
            session, product_id, market_code, on, landed_cost.DEFAULT_BATCH_UNITS))
    except landed_cost.LandedCostError:
        return None
    return min(rows, key=lambda row: row["cost_per_unit"]) if rows else None


def routes(session: Session, product_id: int, market_code: str, on: dt.date) -> pd.DataFrame:
    """The landed-cost engine's routes for one SKU into the market (cheapest first)."""
    from core.landed_cost import LandedCostError, product_route_options

    try:
        return product_route_options(session, product_id, market_code, on)
    except LandedCostError:
        return pd.DataFrame(columns=["route", "service", "freight_per_unit", "duty_per_unit", "cost_per_unit"])


def elasticity_history(session: Session, on: dt.date) -> pd.DataFrame:
    """(category, SKU, market, month) cells before `on`'s month: units and average price paid (USD), the
    monthly_sku_sales rows with units added up over channels. One GROUP BY in the database, in the order of
    the table's primary key (month, product, market, channel) so that it streams without a sort (a join for
    the category would add one: it is mapped from the products afterwards); only the cells cross into Python,
    through the Core connection (the ORM's row processing cost a third of the time)."""
    result = session.connection().execute(
        select(type_coerce(MonthlySkuSales.month, String).label("month"),  # a group key: skip date parsing
               MonthlySkuSales.product_id, MonthlySkuSales.market_code,
               func.sum(MonthlySkuSales.units), func.sum(MonthlySkuSales.sales_usd))
        .where(MonthlySkuSales.month < _month_floor(on), MonthlySkuSales.units > 0)
        .group_by(MonthlySkuSales.month, MonthlySkuSales.product_id, MonthlySkuSales.market_code)
    )
    columns = ["category_id", "product_id", "market_code", "month", "units", "price"]
    values = list(zip(*result.fetchall()))  # column lists: a DataFrame of Row objects costs ~1 s at 100k rows
    if not values:
        return pd.DataFrame(columns=columns)
    categories = dict(session.execute(select(Product.id, Product.category_id)).all())
    month, product_id, market_code, units, sales = values
    frame = pd.DataFrame({"product_id": product_id, "market_code": market_code, "month": month,
                          "units": np.asarray(units, dtype=float)})
    frame.insert(0, "category_id", frame["product_id"].map(categories))
    frame["price"] = np.asarray(sales, dtype=float) / frame["units"].to_numpy()
    return frame


def category_elasticities(session: Session, on: dt.date) -> pd.DataFrame:
    """estimate_elasticities over the seeded history, with each category's code, name and default."""
    categories = pd.DataFrame(session.execute(
        select(Category.id, Category.code, Category.name, Category.price_elasticity).order_by(Category.name)
    ).all(), columns=["category_id", "code", "name", "default"])
    defaults = dict(zip(categories["category_id"], categories["default"].astype(float)))
    estimates = estimate_elasticities(elasticity_history(session, on), defaults)
    return categories.merge(estimates, on="category_id")


INPUT_WRITES = ("import_batch", "product_cost")  # audited writes that change the history, ledger or catalogue


def inputs_version(session: Session) -> int:
    """The id of the latest audited write that changes what the baselines and elasticities read (an import or
    its undo, a product cost edit; 0 before any): the page caches them until this or the day changes. A cheap
    read (the newest audit rows first), so that every process sees another's import on its next page run."""
    latest = session.scalar(select(AuditEvent.id).where(AuditEvent.entity.in_(INPUT_WRITES))
                            .order_by(AuditEvent.id.desc()).limit(1))
    return int(latest or 0)


def market_choices(session: Session) -> pd.DataFrame:
    return pd.DataFrame(session.execute(select(Market.code, Market.name, Market.currency).order_by(Market.code))
                        .all(), columns=["code", "name", "currency"])


# --- scenarios (per user; every write re-checks the role) -----------------------------------------------------------


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _audit(session: Session, actor: str, scenario_id: int, action: str, **detail) -> None:
    session.add(AuditEvent(at=_now(), username=actor, entity="scenario", entity_id=str(scenario_id),
                           action=action, detail=json.dumps(detail)))


def save_scenario(session: Session, actor: str, name: str, inputs: dict, results: dict) -> int:
    """Store a named scenario (inputs and results as JSON) authored by `actor`; returns its id."""
    authorize(session, actor, SCENARIO_ROLE)
    name = (name or "").strip()
    if not name:
        raise ScenarioError("Give the scenario a name")
    scenario = Scenario(name=name[:120], author=actor, created_at=_now(),
                        inputs_json=json.dumps(inputs, default=str, sort_keys=True),
                        results_json=json.dumps(results, default=str, sort_keys=True))
    session.add(scenario)
    session.flush()
    _audit(session, actor, scenario.id, "create", name=scenario.name)
    return scenario.id


def list_scenarios(session: Session, actor: str) -> pd.DataFrame:
    """Every saved scenario, newest first: id, name, author, created_at, mine (authored by `actor`)."""
    authorize(session, actor, SCENARIO_ROLE)
    rows = session.execute(select(Scenario.id, Scenario.name, Scenario.author, Scenario.created_at)
                           .order_by(Scenario.created_at.desc(), Scenario.id.desc())).all()
    frame = pd.DataFrame(rows, columns=["id", "name", "author", "created_at"])
    frame["mine"] = frame["author"] == actor
    return frame


def compare_scenarios(session: Session, actor: str, ids: list[int]) -> pd.DataFrame:
    """Two or three scenarios side by side: one column per scenario ('name (#id)'), one row per input and
    result (rows 'input.<name>' and 'result.<name>')."""
    authorize(session, actor, SCENARIO_ROLE)
    if not 1 <= len(ids) <= MAX_COMPARE:
        raise ScenarioError(f"Compare between 1 and {MAX_COMPARE} scenarios")
    found = session.scalars(select(Scenario).where(Scenario.id.in_(ids)).order_by(Scenario.id)).all()
    columns = {}
    for scenario in found:
        values = {f"input.{k}": v for k, v in json.loads(scenario.inputs_json).items()}
        values.update({f"result.{k}": v for k, v in json.loads(scenario.results_json).items()})
        columns[f"{scenario.name} (#{scenario.id})"] = values
    frame = pd.DataFrame(columns)
    return frame.sort_index() if not frame.empty else frame


def delete_scenario(session: Session, actor: str, scenario_id: int) -> None:
    """Delete one of `actor`'s own scenarios; anyone else's raises PermissionDenied."""
    authorize(session, actor, SCENARIO_ROLE)
    scenario = session.get(Scenario, scenario_id)
    if scenario is None:
        raise ScenarioError(f"No scenario {scenario_id}")
    if scenario.author != actor:
        raise PermissionDenied("You can only delete your own scenarios")
    name = scenario.name
    session.execute(delete(Scenario).where(Scenario.id == scenario_id))
    _audit(session, actor, scenario_id, "delete", name=name)
