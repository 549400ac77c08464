"""Payments and settlement: method mix, authorisation, fees, payouts, FX and card-scheme dispute programmes.

Definitions (each used everywhere the figure appears):
- Authorisation rate: payment attempts not declined / payment attempts.
- Effective fee rate: fees charged / amount captured (both in USD at the attempt-day rate); fee per payment:
  fees / captured payments. A gateway's published fee on one payment is
  `amount x (percent + cross-border surcharge + currency-conversion surcharge) + fixed fee` (`effective_fee`).
- Payout lag: days from the payment attempt to the payout reaching us (settled_on - attempt_date), averaged
  over the payouts received in the period.
- Cash in transit: captured payments (not declined) not paid out yet. Expected arrival: attempt day + the
  gateway's and method's mean payout lag over the 90 days before `today`; already-overdue money is expected
  tomorrow.
- Realised FX gain/loss: amount in the transaction currency x (USD rate on the payout day - USD rate on the
  attempt day), i.e. settlement-day value - order-day value, for payouts received in the period.
- Dispute rate: disputes raised in the period / captured payments in the period.
- Visa VAMP ratio = (fraud reports + disputes) / settled card-not-present transactions in the month;
  "excessive" at or above 2.2 % (1.5 % from 2026-04-01) once fraud reports + disputes reach 1,500 in the
  month; "warning" from 80 % of the limit. Card payments (method "card") are all card-not-present here.
- Mastercard Excessive Chargeback Merchant (ECM): chargeback-to-transaction ratio = this month's chargebacks /
  the previous month's card transactions. ECM at >= 100 chargebacks and a ratio >= 1.5 %; High ECM (HECM)
  at >= 300 chargebacks and a ratio >= 3 %. The headline ECM band is 100-299 chargebacks and 1.5-2.99 %;
  a month with 300+ chargebacks at 1.5-2.99 % stays ECM (it has not reached both HECM levels). Card brand
  is not recorded, so every card dispute is treated as a chargeback (a conservative upper bound).
- FX shock: each currency's value against the reporting currency moves by its shock (+0.10 = 10 % stronger);
  revenue and costs held in that currency move with it. Margin = the contribution margin of the profit ledger
  (core.profit) after the shock; product cost is held in CNY, outbound shipping in USD, every other cost line in
  the sale's currency (`fx_exposure`).
- Published fee terms: data/reference/payment_fees.csv; a marketplace's percent is its referral fee from the dated
  schedule (core.profit.referral_fee_rates) as of the period's end (`published_fees`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core import profit, thresholds
from core.overview import vamp_ratio
from core.platform.filters import Filters
from core.platform.models import (
    DailyDisputes,
    DailyPaymentOutcomes,
    DailyPayments,
    DailyReturns,
    DailySales,
    DailySettlements,
    FxRate,
    Market,
    PaymentsInTransit,
)
from core.platform.queries import frame, in_currency, join_fx, month_start, safe_ratio, where_filters

FEES_CSV = Path(__file__).resolve().parent.parent / "data" / "reference" / "payment_fees.csv"
ARRIVAL_LAG_WINDOW_DAYS = 90
DISPUTE_COLUMNS = ["month", "settled_cnp", "disputes", "fraud_reports", "vamp_ratio", "vamp_limit", "vamp_status",
                   "chargebacks", "ecm_status"]


# --- published formulas ---------------------------------------------------------------------------------------------


def effective_fee(amount: float, *, percent: float, fixed: float, cross_border: float = 0.0,
                  fx_conversion: float = 0.0) -> float:
    """Gateway fee on one payment: amount x (percent + cross-border + currency conversion) + fixed."""
    return float(amount) * (percent + cross_border + fx_conversion) + fixed


def vamp_status(fraud_reports: int, disputes: int, settled_cnp: int, on: dt.date) -> str:
    """'excessive' when the VAMP ratio reaches the limit in force on `on` and fraud + disputes >= 1,500;
    'warning' from 80 % of the limit (or at the limit below the count); otherwise 'ok'."""
    ratio = vamp_ratio(fraud_reports, disputes, settled_cnp)
    if ratio is None:
        return "ok"
    limit = thresholds.vamp_limit(on)
    if ratio >= limit and (fraud_reports or 0) + (disputes or 0) >= thresholds.VAMP_MIN_COUNT:
        return "excessive"
    if ratio >= thresholds.EARLY_WARNING_SHARE * limit:
        return "warning"
    return "ok"


def chargeback_ratio(chargebacks: int, previous_month_transactions: int) -> float | None:
    """Mastercard chargeback-to-transaction ratio: this month's chargebacks / last month's transactions."""
    return safe_ratio(chargebacks, previous_month_transactions)


def mastercard_ecm_status(chargebacks: int, previous_month_transactions: int) -> str:
    """'HECM' at >= 300 chargebacks and >= 3 %; 'ECM' at >= 100 chargebacks and >= 1.5 %; else 'ok'."""
    ratio = chargeback_ratio(chargebacks, previous_month_transactions)
    if ratio is None:
        return "ok"
    if chargebacks >= thresholds.HECM_MIN_CHARGEBACKS and ratio >= thresholds.HECM_MIN_RATIO:
        return "HECM"
    if chargebacks >= thresholds.ECM_MIN_CHARGEBACKS and ratio >= thresholds.ECM_MIN_RATIO:
        return "ECM"
    return "ok"


def expected_arrival(attempt_day: dt.date, mean_lag_days: float | None, today: dt.date,
                     fallback_lag_days: float = 7.0) -> dt.date:
    """attempt day + mean payout lag (rounded up to whole days); money already overdue arrives tomorrow."""
    lag = fallback_lag_days if mean_lag_days is None or pd.isna(mean_lag_days) else mean_lag_days
    day = attempt_day + dt.timedelta(days=int(-(-lag // 1)))
    return max(day, today + dt.timedelta(days=1))


def realised_fx(amount_local: float, order_usd_per_unit: float, settled_usd_per_unit: float) -> float:
    """Gain (+) or loss (-) in USD: amount x (payout-day USD rate - order-day USD rate)."""
    return float(amount_local) * (settled_usd_per_unit - order_usd_per_unit)


def shocked_margin(revenue: Mapping[str, float], costs: Mapping[str, float],
                   shocks: Mapping[str, float]) -> tuple[float, float | None]:
    """(profit, margin) after moving each currency's amounts by its shock (both in the reporting currency).

    profit = sum(revenue_c x (1 + s_c)) - sum(cost_c x (1 + s_c)); margin = profit / shocked revenue.
    """
    def factor(ccy: str) -> float:
        return 1.0 + float(shocks.get(ccy, 0.0))

    shocked_revenue = sum(float(v) * factor(c) for c, v in revenue.items())
    shocked_costs = sum(float(v) * factor(c) for c, v in costs.items())
    profit = shocked_revenue - shocked_costs
    return profit, (profit / shocked_revenue if shocked_revenue else None)


@lru_cache(maxsize=1)
def fee_terms() -> pd.DataFrame:
    """Published fee terms per gateway and method (data/reference/payment_fees.csv)."""
    return pd.read_csv(FEES_CSV)


def fee_schedule(amount: float, referral_fee: Mapping[str, float] | None = None) -> pd.DataFrame:
    """The fee each gateway and method charges on one payment of `amount` USD, domestic and cross-border
    (foreign card, foreign currency). Marketplace rows use the channel's referral fee (`referral_fee`)."""
    referral_fee = referral_fee or {}
    rows = []
    for term in fee_terms().itertuples(index=False):
        percent = float(term.pct) if not pd.isna(term.pct) else float(referral_fee.get(term.gateway, 0.0))
        domestic = effective_fee(amount, percent=percent, fixed=float(term.fixed_usd))
        foreign = effective_fee(amount, percent=percent, fixed=float(term.fixed_usd),
                                cross_border=float(term.cross_border_pct), fx_conversion=float(term.fx_pct))
        rows.append({
            "gateway": term.gateway, "method": term.method, "percent": percent, "fixed_usd": float(term.fixed_usd),
            "cross_border_pct": float(term.cross_border_pct), "fx_pct": float(term.fx_pct),
            "domestic_fee": domestic, "domestic_rate": domestic / amount if amount else None,
            "cross_border_fee": foreign, "cross_border_rate": foreign / amount if amount else None,
            "settle_hold_days": int(term.settle_hold_days), "payout_interval_days": int(term.payout_interval_days),
        })
    return pd.DataFrame(rows)


