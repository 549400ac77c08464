"""The risk page's figures and writes: register and heat map, threshold watch, account health,
concentration, policy changes and the compliance checklist.

Definitions (each used everywhere the figure appears):
- Risk score = likelihood (1-5) x impact (1-5), 1-25; bands 1-4 low, 5-9 medium, 10-15 high, 16-25 critical
  (`thresholds.RISK_BANDS`).
- Order defect rate (ODR) = orders with a defect / orders, over the 60 days ending on the period's last day
  (Amazon's window). A defect is any of: negative feedback (a ticket rated 1-2 of 5), a guarantee claim
  (A-to-z proxy: a "where is my order" ticket on an order whose shipment was lost or returned to sender), a
  chargeback (a payment disputed with the card issuer). An order with several defects counts once.
- Late shipment rate = shipments dispatched late / shipments, by ship date (the overview's definition).
- Pre-fulfilment cancel rate = cancelled orders / all orders placed (cancelled + live), by order date.
- Valid tracking rate = shipments whose tracking number validated / shipments.
- On-time delivery = shipments delivered within their promised days / shipments delivered.
- HHI (Herfindahl-Hirschman index) = sum over members of (percentage share)^2, 0-10,000; < 1,500
  unconcentrated, 1,500-2,500 moderate, > 2,500 high (`thresholds.HHI_*`).
- Currency exposure per currency = revenue earned in it - costs paid in it (product cost in CNY, carriage
  billed in USD), in the reporting currency.
- Single point of failure = a SKU every purchase order of which went to one supplier, earning at least
  `thresholds.SPOF_REVENUE_SHARE_MIN` of net revenue over the whole months the period touches.
- Policy-change monthly impact = sum over the linked markets and SKUs of (landed cost of one unit on the
  effective day - landed cost the day before, from core.landed_cost) x units of that SKU sold into that market
  in the last full calendar month.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from core import overview, profit, thresholds
from core.platform import users
from core.platform.filters import Filters
from core.platform.models import (
    AuditEvent,
    Channel,
    ComplianceItem,
    DailyAccountHealth,
    DailyDelivery,
    DailySales,
    InboundShipment,
    Market,
    MonthlySkuSales,
    PolicyChange,
    PolicyChangeMarket,
    PolicyChangeSku,
    Product,
    Risk,
    Supplier,
)
from core.platform.queries import frame, in_currency, join_fx, safe_ratio, where_filters

RISK_CATEGORIES = ("market", "operational", "financial", "legal_compliance", "supply_chain")
RISK_STATUSES = ("open", "mitigating", "closed")
RISK_BAND_NAMES = tuple(name for name, _ in thresholds.RISK_BANDS)
COMPLIANCE_AREAS = ("data_protection", "product_safety", "trademark", "tax_registration")
COMPLIANCE_STATUSES = ("done", "in_progress", "missing", "not_applicable")
EDITABLE_RISK_FIELDS = ("title", "category", "likelihood", "impact", "owner", "mitigation", "status", "review_on")
EDITABLE_COMPLIANCE_FIELDS = ("status", "owner", "due_on", "note")


class InvalidRiskInput(ValueError):
    pass


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# --- risk matrix ----------------------------------------------------------------------------------------------


def risk_score(likelihood: int, impact: int) -> int:
    """Score = likelihood x impact, each on 1-5."""
    for name, value in (("Likelihood", likelihood), ("Impact", impact)):
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            raise InvalidRiskInput(f"{name} must be a whole number from 1 to 5")
    return likelihood * impact


def risk_band(score: int) -> str:
    """low 1-4, medium 5-9, high 10-15, critical 16-25."""
    if not 1 <= score <= 25:
        raise InvalidRiskInput("A risk score lies between 1 and 25")
    return next(name for name, upper in thresholds.RISK_BANDS if score <= upper)


def risk_register(session: Session) -> pd.DataFrame:
    """Every risk with its score and band, highest score first (closed risks last)."""
    rows = frame(session, select(Risk.id, Risk.title, Risk.category, Risk.likelihood, Risk.impact, Risk.owner,
                                 Risk.mitigation, Risk.status, Risk.review_on, Risk.updated_by, Risk.updated_at))
    if rows.empty:
        return rows.assign(score=pd.Series(dtype=int), band=pd.Series(dtype=str))
    rows["score"] = [risk_score(int(lk), int(im)) for lk, im in zip(rows["likelihood"], rows["impact"])]
    rows["band"] = rows["score"].map(risk_band)
    rows["_closed"] = rows["status"] == "closed"
    return rows.sort_values(["_closed", "score", "id"], ascending=[True, False, True]).drop(columns="_closed") \
        .reset_index(drop=True)


def heat_map(session: Session) -> pd.DataFrame:
    """All 25 likelihood x impact cells with the number of risks not closed in each, and the cell's band."""
    counts = dict(
        ((lk, im), n) for lk, im, n in session.execute(
            select(Risk.likelihood, Risk.impact, func.count()).where(Risk.status != "closed")
            .group_by(Risk.likelihood, Risk.impact))
    )
    cells = [{"likelihood": lk, "impact": im, "score": lk * im, "band": risk_band(lk * im),
              "risks": int(counts.get((lk, im), 0))} for lk in range(1, 6) for im in range(1, 6)]
    return pd.DataFrame(cells)


