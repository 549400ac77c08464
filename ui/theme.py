"""Colours shared by every chart, so a market or a status looks the same on every page."""

from __future__ import annotations

import altair as alt

MARKET_COLOURS = {
    "US": "#1f77b4", "CA": "#aec7e8", "MX": "#ff7f0e", "UK": "#9467bd", "DE": "#2ca02c", "FR": "#98df8a",
    "IT": "#d62728", "ES": "#ff9896", "NL": "#8c564b", "JP": "#e377c2", "AU": "#17becf", "SA": "#bcbd22",
}
CHANNEL_COLOURS = {"amazon": "#ff9900", "ebay": "#e53238", "tiktok": "#111111", "shopify": "#5e8e3e"}
STATUS_COLOURS = {"ok": "#2da44e", "warning": "#d4a72c", "breach": "#cf222e"}
PRIMARY = "#1f6feb"
SECONDARY = "#8250df"


def colour_scale(mapping: dict[str, str], present: list[str] | None = None) -> alt.Scale:
    domain = [k for k in mapping if present is None or k in present]
    return alt.Scale(domain=domain, range=[mapping[k] for k in domain])