def published_fees(session: Session, amount: float, on: dt.date) -> pd.DataFrame:
    """`fee_schedule` with each marketplace's default referral fee from the dated schedule as of `on`."""
    rates = profit.referral_fee_rates(session, on)
    defaults = rates[rates["category_id"].isna()]
    return fee_schedule(amount, dict(zip(defaults["channel"], defaults["rate"].astype(float))))


# --- summary tables -------------------------------------------------------------------------------------------------


# --- dispute monitoring (also used by the risk page) ----------------------------------------------------------------


def _month_filters(filters: Filters, months_before: int = 0) -> Filters:
    start = filters.start.replace(day=1)
    for _ in range(months_before):
        start = (start - dt.timedelta(days=1)).replace(day=1)
    return Filters(start, filters.end, filters.markets, filters.channels, filters.currency)


def dispute_monitoring(session: Session, filters: Filters) -> pd.DataFrame:
    """Per month the period touches: Visa VAMP ratio and status, Mastercard ECM status (card payments).

    Settled CNP = card payments not declined, by attempt month; disputes and fraud reports by the month
    they were raised; chargebacks = card disputes; ECM compares them with the previous month's settled CNP.
    """
    wide = _month_filters(filters, months_before=1)
    month = month_start(session, DailyPayments.day)
    settled = frame(session, where_filters(
        select(month.label("month"), func.sum(DailyPayments.succeeded).label("settled_cnp"))
        .where(DailyPayments.method == "card").group_by(month),
        wide, day=DailyPayments.day, market=DailyPayments.market_code, channel_id=DailyPayments.channel_id))
    d_month = month_start(session, DailyDisputes.day)
    raised = frame(session, where_filters(
        select(d_month.label("month"), func.sum(DailyDisputes.disputes).label("disputes"),
               func.sum(DailyDisputes.fraud_reported).label("fraud_reports"))
        .where(DailyDisputes.method == "card").group_by(d_month),
        wide, day=DailyDisputes.day, market=DailyDisputes.market_code, channel_id=DailyDisputes.channel_id))
    months = pd.date_range(wide.start, filters.end, freq="MS")
    result = pd.DataFrame({"month": months.strftime("%Y-%m-%d")})
    result = result.merge(settled, on="month", how="left").merge(raised, on="month", how="left")
    for column in ("settled_cnp", "disputes", "fraud_reports"):
        result[column] = result[column].fillna(0).astype(int)
    result["month"] = pd.to_datetime(result["month"]).dt.date
    previous = result["settled_cnp"].shift(1)
    result["vamp_ratio"] = [vamp_ratio(f, d, s) for f, d, s in
                            zip(result["fraud_reports"], result["disputes"], result["settled_cnp"])]
    result["vamp_limit"] = [thresholds.vamp_limit(m) for m in result["month"]]
    result["vamp_status"] = [vamp_status(f, d, s, m) for f, d, s, m in
                             zip(result["fraud_reports"], result["disputes"], result["settled_cnp"], result["month"])]
    result["chargebacks"] = result["disputes"]
    result["chargeback_ratio"] = [chargeback_ratio(c, p) if pd.notna(p) else None
                                  for c, p in zip(result["chargebacks"], previous)]
    result["ecm_status"] = [mastercard_ecm_status(c, int(p)) if pd.notna(p) else "ok"
                            for c, p in zip(result["chargebacks"], previous)]
    result = result.iloc[1:].reset_index(drop=True)  # the extra month was only the ECM denominator
    result["vamp_ratio"] = result["vamp_ratio"].astype(float)
    result["chargeback_ratio"] = result["chargeback_ratio"].astype(float)
    return result[DISPUTE_COLUMNS + ["chargeback_ratio"]]