def _clean_risk_fields(fields: dict) -> dict:
    clean = {}
    for key, value in fields.items():
        if key not in EDITABLE_RISK_FIELDS:
            raise InvalidRiskInput(f"Unknown risk field '{key}'")
        if key in ("title", "owner", "mitigation"):
            value = (value or "").strip()
            if key != "mitigation" and not value:
                raise InvalidRiskInput(f"The {key} must not be empty")
            value = value[:160] if key == "title" else value[:60] if key == "owner" else value
        elif key in ("likelihood", "impact"):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            risk_score(value if key == "likelihood" else 1, value if key == "impact" else 1)
        elif key == "category" and value not in RISK_CATEGORIES:
            raise InvalidRiskInput(f"Category must be one of {', '.join(RISK_CATEGORIES)}")
        elif key == "status" and value not in RISK_STATUSES:
            raise InvalidRiskInput(f"Status must be one of {', '.join(RISK_STATUSES)}")
        elif key == "review_on" and value is not None:
            if isinstance(value, dt.datetime):
                value = value.date()
            elif isinstance(value, str):
                value = dt.date.fromisoformat(value)
            elif not isinstance(value, dt.date):
                raise InvalidRiskInput("The review date must be a date")
        clean[key] = value
    return clean


def _json_value(value):
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else value


def _audit(session: Session, actor: str, entity: str, entity_id, action: str, diff: dict) -> None:
    detail = {key: [_json_value(old), _json_value(new)] for key, (old, new) in diff.items()}
    session.add(AuditEvent(at=_now(), username=actor, entity=entity, entity_id=str(entity_id), action=action,
                           detail=json.dumps(detail, ensure_ascii=False, sort_keys=True)))


def add_risk(session: Session, actor: str, *, title: str, category: str, likelihood: int, impact: int, owner: str,
             mitigation: str = "", status: str = "open", review_on: dt.date | None = None) -> int:
    """Add a risk (managers and above); audited as entity 'risk', action 'create'."""
    users.authorize(session, actor, "manager")
    fields = _clean_risk_fields(dict(title=title, category=category, likelihood=likelihood, impact=impact,
                                     owner=owner, mitigation=mitigation, status=status, review_on=review_on))
    risk = Risk(**fields, updated_by=actor, updated_at=_now())
    session.add(risk)
    session.flush()
    _audit(session, actor, "risk", risk.id, "create", {k: (None, v) for k, v in fields.items()})
    return risk.id


