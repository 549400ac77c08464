"""Payments: each order's successful charge, declined attempts before it, abandoned checkouts, card-testing
bursts, disputes and reported fraud, gateway or marketplace fees, and payout (settlement) days.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data.seed.arrays import (
    as_days,
    choice,
    compose_text,
    group_indices,
    hex_codes,
    hex_tokens,
    lookup,
    mix64,
    round_money,
    to_day_numbers,
)
from data.seed.context import Context
from data.seed.fx import CURRENCIES
from data.seed.orders import Orders
from data.seed.reference import CHANNEL_CODES, SHOPIFY
from data.seed.shipments import Shipments, shipment_of_order

DECLINE_REASONS = (("insufficient_funds", 0.35), ("do_not_honor", 0.30), ("fraud_suspected", 0.10),
                   ("expired_card", 0.10), ("3ds_failed", 0.15))
DISPUTE_REASONS = (("fraudulent", 0.45), ("product_not_received", 0.25), ("product_unacceptable", 0.15),
                   ("duplicate", 0.05), ("credit_not_processed", 0.10))
FOREIGN_CARD_COUNTRIES = ("NG", "BR", "ID", "VN", "UA", "PK", "RO", "PH")
# Share of disputes the merchant wins once it submits evidence, by reason: tracking wins "not received",
# card-not-present fraud claims are mostly lost. About 35-40 % overall, the usual figure for online sellers.
DISPUTE_WIN_RATE = {"fraudulent": 0.28, "product_not_received": 0.55, "product_unacceptable": 0.35,
                    "duplicate": 0.6, "credit_not_processed": 0.45}
DISPUTE_PENDING_DAYS = 45  # disputes raised this close to the end date are still open
PAYOUT_ANCHOR = np.datetime64("2023-01-03")  # a Tuesday: marketplace payout cycles count from here


def plan_payment_methods(ctx: Context, orders: Orders) -> dict:
    """Method and gateway of each order's successful payment: marketplaces pay out themselves."""
    rng = ctx.rng("payment-methods")
    method = np.full(orders.n, "marketplace", dtype=object)
    gateway = np.asarray(CHANNEL_CODES, dtype=object)[orders.channel]
    mix = ctx.ref.payment_methods
    store = orders.channel == SHOPIFY
    for market, positions in group_indices(np.where(store, orders.market, -1)).items():
        if market < 0:
            continue
        options = mix[mix["market_code"] == ctx.market_codes[market]]
        pick = rng.choice(len(options), size=len(positions), p=options["share"].to_numpy(float))
        method[positions] = options["method"].to_numpy(dtype=object)[pick]
        gateway[positions] = options["gateway"].to_numpy(dtype=object)[pick]
    return {"method": method, "gateway": gateway}


def _payment_columns(n: int) -> dict:
    return {
        "order": np.full(n, -1, dtype=np.int64), "customer_id": np.full(n, np.nan), "market": np.zeros(n, dtype=int),
        "channel": np.zeros(n, dtype=int), "attempted_at": np.zeros(n, dtype="datetime64[s]"),
        "method": np.empty(n, dtype=object), "gateway": np.empty(n, dtype=object), "amount": np.zeros(n),
        "status": np.full(n, "declined", dtype=object), "decline_reason": np.full(n, None, dtype=object),
        "card_country": np.full(n, None, dtype=object), "ip_country": np.full(n, None, dtype=object),
        "card_fingerprint": np.full(n, None, dtype=object), "ip_hash": np.full(n, None, dtype=object),
        "disputed_day": np.full(n, np.nan), "dispute_reason": np.full(n, None, dtype=object),
        "fraud_reported": np.zeros(n, dtype=bool), "refunded_usd": np.zeros(n),
    }