# --- page figures ---------------------------------------------------------------------------------------------------


def _payments_stmt(columns, filters: Filters, table=DailyPayments):
    stmt = join_fx(select(*columns).select_from(table), table.day, filters.currency)
    return where_filters(stmt, filters, day=table.day, market=table.market_code, channel_id=table.channel_id)


def kpis(session: Session, filters: Filters) -> dict:
    """Headline figures: authorisation rate, effective fee rate, fee per payment, dispute rate, refunds."""
    ccy = filters.currency
    attempts, succeeded, amount, fees, refunded = session.execute(_payments_stmt([
        func.coalesce(func.sum(DailyPayments.attempts), 0), func.coalesce(func.sum(DailyPayments.succeeded), 0),
        func.coalesce(func.sum(in_currency(DailyPayments.amount_usd, ccy)), 0.0),
        func.coalesce(func.sum(in_currency(DailyPayments.fee_usd, ccy)), 0.0),
        func.coalesce(func.sum(in_currency(DailyPayments.refunded_usd, ccy)), 0.0),
    ], filters)).one()
    disputes = session.execute(where_filters(
        select(func.coalesce(func.sum(DailyDisputes.disputes), 0)), filters, day=DailyDisputes.day,
        market=DailyDisputes.market_code, channel_id=DailyDisputes.channel_id)).scalar()
    return {
        "attempts": int(attempts), "succeeded": int(succeeded), "amount": float(amount), "fees": float(fees),
        "refunded": float(refunded), "auth_rate": safe_ratio(succeeded, attempts),
        "fee_rate": safe_ratio(fees, amount), "fee_per_payment": safe_ratio(fees, succeeded),
        "disputes": int(disputes), "dispute_rate": safe_ratio(disputes, succeeded),
    }