def update_risk(session: Session, actor: str, risk_id: int, **changes) -> dict:
    """Change a risk's fields (managers and above); returns and audits the diff {field: (old, new)}.
    Nothing is written when nothing changes."""
    users.authorize(session, actor, "manager")
    risk = session.get(Risk, risk_id)
    if risk is None:
        raise InvalidRiskInput(f"No risk with id {risk_id}")
    fields = _clean_risk_fields(changes)
    diff = {k: (getattr(risk, k), v) for k, v in fields.items() if getattr(risk, k) != v}
    if not diff:
        return {}
    for key, (_, new) in diff.items():
        setattr(risk, key, new)
    risk.updated_by, risk.updated_at = actor, _now()
    action = "close" if diff.get("status", (None, None))[1] == "closed" else "update"
    _audit(session, actor, "risk", risk_id, action, diff)
    return diff


def close_risk(session: Session, actor: str, risk_id: int) -> dict:
    return update_risk(session, actor, risk_id, status="closed")


def risk_history(session: Session, risk_id: int | None = None, limit: int = 50) -> pd.DataFrame:
    """The audit trail of the register, newest first."""
    stmt = select(AuditEvent.at, AuditEvent.username, AuditEvent.entity_id.label("risk_id"), AuditEvent.action,
                  AuditEvent.detail).where(AuditEvent.entity == "risk")
    if risk_id is not None:
        stmt = stmt.where(AuditEvent.entity_id == str(risk_id))
    return frame(session, stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit))


# --- account health ------------------------------------------------------------------------------------------


def order_defect_rate(defective_orders: int | None, orders: int | None) -> float | None:
    """ODR = orders with at least one defect / orders in the window."""
    return safe_ratio(defective_orders or 0, orders)


def cancel_rate(cancelled: int | None, live_orders: int | None) -> float | None:
    """Pre-fulfilment cancel rate = cancelled / (live + cancelled) orders placed."""
    return safe_ratio(cancelled or 0, (live_orders or 0) + (cancelled or 0))


def odr_window(end: dt.date) -> Filters:
    """The 60 days ending on `end`."""
    return Filters(end - dt.timedelta(days=thresholds.ODR_WINDOW_DAYS - 1), end)


def _by_channel(session: Session, filters: Filters, columns: dict, table) -> pd.DataFrame:
    stmt = select(Channel.code.label("channel"), *[func.sum(c).label(n) for n, c in columns.items()]) \
        .join(Channel, Channel.id == table.channel_id).group_by(Channel.code)
    stmt = where_filters(stmt, filters, day=table.day, market=table.market_code, channel_id=table.channel_id)
    return frame(session, stmt).set_index("channel")


def account_health(session: Session, filters: Filters) -> pd.DataFrame:
    """Per sales channel: ODR and its parts over the 60 days to the period's end, and the shipping and
    cancellation rates over the period; each rate with its band against the Amazon target."""
    window = Filters(odr_window(filters.end).start, filters.end, filters.markets, filters.channels)
    orders60 = _by_channel(session, window, {"orders": DailySales.orders}, DailySales)
    defects = _by_channel(session, window, {
        "negative_feedback": DailyAccountHealth.negative_feedback, "a_to_z_claims": DailyAccountHealth.a_to_z_claims,
        "chargebacks": DailyAccountHealth.chargebacks, "defective_orders": DailyAccountHealth.defective_orders,
    }, DailyAccountHealth)
    sales = _by_channel(session, filters, {"live": DailySales.orders, "cancelled": DailySales.cancelled_orders},
                        DailySales)
    delivery = _by_channel(session, filters, {
        "shipments": DailyDelivery.shipments, "late": DailyDelivery.late_dispatch,
        "valid": DailyDelivery.valid_tracking, "delivered": DailyDelivery.delivered,
        "on_time": DailyDelivery.delivered_on_time}, DailyDelivery)
    merged = orders60.join([defects, sales, delivery], how="outer").fillna(0)
    columns = ["channel", "orders_60d", "defective_orders", "negative_feedback", "a_to_z_claims", "chargebacks",
               "order_defect_rate", "late_shipment_rate", "cancel_rate", "valid_tracking_rate", "on_time_rate"]
    if merged.empty:
        return pd.DataFrame(columns=columns + [f"{m}_status" for m, *_ in HEALTH_LIMITS])
    out = pd.DataFrame({
        "channel": merged.index,
        "orders_60d": merged["orders"].astype(int).to_numpy(),
        "defective_orders": merged["defective_orders"].astype(int).to_numpy(),
        "negative_feedback": merged["negative_feedback"].astype(int).to_numpy(),
        "a_to_z_claims": merged["a_to_z_claims"].astype(int).to_numpy(),
        "chargebacks": merged["chargebacks"].astype(int).to_numpy(),
        "order_defect_rate": [order_defect_rate(d, o) for d, o in zip(merged["defective_orders"], merged["orders"])],
        "late_shipment_rate": [safe_ratio(a, b) for a, b in zip(merged["late"], merged["shipments"])],
        "cancel_rate": [cancel_rate(c, n) for c, n in zip(merged["cancelled"], merged["live"])],
        "valid_tracking_rate": [safe_ratio(a, b) for a, b in zip(merged["valid"], merged["shipments"])],
        "on_time_rate": [safe_ratio(a, b) for a, b in zip(merged["on_time"], merged["delivered"])],
    })
    for metric, limit, higher_is_worse in HEALTH_LIMITS:
        out[f"{metric}_status"] = [thresholds.band(v, limit, higher_is_worse=higher_is_worse) for v in out[metric]]
    return out.sort_values("channel").reset_index(drop=True)[
        columns + [f"{m}_status" for m, *_ in HEALTH_LIMITS]]