def _concat_columns(parts: list[dict]) -> dict:
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def _countries_and_devices(ctx: Context, orders: Orders, cols: dict, rng) -> None:
    """Card and IP countries, card fingerprints and IP hashes for the store's own checkouts."""
    n = len(cols["order"])
    store = cols["channel"] == SHOPIFY
    home = ctx.market_codes[cols["market"]]
    other = ctx.market_codes[rng.integers(0, ctx.n_markets, n)]
    card_like = np.isin(cols["method"], ("card", "wallet"))
    cols["card_country"] = np.where(card_like, np.where(rng.random(n) < 0.02, other, home), None).astype(object)
    ip_other = ctx.market_codes[rng.integers(0, ctx.n_markets, n)]
    cols["ip_country"] = np.where(store, np.where(rng.random(n) < 0.03, ip_other, home), None).astype(object)
    customer = np.nan_to_num(cols["customer_id"], nan=0).astype(np.int64)
    fresh = np.arange(n, dtype=np.int64) + 10**12  # token seeds that never collide with a customer id
    own_card = card_like & (customer > 0) & (rng.random(n) < 0.85)
    cols["card_fingerprint"] = _device_tokens(n, card_like, own_card, customer, fresh, 16, salts=(11, 12))
    own_device = store & (customer > 0) & (rng.random(n) < 0.75)
    cols["ip_hash"] = _device_tokens(n, store, own_device, customer, fresh, 32, salts=(13, 14))


def _device_tokens(n: int, applies, reused, customer, fresh, width: int, salts: tuple[int, int]) -> np.ndarray:
    """The customer's usual card/device token where `reused`, a one-off token elsewhere, NULL where not applicable."""
    tokens = np.full(n, None, dtype=object)
    tokens[reused] = hex_tokens(customer[reused], salts[0], width)
    one_off = applies & ~reused
    tokens[one_off] = hex_tokens(fresh[one_off], salts[1], width)
    return tokens


def _successful_payments(ctx: Context, orders: Orders, plan: dict) -> dict:
    cols = _payment_columns(orders.n)
    cols["order"] = np.arange(orders.n)
    cols["customer_id"] = orders.customer.astype(float)
    cols["market"], cols["channel"] = orders.market, orders.channel
    cols["attempted_at"] = orders.ordered_at
    cols["method"], cols["gateway"] = plan["method"], plan["gateway"]
    cols["amount"] = orders.order_total
    full_refund = orders.refunded_usd >= orders.gmv_usd - 0.01
    cols["status"] = np.where(full_refund, "refunded", "succeeded").astype(object)
    cols["refunded_usd"] = orders.refunded_usd
    return cols


def _declined_before_success(ctx: Context, orders: Orders, success: dict, rng) -> dict:
    """Some card checkouts fail once or twice before the buyer gets through."""
    card_like = np.isin(success["method"], ("card", "wallet"))
    risky = np.isin(ctx.market_codes[orders.market], ("MX", "SA"))
    p = np.where(risky, 0.09, 0.05) + 0.02 * orders.is_first
    failed = np.flatnonzero(card_like & (rng.random(orders.n) < p))
    failed = np.repeat(failed, np.where(rng.random(len(failed)) < 0.8, 1, 2))
    cols = {key: values[failed] for key, values in success.items()}
    cols["attempted_at"] = cols["attempted_at"] - rng.integers(60, 900, len(failed)).astype("timedelta64[s]")
    cols["status"] = np.full(len(failed), "declined", dtype=object)
    cols["refunded_usd"] = np.zeros(len(failed))
    return cols


def _abandoned_declines(ctx: Context, orders: Orders, success: dict, rng) -> dict:
    """Declined checkouts that never became an order (guest buyers, no order id)."""
    card_like = np.flatnonzero(np.isin(success["method"], ("card", "wallet")))
    chosen = card_like[rng.random(len(card_like)) < 0.02]
    cols = {key: values[chosen] for key, values in success.items()}
    k = len(chosen)
    cols["order"] = np.full(k, -1, dtype=np.int64)
    cols["customer_id"] = np.full(k, np.nan)
    cols["attempted_at"] = cols["attempted_at"] + rng.integers(-6 * 3600, 6 * 3600, k).astype("timedelta64[s]")
    cols["amount"] = round_money(cols["amount"] * rng.uniform(0.5, 1.5, k), ctx.zero_decimal[cols["market"]])
    cols["status"] = np.full(k, "declined", dtype=object)
    cols["refunded_usd"] = np.zeros(k)
    return cols