def method_mix(session: Session, filters: Filters) -> pd.DataFrame:
    """Captured payments and amount per market and method, with each method's share of the market's amount."""
    ccy = filters.currency
    stmt = _payments_stmt([
        DailyPayments.market_code.label("market"), DailyPayments.method,
        func.sum(DailyPayments.succeeded).label("payments"),
        func.sum(in_currency(DailyPayments.amount_usd, ccy)).label("amount"),
    ], filters).group_by(DailyPayments.market_code, DailyPayments.method)
    result = frame(session, stmt)
    if result.empty:
        return pd.DataFrame(columns=["market", "method", "payments", "amount", "share"])
    result["amount"] = result["amount"].astype(float)
    result["share"] = result["amount"] / result.groupby("market")["amount"].transform("sum").replace(0, pd.NA)
    return result.sort_values(["market", "amount"], ascending=[True, False]).reset_index(drop=True)


AUTH_DIMENSIONS = {"method": DailyPaymentOutcomes.method, "gateway": DailyPaymentOutcomes.gateway,
                   "card_country": DailyPaymentOutcomes.card_country}


def auth_rates(session: Session, filters: Filters, by: str) -> pd.DataFrame:
    """Attempts, successes and authorisation rate by method, gateway or card country (cards only)."""
    column = AUTH_DIMENSIONS[by]
    stmt = where_filters(
        select(column.label(by), func.sum(DailyPaymentOutcomes.attempts).label("attempts"),
               func.sum(DailyPaymentOutcomes.succeeded).label("succeeded")).group_by(column),
        filters, day=DailyPaymentOutcomes.day, market=DailyPaymentOutcomes.market_code,
        channel_id=DailyPaymentOutcomes.channel_id)
    if by == "card_country":
        stmt = stmt.where(DailyPaymentOutcomes.card_country != "")
    result = frame(session, stmt)
    if result.empty:
        return pd.DataFrame(columns=[by, "attempts", "succeeded", "auth_rate"])
    result["auth_rate"] = result["succeeded"] / result["attempts"]
    return result.sort_values("attempts", ascending=False).reset_index(drop=True)