HEALTH_LIMITS = (
    ("order_defect_rate", thresholds.ORDER_DEFECT_RATE_MAX, True),
    ("late_shipment_rate", thresholds.LATE_SHIPMENT_RATE_MAX, True),
    ("cancel_rate", thresholds.PRE_FULFILMENT_CANCEL_RATE_MAX, True),
    ("valid_tracking_rate", thresholds.VALID_TRACKING_RATE_MIN, False),
    ("on_time_rate", thresholds.ON_TIME_DELIVERY_TARGET, False),
)


# --- threshold watch -----------------------------------------------------------------------------------------


def _totals(session: Session, filters: Filters) -> dict:
    def one(columns: dict, table) -> dict:
        stmt = where_filters(select(*[func.sum(c).label(n) for n, c in columns.items()]), filters, day=table.day,
                             market=table.market_code, channel_id=table.channel_id)
        return dict(session.execute(stmt).one()._mapping)

    window = Filters(odr_window(filters.end).start, filters.end, filters.markets, filters.channels)
    out = one({"live": DailySales.orders, "cancelled": DailySales.cancelled_orders}, DailySales)
    out |= one({"shipments": DailyDelivery.shipments, "late": DailyDelivery.late_dispatch,
                "valid": DailyDelivery.valid_tracking, "delivered": DailyDelivery.delivered,
                "on_time": DailyDelivery.delivered_on_time}, DailyDelivery)
    stmt = where_filters(select(func.sum(DailySales.orders)), window, day=DailySales.day,
                         market=DailySales.market_code, channel_id=DailySales.channel_id)
    out["orders60"] = session.scalar(stmt)
    stmt = where_filters(select(func.sum(DailyAccountHealth.defective_orders)), window, day=DailyAccountHealth.day,
                         market=DailyAccountHealth.market_code, channel_id=DailyAccountHealth.channel_id)
    out["defects60"] = session.scalar(stmt)
    return out


def _watch_values(session: Session, filters: Filters) -> dict[str, float | None]:
    t = _totals(session, filters)
    return {
        "order_defect_rate": order_defect_rate(t["defects60"], t["orders60"]),
        "late_shipment_rate": safe_ratio(t["late"], t["shipments"]),
        "cancel_rate": cancel_rate(t["cancelled"], t["live"]),
        "valid_tracking_rate": safe_ratio(t["valid"], t["shipments"]),
        "on_time_rate": safe_ratio(t["on_time"], t["delivered"]),
    }


