"""Reference facts and lists for pickers: markets, channels, the date the data runs to."""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.platform.models import Channel, DailySales, Market
from core.platform.queries import frame

# Shelf prices exclude sales tax in these markets (tax is added on top at checkout); everywhere else the
# price includes VAT/GST. The simulator, the importers and the seed all read this one list.
TAX_EXCLUSIVE_MARKETS = ("US", "CA")


def markets(session: Session) -> pd.DataFrame:
    return frame(session, select(Market.code, Market.name, Market.currency, Market.region).order_by(Market.code))


def channels(session: Session) -> pd.DataFrame:
    return frame(session, select(Channel.code, Channel.name).order_by(Channel.id))


def data_range(session: Session) -> tuple[dt.date | None, dt.date | None]:
    first, last = session.execute(select(func.min(DailySales.day), func.max(DailySales.day))).one()
    return first, last
