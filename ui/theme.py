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

# Risk matrix bands (issue 6): low / medium / high / critical, green to red.
RISK_BAND_COLOURS = {"low": "#2da44e", "medium": "#d4a72c", "high": "#e16f24", "critical": "#cf222e"}

# Carriers (issue 4): the logistics page colours every carrier the same way in each chart.
CARRIER_COLOURS = {
    "DHL": "#d40511", "FedEx": "#4d148c", "UPS": "#644117", "China Post": "#007a3d", "YunExpress": "#f29100",
    "HTF Forwarding": "#6e7781", "USPS": "#004b87", "DHL Paket": "#ffcc00", "Royal Mail": "#e4002b",
    "Amazon Logistics": "#ff9900",
}
GRADE_COLOURS = {"A": "#2da44e", "B": "#7bc96f", "C": "#d4a72c", "D": "#cf222e"}