def threshold_watch(session: Session, filters: Filters) -> pd.DataFrame:
    """Every monitored ratio: limit, value now, value in the previous period, change and band
    (ok / warning within 80 % of the limit / breach, `thresholds.band`).

    The account-health rates compare the period with the previous one of equal length; the card-scheme
    ratios come from core.payments.dispute_monitoring (Visa VAMP, Mastercard ECM) and compare the period's
    last month with the month before.
    """
    now, before = _watch_values(session, filters), _watch_values(session, filters.previous_period())
    rows = []
    for metric, limit, higher_is_worse in HEALTH_LIMITS:
        value, previous = now[metric], before[metric]
        rows.append(_watch_row(metric, limit, higher_is_worse, value, previous,
                               thresholds.band(value, limit, higher_is_worse=higher_is_worse)))
    rows += _card_scheme_rows(session, filters)
    return pd.DataFrame(rows)


def _watch_row(metric, limit, higher_is_worse, value, previous, status) -> dict:
    return {"metric": metric, "limit": limit, "direction": "max" if higher_is_worse else "min", "value": value,
            "previous": previous, "change": None if value is None or previous is None else value - previous,
            "status": status}


SCHEME_STATUS = {"excessive": "breach", "HECM": "breach", "ECM": "breach", "warning": "warning", "ok": "ok"}


def _card_scheme_rows(session: Session, filters: Filters) -> list[dict]:
    from core import payments

    months = payments.dispute_monitoring(session, filters)
    if months.empty:
        return []
    last = months.iloc[-1]
    prior = months.iloc[-2] if len(months) > 1 else None

    def value(row, column):
        return None if row is None or pd.isna(row[column]) else float(row[column])

    vamp = _watch_row("vamp_ratio", float(last["vamp_limit"]), True, value(last, "vamp_ratio"),
                      value(prior, "vamp_ratio"), SCHEME_STATUS[last["vamp_status"]])
    ecm_value = value(last, "chargeback_ratio")
    ecm_status = SCHEME_STATUS[last["ecm_status"]]
    if ecm_status == "ok":  # early warning at 80 % of the ECM ratio, before the chargeback count is reached
        ecm_status = "warning" if thresholds.band(ecm_value, thresholds.ECM_MIN_RATIO) != "ok" else "ok"
    ecm = _watch_row("mastercard_ecm_ratio", thresholds.ECM_MIN_RATIO, True, ecm_value,
                     value(prior, "chargeback_ratio"), ecm_status)
    return [vamp, ecm]


# --- concentration -------------------------------------------------------------------------------------------


def hhi(amounts: Iterable[float]) -> float | None:
    """Herfindahl-Hirschman index: sum of squared percentage shares (0-10,000); None when the total is 0."""
    values = [float(a) for a in amounts if a and float(a) > 0]
    total = sum(values)
    if not total:
        return None
    return sum((100.0 * v / total) ** 2 for v in values)


def hhi_band(index: float | None) -> str:
    """unconcentrated < 1,500 <= moderate <= 2,500 < high."""
    if index is None or index < thresholds.HHI_MODERATE:
        return "unconcentrated"
    return "moderate" if index <= thresholds.HHI_HIGH else "high"


def _with_shares(df: pd.DataFrame, amount: str) -> pd.DataFrame:
    df[amount] = df[amount].astype(float)
    total = df[amount].sum()
    df["share"] = df[amount] / total if total else 0.0
    return df.sort_values(amount, ascending=False).reset_index(drop=True)


def supplier_concentration(session: Session, filters: Filters) -> pd.DataFrame:
    """Purchase-order spend (units x unit cost, CNY) per supplier over POs placed in the period, with shares.
    Suppliers serve every market and channel, so only the dates apply."""
    df = frame(session, select(
        Supplier.name.label("supplier"), Supplier.city,
        func.sum(InboundShipment.quantity * InboundShipment.unit_cost_cny).label("spend_cny"),
        func.count(distinct(InboundShipment.product_id)).label("skus"),
    ).join(Supplier, Supplier.id == InboundShipment.supplier_id)
        .where(InboundShipment.ordered_on >= filters.start, InboundShipment.ordered_on <= filters.end)
        .group_by(Supplier.name, Supplier.city))
    return _with_shares(df, "spend_cny") if not df.empty else df.assign(share=pd.Series(dtype=float))


