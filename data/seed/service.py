"""Customer-service tickets: who writes in and why (driven by what happened to the order), when, on which
channel and in which language, first response and resolution times, and CSAT.
"""

from __future__ import annotations

import numpy as np

from data.seed.arrays import as_days, compose_text, digit_codes, pick_per_row, to_day_numbers
from data.seed.calendar import weekday_of
from data.seed.catalogue import Catalogue
from data.seed.context import Context
from data.seed.orders import Orders
from data.seed.pricing import Lines
from data.seed.reference import SHOPIFY
from data.seed.returns import RETURN_REASONS, Returns
from data.seed.shipments import Shipments, shipment_of_order

TICKET_REASONS = ("where_is_my_order", "damaged", "wrong_item", "return_request", "refund_status",
                  "product_question", "address_change", "customs_fees")
BORDER_TAX_MARKETS = ("CA", "MX", "JP", "SA")  # tax collected from the buyer at the door


def _ticket_rates(ctx: Context, catalogue: Catalogue, orders: Orders, lines: Lines, shipments: Shipments,
                  returns: Returns) -> tuple[np.ndarray, dict]:
    """Per order and reason, the chance the buyer writes in, driven by what happened to the order."""
    ship = shipment_of_order(orders.n, shipments)
    shipped = ship >= 0
    s = np.maximum(ship, 0)
    status = np.where(shipped, shipments.status[s], "none")
    late = shipped & shipments.late_delivery[s]
    never_arrived = np.isin(status, ("lost", "returned_to_sender"))
    overdue = (status == "in_transit") & ~np.isnat(shipments.shipped_at[s]) & (
        shipments.shipped_at[s] + (shipments.promised_days[s] * 86_400).astype("timedelta64[s]") < ctx.cal.now)
    reason_of = {r: np.zeros(orders.n, dtype=bool) for r in RETURN_REASONS}
    for reason in RETURN_REASONS:
        reason_of[reason][returns.order[returns.reason == reason]] = True
    any_return = np.zeros(orders.n, dtype=bool)
    any_return[returns.order] = True
    fragile = np.bincount(lines.order, weights=catalogue.frame["fragile"].to_numpy(bool)[lines.product],
                          minlength=orders.n) > 0
    postal = shipped & (shipments.mode[s] == "postal")
    border_tax = shipped & (shipments.route[s] == "cn") & np.isin(ctx.market_codes[orders.market],
                                                                  BORDER_TAX_MARKETS)
    refunded = (orders.refunded_usd > 0) & ~orders.cancelled
    rates = np.column_stack([
        0.015 + 0.3 * late + 0.6 * never_arrived + 0.3 * overdue + 0.015 * postal,  # where_is_my_order
        0.003 + 0.6 * reason_of["damaged"] + 0.004 * fragile,  # damaged
        0.004 + 0.35 * reason_of["not_as_described"],  # wrong_item
        0.45 * (any_return & ~reason_of["damaged"] & ~reason_of["not_as_described"]),  # return_request
        0.2 * refunded,  # refund_status
        np.full(orders.n, 0.012),  # product_question
        0.006 + 0.01 * orders.cancelled,  # address_change
        0.04 * border_tax,  # customs_fees
    ])
    flags = {"late": late | never_arrived, "ship": ship}
    return rates, flags


def _ticket_times(ctx: Context, orders: Orders, shipments: Shipments, returns: Returns, picked, reason, ship,
                  rng) -> np.ndarray:
    k = len(picked)
    s = np.maximum(ship[picked], 0)
    ordered = orders.ordered_at[picked]
    fallback = ordered + rng.integers(7 * 86_400, 20 * 86_400, k).astype("timedelta64[s]")
    shipped_at = np.where(ship[picked] >= 0, shipments.shipped_at[s], np.datetime64("NaT"))
    delivered = np.where(ship[picked] >= 0, shipments.delivered_at[s], np.datetime64("NaT"))
    promised = np.where(ship[picked] >= 0, shipments.promised_days[s], 10)
    after_promise = shipped_at + (promised * 86_400 + rng.integers(0, 3 * 86_400, k)).astype("timedelta64[s]")
    after_delivery = delivered + rng.integers(2 * 3600, 3 * 86_400, k).astype("timedelta64[s]")
    first_return = np.full(orders.n, np.iinfo(np.int64).max)
    np.minimum.at(first_return, returns.order, returns.requested_day)
    requested = first_return[picked]
    after_return = as_days(np.where(requested < np.iinfo(np.int64).max, requested, 0)).astype("datetime64[s]") + \
        rng.integers(5 * 86_400, 15 * 86_400, k).astype("timedelta64[s]")
    after_return = np.where(requested < np.iinfo(np.int64).max, after_return, np.datetime64("NaT"))
    at = np.select(
        [reason == "where_is_my_order", np.isin(reason, ("damaged", "wrong_item", "return_request")),
         reason == "refund_status", reason == "product_question", reason == "address_change",
         reason == "customs_fees"],
        [after_promise, after_delivery, after_return,
         ordered + rng.integers(600, 5 * 86_400, k).astype("timedelta64[s]"),
         ordered + rng.integers(1800, 12 * 3600, k).astype("timedelta64[s]"),
         delivered - rng.integers(0, 86_400, k).astype("timedelta64[s]")],
        default=np.datetime64("NaT", "s"),
    )
    return np.where(np.isnat(at), fallback, at)