def declines_by_reason(session: Session, filters: Filters) -> pd.DataFrame:
    stmt = where_filters(
        select(DailyPaymentOutcomes.decline_reason.label("reason"),
               func.sum(DailyPaymentOutcomes.attempts - DailyPaymentOutcomes.succeeded).label("declines"))
        .where(DailyPaymentOutcomes.decline_reason != "").group_by(DailyPaymentOutcomes.decline_reason),
        filters, day=DailyPaymentOutcomes.day, market=DailyPaymentOutcomes.market_code,
        channel_id=DailyPaymentOutcomes.channel_id)
    result = frame(session, stmt)
    if result.empty:
        return pd.DataFrame(columns=["reason", "declines", "share"])
    result["share"] = result["declines"] / result["declines"].sum()
    return result.sort_values("declines", ascending=False).reset_index(drop=True)


def fees_by_gateway(session: Session, filters: Filters) -> pd.DataFrame:
    """Amount captured, fees, effective fee rate and fee per payment by gateway and method."""
    ccy = filters.currency
    stmt = _payments_stmt([
        DailyPayments.gateway, DailyPayments.method, func.sum(DailyPayments.succeeded).label("payments"),
        func.sum(in_currency(DailyPayments.amount_usd, ccy)).label("amount"),
        func.sum(in_currency(DailyPayments.fee_usd, ccy)).label("fees"),
    ], filters).group_by(DailyPayments.gateway, DailyPayments.method)
    result = frame(session, stmt)
    if result.empty:
        return pd.DataFrame(columns=["gateway", "method", "payments", "amount", "fees", "fee_rate",
                                     "fee_per_payment"])
    result[["amount", "fees"]] = result[["amount", "fees"]].astype(float)
    result["fee_rate"] = result["fees"] / result["amount"].where(result["amount"] != 0)
    result["fee_per_payment"] = result["fees"] / result["payments"].where(result["payments"] != 0)
    return result.sort_values("fees", ascending=False).reset_index(drop=True)


def fees_monthly(session: Session, filters: Filters) -> pd.DataFrame:
    ccy = filters.currency
    month = month_start(session, DailyPayments.day)
    stmt = _payments_stmt([
        month.label("month"), DailyPayments.gateway, func.sum(DailyPayments.succeeded).label("payments"),
        func.sum(in_currency(DailyPayments.amount_usd, ccy)).label("amount"),
        func.sum(in_currency(DailyPayments.fee_usd, ccy)).label("fees"),
    ], filters).group_by(month, DailyPayments.gateway)
    result = frame(session, stmt)
    if result.empty:
        return pd.DataFrame(columns=["month", "gateway", "payments", "amount", "fees", "fee_rate"])
    result["month"] = pd.to_datetime(result["month"])
    result[["amount", "fees"]] = result[["amount", "fees"]].astype(float)
    result["fee_rate"] = result["fees"] / result["amount"].where(result["amount"] != 0)
    return result.sort_values(["month", "gateway"]).reset_index(drop=True)


def payout_lag(session: Session, filters: Filters) -> pd.DataFrame:
    """Payouts received in the period by gateway: payments, amount and mean payout lag in days."""
    ccy = filters.currency
    stmt = _payments_stmt([
        DailySettlements.gateway, func.sum(DailySettlements.payments).label("payments"),
        func.sum(in_currency(DailySettlements.settled_usd, ccy)).label("amount"),
        func.sum(DailySettlements.lag_days_sum).label("lag_days_sum"),
    ], filters, DailySettlements).group_by(DailySettlements.gateway)
    result = frame(session, stmt)
    if result.empty:
        return pd.DataFrame(columns=["gateway", "payments", "amount", "mean_lag_days"])
    result["amount"] = result["amount"].astype(float)
    result["mean_lag_days"] = result["lag_days_sum"].astype(float) / result["payments"]
    return result.drop(columns="lag_days_sum").sort_values("mean_lag_days", ascending=False).reset_index(drop=True)


