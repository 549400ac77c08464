"""Seed steps that belong to one page's issue (e.g. compliance checklists, policy changes).

Each entry is `fn(session, ctx) -> dict[str, int]` (rows written per table). They run after the
core tables are written and before the summary tables are rebuilt, in the same transaction.
`ctx` is data.seed.Context: ctx.seed, ctx.cal.start / ctx.cal.end (dates), ctx.ref (reference CSVs).
"""

from __future__ import annotations

EXTRA_SEEDERS: list = []

from data.seed_market import seed_product_listings  # noqa: E402  (issue 3)

EXTRA_SEEDERS.append(seed_product_listings)

from data.seed_risk import seed_risk  # noqa: E402  (issue 6)

EXTRA_SEEDERS.append(seed_risk)
