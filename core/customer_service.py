"""Customer service: ticket volume, response and resolution times, SLA, CSAT, returns, repeat customers.

Definitions (each used everywhere the figure appears):
- Tickets per 100 orders: tickets opened in the period / non-cancelled orders placed in the period x 100
  (tickets are not tied to a sales channel, so the channel filter applies to neither count).
- First-response time: hours from a ticket being opened to our first reply; resolution time: hours from
  opening to resolution. Median and p90 come from a histogram of whole-hour (then wider) buckets: the
  grouped-data quantile, interpolated linearly inside the bucket that holds the q-th ticket
  (`quantile_from_buckets`). Only answered (resolved) tickets count.
- SLA breach rate: answered tickets whose time exceeds the target / answered tickets (`share_above`).
- CSAT: mean of the 1-5 ratings given on tickets opened in the period.
- Return rate per SKU: units returned / units sold, both by the month of the order (the months the period
  touches). Cost of returns = refunds + return shipping + landed cost of returned units that cannot be
  resold. A SKU is flagged when its return rate exceeds the threshold and it sold enough units to judge.
- Repeat-customer rate: customers with an order in a month who had ordered in an earlier month /
  customers with an order in that month, summed over the months the period touches.
- Cohort retention: customers of a first-order month active k months later / customers of that cohort.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from core import thresholds
from core.platform.filters import Filters
from core.platform.models import (
    DailyReturns,
    DailySales,
    DailyTicketStats,
    DailyTicketTimes,
    MonthlyCohorts,
    MonthlySkuReturns,
    Product,
)
from core.platform.queries import frame, in_currency, join_fx, month_start, safe_ratio, where_filters
from core.summaries.tickets import BUCKET_EDGES, MEASURES  # the buckets of daily_ticket_times

TICKET_DIMENSIONS = ("reason", "channel", "language", "market_code")


# --- published formulas ---------------------------------------------------------------------------------------------


def bucket_of(hours: float) -> float:
    """The lower edge of the bucket holding `hours`."""
    index = int(np.searchsorted(BUCKET_EDGES, max(hours, 0.0), side="right")) - 1
    return float(BUCKET_EDGES[max(index, 0)])


def _upper(lower: float) -> float:
    index = BUCKET_EDGES.index(int(lower)) if int(lower) == lower and int(lower) in BUCKET_EDGES else None
    if index is None or index + 1 >= len(BUCKET_EDGES):
        return lower  # the open-ended last bucket: report its lower edge
    return float(BUCKET_EDGES[index + 1])


def quantile_from_buckets(counts: Sequence[tuple[float, int]], q: float) -> float | None:
    """Grouped-data quantile: with N tickets, find the bucket [L, U) where the cumulative count first
    reaches q x N, and return L + (q x N - count before the bucket) / count in the bucket x (U - L)."""
    rows = sorted((float(lower), int(n)) for lower, n in counts if n)
    total = sum(n for _, n in rows)
    if not total:
        return None
    target, before = q * total, 0
    for lower, n in rows:
        if before + n >= target:
            return lower + (target - before) / n * (_upper(lower) - lower)
        before += n
    return rows[-1][0]


def share_above(counts: Sequence[tuple[float, int]], limit_hours: float) -> float | None:
    """Share of tickets slower than `limit_hours`; a bucket the limit cuts counts pro rata."""
    rows = [(float(lower), int(n)) for lower, n in counts if n]
    total = sum(n for _, n in rows)
    if not total:
        return None
    above = 0.0
    for lower, n in rows:
        upper = _upper(lower)
        if lower >= limit_hours:
            above += n
        elif upper > limit_hours:
            above += n * (upper - limit_hours) / (upper - lower)
    return above / total


def return_cost(refund: float, return_shipping: float, unsellable: float) -> float:
    """Cost of returns = refunds + return shipping + landed cost of units that cannot be resold."""
    return float(refund) + float(return_shipping) + float(unsellable)


def flag_return_rate(units_returned: int, units_sold: int, *, limit: float = thresholds.RETURN_RATE_FLAG,
                     min_units: int = thresholds.RETURN_RATE_MIN_UNITS) -> bool:
    """True when returned / sold exceeds `limit` and the SKU sold at least `min_units`."""
    return units_sold >= min_units and units_sold > 0 and units_returned / units_sold > limit


def per_hundred(count: float, orders: float) -> float | None:
    ratio = safe_ratio(count, orders)
    return None if ratio is None else ratio * 100


# --- summary tables -------------------------------------------------------------------------------------------------


# --- page figures ---------------------------------------------------------------------------------------------------


def _ticket_filters(stmt, filters: Filters, table):
    return where_filters(stmt, filters, day=table.day, market=table.market_code)


def kpis(session: Session, filters: Filters, first_response_target: float = thresholds.FIRST_RESPONSE_SLA_HOURS,
         resolution_target: float = thresholds.RESOLUTION_SLA_HOURS) -> dict:
    tickets, responded, resolved, csat_sum, csat_count = session.execute(_ticket_filters(select(
        func.coalesce(func.sum(DailyTicketStats.tickets), 0), func.coalesce(func.sum(DailyTicketStats.responded), 0),
        func.coalesce(func.sum(DailyTicketStats.resolved), 0), func.sum(DailyTicketStats.csat_sum),
        func.sum(DailyTicketStats.csat_count)), filters, DailyTicketStats)).one()
    orders = session.execute(where_filters(select(func.coalesce(func.sum(DailySales.orders), 0)), filters,
                                           day=DailySales.day, market=DailySales.market_code)).scalar()
    result = {"tickets": int(tickets), "orders": int(orders), "per_100_orders": per_hundred(tickets, orders),
              "responded": int(responded), "resolved": int(resolved), "csat": safe_ratio(csat_sum, csat_count)}
    histogram = _histogram(session, filters, None)
    for measure, target in (("first_response", first_response_target), ("resolution", resolution_target)):
        counts = list(histogram.loc[histogram["measure"] == measure, ["bucket_hours", "tickets"]]
                      .itertuples(index=False, name=None)) if not histogram.empty else []
        result[f"{measure}_median"] = quantile_from_buckets(counts, 0.5)
        result[f"{measure}_p90"] = quantile_from_buckets(counts, 0.9)
        result[f"{measure}_breach"] = share_above(counts, target)
    result["repeat_rate"] = repeat_rate(session, filters)
    return result


def _histogram(session: Session, filters: Filters, by: str | None) -> pd.DataFrame:
    columns = [DailyTicketTimes.measure, DailyTicketTimes.bucket_hours]
    if by is not None:
        columns.insert(0, getattr(DailyTicketTimes, by).label(by))
    stmt = _ticket_filters(select(*columns, func.sum(DailyTicketTimes.tickets).label("tickets")).group_by(*columns),
                           filters, DailyTicketTimes)
    return frame(session, stmt)


def tickets_by(session: Session, filters: Filters, by: str) -> pd.DataFrame:
    """Tickets, share and CSAT by reason, channel, language or market (tickets per 100 orders by market)."""
    if by not in TICKET_DIMENSIONS:
        raise ValueError(f"unknown ticket dimension {by}")
    column = getattr(DailyTicketStats, by)
    result = frame(session, _ticket_filters(
        select(column.label(by), func.sum(DailyTicketStats.tickets).label("tickets"),
               func.sum(DailyTicketStats.csat_sum).label("csat_sum"),
               func.sum(DailyTicketStats.csat_count).label("csat_count")).group_by(column),
        filters, DailyTicketStats))
    if result.empty:
        return pd.DataFrame(columns=[by, "tickets", "share", "csat"])
    result["share"] = result["tickets"] / result["tickets"].sum()
    result["csat"] = result["csat_sum"] / result["csat_count"].where(result["csat_count"] != 0)
    if by == "market_code":
        orders = frame(session, where_filters(
            select(DailySales.market_code, func.sum(DailySales.orders).label("orders"))
            .group_by(DailySales.market_code), filters, day=DailySales.day, market=DailySales.market_code))
        result = result.merge(orders, on="market_code", how="left")
        result["per_100_orders"] = [per_hundred(t, o) for t, o in zip(result["tickets"], result["orders"])]
    return result.drop(columns=["csat_sum", "csat_count"]).sort_values("tickets", ascending=False).reset_index(
        drop=True)


def response_times(session: Session, filters: Filters, by: str, first_response_target: float,
                   resolution_target: float) -> pd.DataFrame:
    """Median, p90 and SLA breach rate of first response and resolution by channel or language."""
    if by not in ("channel", "language"):
        raise ValueError(f"unknown dimension {by}")
    histogram = _histogram(session, filters, by)
    columns = [by, "answered", "first_response_median", "first_response_p90", "first_response_breach",
               "resolved", "resolution_median", "resolution_p90", "resolution_breach"]
    if histogram.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    targets = {"first_response": first_response_target, "resolution": resolution_target}
    for key, group in histogram.groupby(by):
        row = {by: key}
        for measure in MEASURES:
            part = group[group["measure"] == measure]
            counts = list(zip(part["bucket_hours"], part["tickets"]))
            row["answered" if measure == "first_response" else "resolved"] = int(part["tickets"].sum())
            row[f"{measure}_median"] = quantile_from_buckets(counts, 0.5)
            row[f"{measure}_p90"] = quantile_from_buckets(counts, 0.9)
            row[f"{measure}_breach"] = share_above(counts, targets[measure])
        rows.append(row)
    return pd.DataFrame(rows, columns=columns).sort_values("answered", ascending=False).reset_index(drop=True)


def csat_trend(session: Session, filters: Filters) -> pd.DataFrame:
    month = month_start(session, DailyTicketStats.day)
    result = frame(session, _ticket_filters(
        select(month.label("month"), func.sum(DailyTicketStats.tickets).label("tickets"),
               func.sum(DailyTicketStats.csat_sum).label("csat_sum"),
               func.sum(DailyTicketStats.csat_count).label("csat_count")).group_by(month).order_by(month),
        filters, DailyTicketStats))
    if result.empty:
        return pd.DataFrame(columns=["month", "tickets", "csat", "ratings"])
    result["month"] = pd.to_datetime(result["month"])
    result["csat"] = result["csat_sum"] / result["csat_count"].where(result["csat_count"] != 0)
    return result.rename(columns={"csat_count": "ratings"}).drop(columns="csat_sum")


def returns_by_reason(session: Session, filters: Filters) -> pd.DataFrame:
    ccy = filters.currency
    stmt = join_fx(select(
        DailyReturns.reason, func.sum(DailyReturns.returns).label("returns"),
        func.sum(DailyReturns.units).label("units"),
        func.sum(in_currency(DailyReturns.refund_usd, ccy)).label("refunds"),
        func.sum(in_currency(DailyReturns.return_shipping_usd, ccy)).label("return_shipping"),
        func.sum(in_currency(DailyReturns.unsellable_usd, ccy)).label("unsellable"),
    ).select_from(DailyReturns), DailyReturns.day, ccy).group_by(DailyReturns.reason)
    result = frame(session, where_filters(stmt, filters, day=DailyReturns.day, market=DailyReturns.market_code,
                                          channel_id=DailyReturns.channel_id))
    if result.empty:
        return pd.DataFrame(columns=["reason", "returns", "units", "refunds", "return_shipping", "unsellable", "cost"])
    money = ["refunds", "return_shipping", "unsellable"]
    result[money] = result[money].astype(float)
    result["cost"] = [return_cost(*values) for values in result[money].itertuples(index=False)]
    return result.sort_values("cost", ascending=False).reset_index(drop=True)


def returns_by_sku(session: Session, filters: Filters, limit: float = thresholds.RETURN_RATE_FLAG,
                   min_units: int = thresholds.RETURN_RATE_MIN_UNITS) -> pd.DataFrame:
    """Per SKU over the months the period touches: units sold and returned, return rate, cost, flag.

    Money is converted at the rate of the first day of each month (a monthly summary)."""
    ccy = filters.currency
    first = filters.start.replace(day=1)
    stmt = join_fx(select(
        Product.sku, Product.name, func.sum(MonthlySkuReturns.units_sold).label("units_sold"),
        func.sum(MonthlySkuReturns.units_returned).label("units_returned"),
        func.sum(in_currency(MonthlySkuReturns.refund_usd + MonthlySkuReturns.return_shipping_usd
                             + MonthlySkuReturns.unsellable_usd, ccy)).label("cost"),
    ).select_from(MonthlySkuReturns).join(Product, Product.id == MonthlySkuReturns.product_id),
        MonthlySkuReturns.month, ccy).group_by(Product.sku, Product.name)
    stmt = where_filters(stmt, Filters(first, filters.end, filters.markets, filters.channels),
                         day=MonthlySkuReturns.month, market=MonthlySkuReturns.market_code,
                         channel_id=MonthlySkuReturns.channel_id)
    result = frame(session, stmt)
    columns = ["sku", "name", "units_sold", "units_returned", "return_rate", "cost", "flagged"]
    if result.empty:
        return pd.DataFrame(columns=columns)
    result["cost"] = result["cost"].astype(float)
    result["return_rate"] = result["units_returned"] / result["units_sold"].where(result["units_sold"] != 0)
    result["flagged"] = [flag_return_rate(r, s, limit=limit, min_units=min_units)
                         for r, s in zip(result["units_returned"], result["units_sold"])]
    return result[columns].sort_values(["flagged", "cost"], ascending=[False, False]).reset_index(drop=True)


def _cohort_rows(session: Session, filters: Filters, first: dt.date) -> pd.DataFrame:
    stmt = select(MonthlyCohorts.cohort_month, MonthlyCohorts.month,
                  func.sum(MonthlyCohorts.customers).label("customers")).where(
        MonthlyCohorts.month >= first, MonthlyCohorts.month <= filters.end,
        MonthlyCohorts.cohort_month >= first).group_by(MonthlyCohorts.cohort_month, MonthlyCohorts.month)
    if filters.markets:
        stmt = stmt.where(MonthlyCohorts.market_code.in_(filters.markets))
    return frame(session, stmt)


def repeat_rate(session: Session, filters: Filters) -> float | None:
    """Returning customer-months / active customer-months over the months the period touches."""
    first = filters.start.replace(day=1)
    stmt = select(
        func.sum(case((MonthlyCohorts.cohort_month < MonthlyCohorts.month, MonthlyCohorts.customers), else_=0)),
        func.sum(MonthlyCohorts.customers),
    ).where(and_(MonthlyCohorts.month >= first, MonthlyCohorts.month <= filters.end))
    if filters.markets:
        stmt = stmt.where(MonthlyCohorts.market_code.in_(filters.markets))
    returning, active = session.execute(stmt).one()
    return safe_ratio(returning, active)


def months_between(earlier: dt.date, later: dt.date) -> int:
    return (later.year - earlier.year) * 12 + later.month - earlier.month


def cohort_retention(session: Session, filters: Filters, months: int = 12) -> pd.DataFrame:
    """Cohorts of the `months` first-order months up to the period's end: size and retention k months on."""
    end_month = filters.end.replace(day=1)
    first = end_month
    for _ in range(months - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    rows = _cohort_rows(session, filters, first)
    columns = ["cohort_month", "months_since", "customers", "cohort_size", "retention"]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows["cohort_month"] = pd.to_datetime(rows["cohort_month"]).dt.date
    rows["month"] = pd.to_datetime(rows["month"]).dt.date
    rows["months_since"] = [months_between(c, m) for c, m in zip(rows["cohort_month"], rows["month"])]
    sizes = rows[rows["months_since"] == 0].set_index("cohort_month")["customers"]
    rows["cohort_size"] = rows["cohort_month"].map(sizes)
    rows = rows[rows["cohort_size"].notna() & (rows["cohort_size"] > 0)].copy()
    rows["retention"] = rows["customers"] / rows["cohort_size"]
    return rows[columns].sort_values(["cohort_month", "months_since"]).reset_index(drop=True)


def is_finite(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))