def _fraud_bursts(ctx: Context, n_orders: int, rng) -> dict:
    """Card-testing bursts: many small attempts within an hour from one device or one card."""
    n_bursts = max(3, round(n_orders / 20_000))
    sizes = rng.integers(10, 41, n_bursts)
    burst = np.repeat(np.arange(n_bursts), sizes)
    k = len(burst)
    cols = _payment_columns(k)
    shares = np.array([p.share * p.channel_mix[SHOPIFY] for p in ctx.profiles])
    market = rng.choice(ctx.n_markets, size=n_bursts, p=shares / shares.sum())[burst]
    cols["market"], cols["channel"] = market, np.full(k, SHOPIFY)
    # Recent enough to matter, early enough that the hour fits before the end date.
    start = ctx.cal.now - np.timedelta64(2, "h") - rng.integers(0, 180 * 86_400, n_bursts).astype("timedelta64[s]")
    cols["attempted_at"] = start[burst] + rng.integers(0, 3600, k).astype("timedelta64[s]")
    cols["method"], cols["gateway"] = np.full(k, "card", dtype=object), np.full(k, "stripe", dtype=object)
    usd = rng.uniform(1, 5, k)
    cols["amount"] = round_money(usd * ctx.fx.rate(to_day_numbers(cols["attempted_at"].astype("datetime64[D]")),
                                                    ctx.market_currency[market]), ctx.zero_decimal[market])
    cols["decline_reason"] = choice(rng, (("fraud_suspected", "do_not_honor", "insufficient_funds",
                                            "expired_card", "3ds_failed"), (0.4, 0.3, 0.15, 0.1, 0.05)), k)
    foreign = np.asarray(FOREIGN_CARD_COUNTRIES, dtype=object)
    cols["card_country"] = foreign[rng.integers(0, len(foreign), k)]
    cols["ip_country"] = foreign[rng.integers(0, len(foreign), n_bursts)][burst]
    # Half the bursts test many cards from one device, the other half one stolen card from many devices.
    one_device = (rng.random(n_bursts) < 0.5)[burst]
    burst_ids = burst + 10**15  # token seeds apart from customer ids
    attempt_ids = np.arange(k) + 10**15
    cols["ip_hash"] = np.where(one_device, hex_tokens(burst_ids, 21, 32),
                               hex_tokens(attempt_ids, 22, 32)).astype(object)
    cols["card_fingerprint"] = np.where(one_device, hex_tokens(attempt_ids, 23, 16),
                                        hex_tokens(burst_ids, 24, 16)).astype(object)
    return cols


def _disputes_and_fraud(ctx: Context, orders: Orders, cols: dict, rng) -> None:
    n = len(cols["order"])
    store = cols["channel"] == SHOPIFY
    settled = (cols["status"] != "declined") & (cols["order"] >= 0)
    disputable = settled & store & np.isin(cols["method"], ("card", "wallet", "paypal", "klarna"))
    order = np.where(cols["order"] >= 0, cols["order"], 0)
    # High-value first orders paid with a foreign card from a foreign IP: the classic fraud shape.
    big_first = disputable & orders.is_first[order] & np.isin(cols["method"], ("card", "wallet"))
    threshold = np.quantile(orders.gmv_usd[orders.channel == SHOPIFY], 0.97) if store.any() else np.inf
    suspicious = big_first & (orders.gmv_usd[order] > threshold) & (rng.random(n) < 0.3)
    foreign = np.asarray(FOREIGN_CARD_COUNTRIES, dtype=object)
    cols["card_country"] = np.where(suspicious, foreign[rng.integers(0, len(foreign), n)], cols["card_country"])
    cols["ip_country"] = np.where(suspicious & (rng.random(n) < 0.7), foreign[rng.integers(0, len(foreign), n)],
                                  cols["ip_country"])
    fraud = suspicious & (rng.random(n) < 0.4)
    disputed = (disputable & (rng.random(n) < 0.004)) | fraud
    reason = np.where(fraud, "fraudulent", choice(rng, tuple(zip(*DISPUTE_REASONS)), n)).astype(object)
    attempt_day = to_day_numbers(cols["attempted_at"].astype("datetime64[D]"))
    disputed_day = attempt_day + rng.integers(10, 76, n)
    disputed &= disputed_day <= ctx.cal.end_day
    cols["disputed_day"] = np.where(disputed, disputed_day, np.nan)
    cols["dispute_reason"] = np.where(disputed, reason, None).astype(object)
    cols["status"] = np.where(disputed, "disputed", cols["status"]).astype(object)
    cols["fraud_reported"] = (disputed & (reason == "fraudulent")) | (disputable & (rng.random(n) < 0.001))