def build_tickets(ctx: Context, catalogue: Catalogue, orders: Orders, lines: Lines, shipments: Shipments,
                  returns: Returns) -> dict:
    rng = ctx.rng("tickets")
    rates, flags = _ticket_rates(ctx, catalogue, orders, lines, shipments, returns)
    writes_in = rng.random(orders.n) < 1 - np.prod(1 - np.clip(rates, 0, 0.95), axis=1)
    picked = np.flatnonzero(writes_in)
    reason = np.asarray(TICKET_REASONS, dtype=object)[pick_per_row(rng, rates[picked])]
    created = _ticket_times(ctx, orders, shipments, returns, picked, reason, flags["ship"], rng)
    keep = created < ctx.cal.now
    picked, reason, created = picked[keep], reason[keep], created[keep]
    order = np.argsort(created, kind="stable")
    picked, reason, created = picked[order], reason[order], created[order]
    k = len(picked)

    store = orders.channel[picked] == SHOPIFY
    channel = np.where(store, np.where(rng.random(k) < 0.45, "chat", "email"),
                       np.where(rng.random(k) < 0.75, "marketplace", "email")).astype(object)
    created_day = to_day_numbers(created.astype("datetime64[D]"))
    weekend = weekday_of(created_day) >= 5
    hours = np.where(channel == "chat", rng.lognormal(np.log(0.4), 0.8, k), rng.lognormal(np.log(7), 1.0, k))
    hours = hours + weekend * (channel != "chat") * rng.uniform(10, 40, k)
    first_response = created + (hours * 3600).astype("timedelta64[s]")
    responded = (first_response < ctx.cal.now) & (rng.random(k) < 0.99)
    resolve_hours = rng.lognormal(np.log(20), 1.1, k)
    resolved_at = first_response + (resolve_hours * 3600).astype("timedelta64[s]")
    resolved = responded & (resolved_at < ctx.cal.now) & (rng.random(k) < 0.97)
    score = (4.4 - 1.3 * flags["late"][picked] - 1.1 * (reason == "damaged") - 0.5 * (reason == "wrong_item")
             - 0.4 * (hours > 24) - 0.3 * (reason == "customs_fees") + rng.normal(0, 0.8, k))
    answered = resolved & (rng.random(k) < 0.55)
    ids = np.arange(1, k + 1)
    return {
        "id": ids, "ticket_ref": compose_text(k, "CS-", digit_codes(ids, 7)), "order_id": picked + 1,
        "market_code": ctx.market_codes[orders.market[picked]], "channel": channel, "reason": reason,
        "language": _ticket_language(ctx, orders.market[picked], rng), "created_at": created,
        "created_date": as_days(created_day),
        "first_response_at": np.where(responded, first_response, np.datetime64("NaT")),
        "resolved_at": np.where(resolved, resolved_at, np.datetime64("NaT")),
        "csat": np.where(answered, np.clip(np.round(score), 1, 5), np.nan),
    }


def _ticket_language(ctx: Context, market: np.ndarray, rng) -> np.ndarray:
    language = ctx.ref.markets["language"].to_numpy(dtype=object)[market]
    code = ctx.market_codes[market]
    u = rng.random(len(market))
    language = np.where((code == "NL") & (u < 0.3), "en", language)
    language = np.where((code == "SA") & (u < 0.35), "en", language)
    return np.where((code == "CA") & (u < 0.15), "fr", language).astype(object)