def market_concentration(session: Session, filters: Filters) -> pd.DataFrame:
    """Net revenue per market in the reporting currency, with shares. The market filter is ignored:
    concentration is about how revenue spreads over all markets."""
    ccy = filters.currency
    everywhere = Filters(filters.start, filters.end, (), filters.channels, ccy)
    stmt = select(DailySales.market_code.label("market"),
                  func.sum(in_currency(DailySales.net_revenue_usd, ccy)).label("revenue")).select_from(DailySales)
    stmt = where_filters(join_fx(stmt, DailySales.day, ccy), everywhere, day=DailySales.day,
                         market=DailySales.market_code, channel_id=DailySales.channel_id)
    df = frame(session, stmt.group_by(DailySales.market_code))
    return _with_shares(df, "revenue") if not df.empty else df.assign(share=pd.Series(dtype=float))


def currency_exposure(session: Session, filters: Filters) -> pd.DataFrame:
    """Per currency: revenue earned in it (markets' currencies), costs paid in it (landed product cost in CNY,
    carriage and duty in USD) and the net exposure, in the reporting currency; share = share of revenue.
    Every amount is the profit ledger's (core.profit), so it is the same revenue and cost the Profit page shows."""
    names = ("net_revenue", "shipping_income", "product_cost", "write_off", "shipping", "fulfilment_fees", "duty")
    df = profit.lines(session, filters, "market", names)
    columns = ["currency", "revenue", "costs", "net", "share"]
    if df.empty:
        return pd.DataFrame(columns=columns)
    currencies = dict(session.execute(select(Market.code, Market.currency)).all())
    df["currency"] = df["market_code"].map(currencies)  # '' (storage of unsold stock) has no revenue currency
    df["revenue"] = df["net_revenue"] + df["shipping_income"]
    costs = {"CNY": float((df["product_cost"] + df["write_off"]).sum()),
             "USD": float((df["shipping"] + df["fulfilment_fees"] + df["duty"]).sum())}
    earned = df.dropna(subset=["currency"]).groupby("currency")["revenue"].sum().to_dict()
    out = pd.DataFrame({"currency": sorted(set(earned) | set(costs))})
    out["revenue"] = out["currency"].map(earned).fillna(0.0)
    out["costs"] = out["currency"].map(costs).fillna(0.0)
    out["net"] = out["revenue"] - out["costs"]
    total = out["revenue"].sum()
    out["share"] = out["revenue"] / total if total else 0.0
    return out.sort_values("revenue", ascending=False).reset_index(drop=True)[columns]


def single_points_of_failure(session: Session, filters: Filters) -> pd.DataFrame:
    """SKUs bought from one supplier only (over all purchase orders) earning >= 2 % of net revenue over the
    whole months the period touches (from the monthly SKU summary, so a filter change never scans order lines);
    revenue in EUR or CNY uses the average of the months' mean rates."""
    ccy = filters.currency
    months = Filters(filters.start.replace(day=1), filters.end, filters.markets, filters.channels)
    revenue = select(MonthlySkuSales.product_id, func.sum(MonthlySkuSales.net_revenue_usd).label("revenue_usd"))
    revenue = where_filters(revenue, months, day=MonthlySkuSales.month, market=MonthlySkuSales.market_code,
                            channel_id=MonthlySkuSales.channel_id).group_by(MonthlySkuSales.product_id)
    by_sku = frame(session, revenue)
    columns = ["sku", "name", "supplier", "suppliers", "revenue", "share"]
    if by_sku.empty:
        return pd.DataFrame(columns=columns)
    by_sku["revenue_usd"] = by_sku["revenue_usd"].astype(float)
    total = by_sku["revenue_usd"].sum()
    by_sku["share"] = by_sku["revenue_usd"] / total if total else 0.0
    big = by_sku[by_sku["share"] >= thresholds.SPOF_REVENUE_SHARE_MIN]
    if big.empty:
        return pd.DataFrame(columns=columns)
    ids = [int(i) for i in big["product_id"]]
    sources = frame(session, select(InboundShipment.product_id,
                                    func.count(distinct(InboundShipment.supplier_id)).label("suppliers"))
                    .where(InboundShipment.product_id.in_(ids)).group_by(InboundShipment.product_id))
    products = frame(session, select(Product.id.label("product_id"), Product.sku, Product.name,
                                     Supplier.name.label("supplier"))
                     .outerjoin(Supplier, Supplier.id == Product.supplier_id).where(Product.id.in_(ids)))
    out = big.merge(products, on="product_id").merge(sources, on="product_id", how="left")
    out["suppliers"] = out["suppliers"].fillna(1).clip(lower=1).astype(int)
    out = out[out["suppliers"] == 1]
    rate = overview._monthly_average_rate(session, ccy, filters.start, filters.end) if ccy != "USD" else {}
    factor = sum(rate.values()) / len(rate) if rate else 1.0
    out = out.assign(revenue=out["revenue_usd"] * factor)
    return out.sort_values("share", ascending=False).reset_index(drop=True)[columns]