def _fee_terms(ctx: Context, cols: dict) -> pd.DataFrame:
    """The payment_fees.csv row that applies to each payment (by gateway and method)."""
    fees = ctx.ref.payment_fees
    row_of = dict(zip(fees["gateway"] + "|" + fees["method"], range(len(fees))))
    rows = lookup(cols["gateway"] + "|" + cols["method"], row_of, np.int64)
    return fees.iloc[rows].reset_index(drop=True)


def _payment_fees(ctx: Context, cols: dict, terms: pd.DataFrame, usd_per_unit: np.ndarray,
                  referral_fee: np.ndarray) -> np.ndarray:
    """Gateway fees (percentage, fixed, cross-border card, FX) or the marketplace referral fee: the order's
    lines at the dated category rates of marketplace_fees.csv (`referral_fee`, per order, local currency)."""
    marketplace = cols["method"] == "marketplace"
    pct = np.where(marketplace, 0.0, terms["pct"].to_numpy(float))
    foreign_card = np.isin(cols["method"], ("card", "wallet")) & (cols["card_country"] != "US")
    foreign_currency = ctx.market_currency[cols["market"]] != CURRENCIES.index("USD")
    rate = pct + terms["cross_border_pct"].to_numpy(float) * foreign_card + \
        terms["fx_pct"].to_numpy(float) * foreign_currency
    fee = cols["amount"] * rate + terms["fixed_usd"].to_numpy(float) / usd_per_unit + \
        np.where(marketplace, referral_fee[np.maximum(cols["order"], 0)], 0.0)
    return np.where(cols["status"] == "declined", 0.0, round_money(fee, ctx.zero_decimal[cols["market"]]))


def _settlement_days(ctx: Context, orders: Orders, shipments: Shipments, cols: dict, terms: pd.DataFrame) -> np.ndarray:
    """Payout day: gateways pay a few days after capture, marketplaces and COD couriers after delivery on a cycle."""
    hold = terms["settle_hold_days"].to_numpy(float)
    interval = terms["payout_interval_days"].to_numpy(float)
    attempt_day = to_day_numbers(cols["attempted_at"].astype("datetime64[D]")).astype(float)
    ship = shipment_of_order(orders.n, shipments)[np.maximum(cols["order"], 0)]
    delivered_at = np.where(ship >= 0, shipments.delivered_at[np.maximum(ship, 0)], np.datetime64("NaT"))
    delivered_day = np.where(np.isnat(delivered_at), np.nan, to_day_numbers(delivered_at.astype("datetime64[D]")))
    marketplace = cols["method"] == "marketplace"
    eligible = np.where(marketplace | (cols["method"] == "cod"), delivered_day, attempt_day)
    # Marketplaces release funds for parcels never scanned as delivered after a fixed reserve.
    eligible = np.where(marketplace & np.isnan(eligible), attempt_day + 10, eligible) + hold
    anchor = float(PAYOUT_ANCHOR.astype(np.int64))
    settled = anchor + np.ceil((eligible - anchor) / interval) * interval
    settled[(cols["status"] == "declined") | (settled > ctx.cal.end_day)] = np.nan
    return settled


def _payment_refs(gateway: np.ndarray, ids: np.ndarray) -> np.ndarray:
    prefixes = {"stripe": "pi_", "adyen": "psp_", "paypal": "PAY-", "cod": "COD-", "amazon": "AMZP-",
                "ebay": "EBP-", "tiktok": "TTP-"}
    refs = np.empty(len(ids), dtype=object)
    for name, positions in group_indices(gateway).items():
        refs[positions] = compose_text(len(positions), prefixes[name], hex_codes(mix64(ids[positions], 31), 16))
    return refs


