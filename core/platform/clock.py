"""The one place that says what day it is.

Every page, default and figure that depends on "today" asks `today()`. `CBO_TODAY` (an ISO date,
see core/platform/config.py) pins it, so a demo can be shown as of a given day and the tests,
whose seed ends on a fixed date, give the same result on any calendar day. Audit timestamps and
login cookies stay on real time: they record when something happened, not the business day.
"""

from __future__ import annotations

import datetime as dt

from core.platform import config


def today() -> dt.date:
    """`CBO_TODAY` when set, else the local calendar date."""
    return config.pinned_today() or dt.date.today()