# --- policy changes ------------------------------------------------------------------------------------------


def policy_register(session: Session, today: dt.date) -> pd.DataFrame:
    """Dated rule changes, newest first, with their markets, linked SKUs, days until (negative: in force
    for that long) and the estimated monthly cost impact in USD (None where the landed-cost engine
    cannot price the change)."""
    changes = frame(session, select(PolicyChange.id, PolicyChange.code, PolicyChange.effective_on,
                                    PolicyChange.title, PolicyChange.kind, PolicyChange.authority,
                                    PolicyChange.summary, PolicyChange.service_code)
                    .order_by(PolicyChange.effective_on.desc()))
    columns = ["id", "effective_on", "title", "kind", "authority", "markets", "skus", "days_until", "status",
               "monthly_impact_usd", "summary"]
    if changes.empty:
        return pd.DataFrame(columns=columns)
    markets = frame(session, select(PolicyChangeMarket.policy_change_id, PolicyChangeMarket.market_code))
    skus = frame(session, select(PolicyChangeSku.policy_change_id, Product.sku).join(
        Product, Product.id == PolicyChangeSku.product_id))
    by_change = markets.groupby("policy_change_id")["market_code"].apply(lambda s: ", ".join(sorted(s)))
    sku_lists = skus.groupby("policy_change_id")["sku"].apply(lambda s: ", ".join(sorted(s)))
    changes["markets"] = changes["id"].map(by_change).fillna("")
    changes["skus"] = changes["id"].map(sku_lists).fillna("")
    changes["days_until"] = [(d - today).days for d in changes["effective_on"]]
    changes["status"] = ["upcoming" if d > 0 else "in_force" for d in changes["days_until"]]
    changes["monthly_impact_usd"] = [policy_monthly_impact(session, int(i), today) for i in changes["id"]]
    return changes[columns]


def monthly_impact(per_unit_change: Iterable[tuple[float, float]]) -> float:
    """Sum of (landed cost after - landed cost before, per unit) x units per month."""
    return sum(delta * units for delta, units in per_unit_change)


