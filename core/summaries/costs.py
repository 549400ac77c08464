"""`sku_costs`: the landed unit cost of each SKU over time, the product-cost line of the profit ledger.

The cost of a unit sold on day d is the **moving weighted average** landed cost of the SKU's purchase batches
received in the `WINDOW_DAYS` up to d (weighted by good units), or of its latest batch before that window when
none arrived inside it. A batch's landed unit cost is (quantity x supplier price in CNY at the PO date's rate +
its freight + its import duty) / the units that arrived good, so defects raise the cost of the good ones.

Why an average and not FIFO: a sale does not name the batch it came from, and FIFO would need stock tracked
per batch and warehouse, which we do not hold; a perpetual average needs the exact stock at every receipt,
which weekly snapshots do not give. An average over the batches of the last half year follows the cost of
what is on the shelf (stock turns in weeks to a few months) and moves with prices, freight and the CNY rate.

Before a SKU's first batch arrives (opening stock, or a SKU bought without purchase records) the cost is the
latest `product_cost_entries` row dated on or before the sale (entered by a manager; the seed enters opening
stock). A sale with neither is uncosted: the ledger counts it and the Profit page lists it, never costs it at 0.

The table is small (a row per SKU per cost change), so it is rebuilt whole in Python on every refresh.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right

import pandas as pd
from sqlalchemy import and_, delete, insert, select
from sqlalchemy.orm import Session

from core.platform.models import FxRate, InboundShipment, ProductCostEntry, SkuCost
from core.platform.queries import frame
from core.summaries.registry import register

WINDOW_DAYS = 180
OPEN_END = dt.date(9999, 12, 31)


def batch_unit_costs(session: Session) -> pd.DataFrame:
    """Received batches: product_id, received_on, good units and landed cost per good unit (USD)."""
    stmt = (
        select(InboundShipment.product_id, InboundShipment.received_on, InboundShipment.quantity,
               InboundShipment.defect_quantity, InboundShipment.unit_cost_cny, InboundShipment.freight_cost_usd,
               InboundShipment.duty_usd, FxRate.per_usd.label("cny_per_usd"))
        .join(FxRate, and_(FxRate.day == InboundShipment.ordered_on, FxRate.currency == "CNY"), isouter=True)
        .where(InboundShipment.received_on.is_not(None))
    )
    data = frame(session, stmt)
    columns = ["product_id", "received_on", "good_units", "unit_cost_usd"]
    if data.empty:
        return pd.DataFrame(columns=columns)
    data = data.dropna(subset=["cny_per_usd"])  # no rate for the PO date: the batch cannot be valued
    for column in ("unit_cost_cny", "freight_cost_usd", "duty_usd", "cny_per_usd"):
        data[column] = data[column].astype(float)
    data["good_units"] = (data["quantity"] - data["defect_quantity"]).clip(lower=1)
    total = data["quantity"] * data["unit_cost_cny"] / data["cny_per_usd"] + data["freight_cost_usd"] + \
        data["duty_usd"]
    data["unit_cost_usd"] = total / data["good_units"]
    data["received_on"] = pd.to_datetime(data["received_on"]).dt.date
    return data[columns]


def moving_average_costs(batches: pd.DataFrame, window_days: int = WINDOW_DAYS) -> list[tuple]:
    """(product_id, valid_from, valid_to, unit_cost_usd) intervals from one SKU's or many SKUs' batches.

    The average changes only when a batch arrives or leaves the window, so those days are the breakpoints."""
    out: list[tuple] = []
    window = dt.timedelta(days=window_days)
    for product_id, rows in batches.sort_values("received_on").groupby("product_id", sort=True):
        received = list(rows["received_on"])
        units, costs = list(rows["good_units"].astype(float)), list(rows["unit_cost_usd"].astype(float))
        breaks = sorted({day for day in received} | {day + window for day in received})
        intervals: list[list] = []
        for i, day in enumerate(breaks):
            inside = [k for k, r in enumerate(received) if day - window < r <= day]
            if not inside:  # the window is empty: the latest batch before it
                latest = bisect_right(received, day) - 1
                inside = [latest]
            cost = sum(units[k] * costs[k] for k in inside) / sum(units[k] for k in inside)
            end = breaks[i + 1] if i + 1 < len(breaks) else OPEN_END
            if intervals and abs(intervals[-1][3] - cost) < 1e-9:
                intervals[-1][2] = end  # unchanged: extend the previous interval
            else:
                intervals.append([int(product_id), day, end, cost])
        out += [tuple(interval) for interval in intervals]
    return out


def manual_costs(entries: pd.DataFrame, first_batch: dict[int, dt.date]) -> list[tuple]:
    """Intervals of the entered costs, each up to the next entry or the SKU's first received batch."""
    out: list[tuple] = []
    for product_id, rows in entries.sort_values("valid_from").groupby("product_id", sort=True):
        stop = first_batch.get(int(product_id), OPEN_END)
        days, costs = list(rows["valid_from"]), list(rows["unit_cost_usd"].astype(float))
        for i, (day, cost) in enumerate(zip(days, costs)):
            end = min(days[i + 1] if i + 1 < len(days) else OPEN_END, stop)
            if day < end:
                out.append((int(product_id), day, end, cost))
    return out


@register("sku_costs", "inbound_shipments", "product_cost_entries")
def refresh_sku_costs(session: Session, start: dt.date | None = None, end: dt.date | None = None) -> int:
    """Rebuilt whole whatever the range: a batch moves the average from its arrival on, an entry up to the
    first batch, and the table is a few thousand rows."""
    batches = batch_unit_costs(session)
    entries = frame(session, select(ProductCostEntry.product_id, ProductCostEntry.valid_from,
                                    ProductCostEntry.unit_cost_usd))
    if not entries.empty:
        entries["valid_from"] = pd.to_datetime(entries["valid_from"]).dt.date
    first_batch = batches.groupby("product_id")["received_on"].min().to_dict() if not batches.empty else {}
    rows = [(*row, "batches") for row in moving_average_costs(batches)] if not batches.empty else []
    rows += [(*row, "manual") for row in manual_costs(entries, first_batch)] if not entries.empty else []
    session.execute(delete(SkuCost))
    if rows:
        session.execute(insert(SkuCost), [
            {"product_id": p, "valid_from": f, "valid_to": t, "unit_cost_usd": round(c, 4), "source": s}
            for p, f, t, c, s in rows])
    return len(rows)
