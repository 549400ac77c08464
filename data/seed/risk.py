"""The risk register (`risks`), generated from data/reference/risks.csv and dated from the end date."""

from __future__ import annotations

import numpy as np

from data.seed.context import SEED_USER, Context


def build_risks(ctx: Context) -> dict:
    rng = ctx.rng("risks")
    risks = ctx.ref.risks
    n = len(risks)
    end = np.datetime64(ctx.cal.end)
    updated = end.astype("datetime64[s]") + np.timedelta64(9, "h") - \
        (rng.integers(0, 60, n) * 86_400).astype("timedelta64[s]")
    return {
        "id": np.arange(1, n + 1), **{c: risks[c].to_numpy() for c in ("title", "category", "likelihood", "impact",
                                                                         "owner", "mitigation", "status")},
        "review_on": end + risks["review_in_days"].to_numpy(int).astype("timedelta64[D]"),
        "updated_by": np.full(n, SEED_USER, dtype=object), "updated_at": updated,
    }