def _transit_rows(session: Session, filters: Filters) -> pd.DataFrame:
    stmt = where_filters(
        select(PaymentsInTransit.day, PaymentsInTransit.gateway, PaymentsInTransit.method,
               PaymentsInTransit.currency, func.sum(PaymentsInTransit.amount_local).label("amount_local"),
               func.sum(PaymentsInTransit.amount_usd).label("amount_usd"),
               func.sum(PaymentsInTransit.payments).label("payments"))
        .group_by(PaymentsInTransit.day, PaymentsInTransit.gateway, PaymentsInTransit.method,
                  PaymentsInTransit.currency),
        Filters(dt.date(1970, 1, 1), dt.date(2999, 12, 31), filters.markets, filters.channels),
        day=PaymentsInTransit.day, market=PaymentsInTransit.market_code, channel_id=PaymentsInTransit.channel_id)
    return frame(session, stmt)


def _usd_to(session: Session, currency: str, on: dt.date) -> float:
    """Units of the reporting currency per USD on the latest day with a rate, up to `on`."""
    if currency == "USD":
        return 1.0
    rate = session.scalar(select(FxRate.per_usd).where(FxRate.currency == currency, FxRate.day <= on)
                          .order_by(FxRate.day.desc()).limit(1))
    return float(rate) if rate else 1.0


def cash_in_transit(session: Session, filters: Filters, today: dt.date, horizon_days: int = 30) -> dict:
    """Money captured but not paid out (market and channel filters apply; the date range does not: this is
    today's position), by currency and gateway, and the expected arrivals over the next `horizon_days`."""
    rows = _transit_rows(session, filters)
    rate = _usd_to(session, filters.currency, today)
    empty_calendar = pd.DataFrame({"day": pd.date_range(today + dt.timedelta(days=1), periods=horizon_days),
                                   "gateway": None, "amount": 0.0})
    if rows.empty:
        return {"total": 0.0, "payments": 0, "by_currency": pd.DataFrame(columns=["currency", "amount_local",
                                                                                 "amount", "payments"]),
                "calendar": empty_calendar.iloc[0:0]}
    rows["amount"] = rows["amount_usd"].astype(float) * rate
    rows["amount_local"] = rows["amount_local"].astype(float)
    lags = _mean_lags(session, filters, today)
    rows["arrival"] = [expected_arrival(day, lags.get((g, m)), today)
                       for day, g, m in zip(rows["day"], rows["gateway"], rows["method"])]
    by_currency = rows.groupby("currency", as_index=False)[["amount_local", "amount", "payments"]].sum()
    horizon = today + dt.timedelta(days=horizon_days)
    coming = rows[rows["arrival"] <= horizon]
    calendar = coming.groupby(["arrival", "gateway"], as_index=False)["amount"].sum().rename(
        columns={"arrival": "day"})
    calendar["day"] = pd.to_datetime(calendar["day"])
    return {"total": float(rows["amount"].sum()), "payments": int(rows["payments"].sum()),
            "by_currency": by_currency.sort_values("amount", ascending=False).reset_index(drop=True),
            "calendar": calendar}


def _mean_lags(session: Session, filters: Filters, today: dt.date) -> dict:
    since = today - dt.timedelta(days=ARRIVAL_LAG_WINDOW_DAYS)
    stmt = where_filters(
        select(DailySettlements.gateway, DailySettlements.method, func.sum(DailySettlements.lag_days_sum),
               func.sum(DailySettlements.payments)).group_by(DailySettlements.gateway, DailySettlements.method),
        Filters(since, today, filters.markets, filters.channels), day=DailySettlements.day,
        market=DailySettlements.market_code, channel_id=DailySettlements.channel_id)
    return {(g, m): float(lag) / n for g, m, lag, n in session.execute(stmt) if n}