def _dispute_outcomes(ctx: Context, cols: dict, terms: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Outcome (won, lost, pending; None without a dispute) and the gateway's dispute fee, charged won or lost."""
    rng = ctx.rng("dispute-outcomes")
    n = len(cols["order"])
    disputed = ~np.isnan(cols["disputed_day"])
    win_p = lookup(np.where(disputed, cols["dispute_reason"], "fraudulent"), DISPUTE_WIN_RATE, float)
    won = rng.random(n) < win_p
    pending = disputed & (cols["disputed_day"] > ctx.cal.end_day - DISPUTE_PENDING_DAYS)
    outcome = np.full(n, None, dtype=object)
    outcome[disputed] = np.where(won, "won", "lost")[disputed]
    outcome[pending] = "pending"
    fee = np.where(disputed, terms["dispute_fee_usd"].to_numpy(float), 0.0)
    return outcome, fee


def build_payments(ctx: Context, orders: Orders, shipments: Shipments, plan: dict,
                   referral_fee: np.ndarray) -> dict:
    rng = ctx.rng("payments")
    success = _successful_payments(ctx, orders, plan)
    cols = _concat_columns([
        success, _declined_before_success(ctx, orders, success, rng), _abandoned_declines(ctx, orders, success, rng),
    ])
    _countries_and_devices(ctx, orders, cols, rng)
    cols = _concat_columns([cols, _fraud_bursts(ctx, orders.n, rng)])
    cols["attempted_at"] = np.clip(cols["attempted_at"], np.datetime64(ctx.cal.start, "s"),
                                   ctx.cal.now - np.timedelta64(1, "s"))
    declined = cols["status"] == "declined"
    missing_reason = declined & pd.isna(cols["decline_reason"])
    cols["decline_reason"][missing_reason] = choice(rng, tuple(zip(*DECLINE_REASONS)), int(missing_reason.sum()))
    _disputes_and_fraud(ctx, orders, cols, rng)

    order = np.argsort(cols["attempted_at"], kind="stable")
    cols = {key: values[order] for key, values in cols.items()}
    n = len(order)
    ids = np.arange(1, n + 1)
    attempt_day = to_day_numbers(cols["attempted_at"].astype("datetime64[D]"))
    currency_idx = ctx.market_currency[cols["market"]]
    usd_per_unit = ctx.fx.usd_per_unit(attempt_day, currency_idx)
    terms = _fee_terms(ctx, cols)
    fee = _payment_fees(ctx, cols, terms, usd_per_unit, referral_fee)
    dispute_outcome, dispute_fee = _dispute_outcomes(ctx, cols, terms)
    settled = _settlement_days(ctx, orders, shipments, cols, terms)
    settled_ok = ~np.isnan(settled)
    settled_rate = np.full(n, np.nan)
    settled_rate[settled_ok] = ctx.fx.usd_per_unit(settled[settled_ok].astype(np.int64), currency_idx[settled_ok])
    has_order = cols["order"] >= 0
    return {
        "id": ids, "payment_ref": _payment_refs(cols["gateway"], ids),
        "order_id": np.where(has_order, cols["order"] + 1, np.nan), "customer_id": cols["customer_id"],
        "market_code": ctx.market_codes[cols["market"]], "channel_id": cols["channel"] + 1,
        "attempted_at": cols["attempted_at"], "attempt_date": as_days(attempt_day),
        "method": cols["method"], "gateway": cols["gateway"], "amount": cols["amount"],
        "currency": np.asarray(CURRENCIES, dtype=object)[currency_idx], "fee_amount": fee,
        "usd_per_unit": usd_per_unit, "amount_usd": np.where(
            has_order & (cols["status"] != "declined"), orders.gmv_usd[np.maximum(cols["order"], 0)],
            np.round(cols["amount"] * usd_per_unit, 2)),
        "fee_usd": np.round(fee * usd_per_unit, 2), "status": cols["status"],
        "decline_reason": cols["decline_reason"],
        "card_country": cols["card_country"], "ip_country": cols["ip_country"],
        "card_fingerprint": cols["card_fingerprint"], "ip_hash": cols["ip_hash"],
        "settled_on": _nullable_days(settled), "settled_usd_per_unit": settled_rate,
        "disputed_on": _nullable_days(cols["disputed_day"]), "dispute_reason": cols["dispute_reason"],
        "fraud_reported": cols["fraud_reported"], "refunded_usd": cols["refunded_usd"],
        "dispute_outcome": dispute_outcome, "dispute_fee_usd": dispute_fee,
    }


def _nullable_days(day_numbers: np.ndarray) -> np.ndarray:
    days = np.full(len(day_numbers), np.datetime64("NaT"), dtype="datetime64[D]")
    known = ~np.isnan(day_numbers)
    days[known] = as_days(day_numbers[known].astype(np.int64))
    return days