def policy_monthly_impact(session: Session, change_id: int, today: dt.date) -> float | None:
    """Estimated extra landed cost per month (USD) of a change at last month's volumes (the last full
    calendar month before `today`, from the monthly SKU summary)."""
    change = session.get(PolicyChange, change_id)
    if change is None or not change.service_code:
        return None
    from core.landed_cost import LandedCostError, landed_cost

    markets = list(session.scalars(select(PolicyChangeMarket.market_code)
                                   .where(PolicyChangeMarket.policy_change_id == change_id)))
    products = list(session.scalars(select(Product).join(PolicyChangeSku, PolicyChangeSku.product_id == Product.id)
                                    .where(PolicyChangeSku.policy_change_id == change_id)))
    if not markets or not products:
        return None
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    units = {(p, m): int(u) for p, m, u in session.execute(
        select(MonthlySkuSales.product_id, MonthlySkuSales.market_code, func.sum(MonthlySkuSales.units))
        .where(MonthlySkuSales.product_id.in_([p.id for p in products]), MonthlySkuSales.market_code.in_(markets),
               MonthlySkuSales.month == last_month)
        .group_by(MonthlySkuSales.product_id, MonthlySkuSales.market_code))}
    before = change.effective_on - dt.timedelta(days=1)
    pairs = []
    for product in products:
        for market in markets:
            sold = units.get((product.id, market), 0)
            if not sold:
                continue
            kwargs = dict(market_code=market, service_code=change.service_code, units=1,
                          unit_value_usd=float(product.list_price_usd), unit_weight_kg=product.weight_kg,
                          dims_cm=(product.length_cm, product.width_cm, product.height_cm),
                          category_id=product.category_id)
            try:
                delta = landed_cost(session, on=change.effective_on, **kwargs).total - \
                    landed_cost(session, on=before, **kwargs).total
            except LandedCostError:
                continue
            pairs.append((delta, sold))
    return monthly_impact(pairs) if pairs else (0.0 if units == {} else None)


# --- compliance checklist ------------------------------------------------------------------------------------


def compliance_checklist(session: Session, markets: tuple[str, ...] = ()) -> pd.DataFrame:
    stmt = select(ComplianceItem.id, ComplianceItem.market_code, ComplianceItem.area, ComplianceItem.requirement,
                  ComplianceItem.status, ComplianceItem.owner, ComplianceItem.due_on, ComplianceItem.note,
                  ComplianceItem.updated_by, ComplianceItem.updated_at)
    if markets:
        stmt = stmt.where(ComplianceItem.market_code.in_(markets))
    return frame(session, stmt.order_by(ComplianceItem.market_code, ComplianceItem.area, ComplianceItem.id))


def compliance_summary(checklist: pd.DataFrame) -> pd.DataFrame:
    """Per market: items, done, and the share done of the applicable ones (not_applicable excluded)."""
    if checklist.empty:
        return pd.DataFrame(columns=["market_code", "items", "done", "missing", "done_share"])
    applicable = checklist[checklist["status"] != "not_applicable"]
    grouped = applicable.groupby("market_code")["status"]
    out = pd.DataFrame({"items": grouped.size(), "done": grouped.apply(lambda s: int((s == "done").sum())),
                        "missing": grouped.apply(lambda s: int((s == "missing").sum()))}).reset_index()
    out["done_share"] = out["done"] / out["items"]
    return out


def update_compliance_item(session: Session, actor: str, item_id: int, **changes) -> dict:
    """Change status, owner, due date or note of a checklist item (managers and above), audited."""
    users.authorize(session, actor, "manager")
    item = session.get(ComplianceItem, item_id)
    if item is None:
        raise InvalidRiskInput(f"No compliance item with id {item_id}")
    clean = {}
    for key, value in changes.items():
        if key not in EDITABLE_COMPLIANCE_FIELDS:
            raise InvalidRiskInput(f"Unknown compliance field '{key}'")
        if key == "status" and value not in COMPLIANCE_STATUSES:
            raise InvalidRiskInput(f"Status must be one of {', '.join(COMPLIANCE_STATUSES)}")
        if key in ("owner", "note"):
            value = (value or "").strip()
            value = value[:60] if key == "owner" else value
        if key == "due_on" and value is not None:
            if isinstance(value, dt.datetime):
                value = value.date()
            elif isinstance(value, str):
                value = dt.date.fromisoformat(value)
        clean[key] = value
    diff = {k: (getattr(item, k), v) for k, v in clean.items() if getattr(item, k) != v}
    if not diff:
        return {}
    for key, (_, new) in diff.items():
        setattr(item, key, new)
    item.updated_by, item.updated_at = actor, _now()
    _audit(session, actor, "compliance_item", item_id, "update", diff)
    return diff