def fx_by_currency(session: Session, filters: Filters) -> pd.DataFrame:
    """Per transaction currency: GMV in the period, payouts received, realised FX gain/loss on them."""
    ccy = filters.currency
    sales = frame(session, where_filters(
        join_fx(select(Market.currency, func.sum(in_currency(DailySales.gmv_usd, ccy)).label("gmv"),
                       func.sum(in_currency(DailySales.net_revenue_usd, ccy)).label("net_revenue"))
                .select_from(DailySales).join(Market, Market.code == DailySales.market_code), DailySales.day, ccy)
        .group_by(Market.currency),
        filters, day=DailySales.day, market=DailySales.market_code, channel_id=DailySales.channel_id))
    settled = frame(session, _payments_stmt([
        DailySettlements.currency, func.sum(in_currency(DailySettlements.settled_usd, ccy)).label("paid_out"),
        func.sum(in_currency(DailySettlements.settled_usd - DailySettlements.amount_usd, ccy)).label("realised_fx"),
    ], filters, DailySettlements).group_by(DailySettlements.currency))
    result = sales.merge(settled, on="currency", how="outer")
    columns = ["currency", "gmv", "net_revenue", "paid_out", "realised_fx"]
    if result.empty:
        return pd.DataFrame(columns=columns)
    for column in columns[1:]:
        result[column] = result[column].astype(float).fillna(0.0)
    return result[columns].sort_values("gmv", ascending=False).reset_index(drop=True)


# Where the ledger's cost lines are paid: product cost in CNY, outbound carriers in USD, everything else (fees,
# refunds, duty, ads, storage) in the currency of the market that sold.
HELD_IN = {"product_cost": "CNY", "write_off": "CNY", "shipping": "USD"}


def fx_exposure(session: Session, filters: Filters) -> dict:
    """Net revenue and costs by the currency they are held in, in the reporting currency, for `shocked_margin`:
    the profit ledger's lines (core.profit) per market, so with no shock the profit is the contribution and the
    margin the contribution margin. Shipping charged counts against the costs of its market's currency (it is
    income outside net revenue); costs no market carries (storage of stock sold nowhere) are held in USD."""
    names = ("net_revenue", "shipping_income", *profit.COST_KEYS)
    ledger = profit.lines(session, filters, "market", names)
    currencies = dict(session.execute(select(Market.code, Market.currency)).all())
    revenue: dict[str, float] = {}
    costs: dict[str, float] = {}
    for row in ledger.itertuples(index=False):
        local = currencies.get(row.market_code, "USD")
        if row.net_revenue:
            revenue[local] = revenue.get(local, 0.0) + float(row.net_revenue)
        for name in (*profit.COST_KEYS, "shipping_income"):
            held = HELD_IN.get(name, local)
            amount = -float(row.shipping_income) if name == "shipping_income" else float(getattr(row, name))
            costs[held] = costs.get(held, 0.0) + amount
    return {"revenue": revenue, "costs": costs}


def disputes_by_reason(session: Session, filters: Filters) -> pd.DataFrame:
    ccy = filters.currency
    stmt = where_filters(
        join_fx(select(DailyDisputes.reason, func.sum(DailyDisputes.disputes).label("disputes"),
                       func.sum(in_currency(DailyDisputes.amount_usd, ccy)).label("amount"))
                .select_from(DailyDisputes), DailyDisputes.day, ccy)
        .where(DailyDisputes.reason != "").group_by(DailyDisputes.reason),
        filters, day=DailyDisputes.day, market=DailyDisputes.market_code, channel_id=DailyDisputes.channel_id)
    result = frame(session, stmt)
    if not result.empty:
        result["amount"] = result["amount"].astype(float)
    return result.sort_values("disputes", ascending=False).reset_index(drop=True) if not result.empty else \
        pd.DataFrame(columns=["reason", "disputes", "amount"])


def refunds_by_reason(session: Session, filters: Filters) -> pd.DataFrame:
    """Refunds paid on returns requested in the period, by return reason."""
    ccy = filters.currency
    stmt = where_filters(
        join_fx(select(DailyReturns.reason, func.sum(DailyReturns.returns).label("returns"),
                       func.sum(in_currency(DailyReturns.refund_usd, ccy)).label("refunds"))
                .select_from(DailyReturns), DailyReturns.day, ccy).group_by(DailyReturns.reason),
        filters, day=DailyReturns.day, market=DailyReturns.market_code, channel_id=DailyReturns.channel_id)
    result = frame(session, stmt)
    if result.empty:
        return pd.DataFrame(columns=["reason", "returns", "refunds"])
    result["refunds"] = result["refunds"].astype(float)
    return result.sort_values("refunds", ascending=False).reset_index(drop=True)

