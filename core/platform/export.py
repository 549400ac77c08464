"""CSV export that spreadsheets cannot execute (CSV/formula injection, OWASP).

A spreadsheet runs a cell as a formula when it starts with = + - or @ (a leading tab or carriage return can hide
the sign); such cells get a leading single quote, which makes them text. A plain negative number (`-12.5`,
`-7`, `-1,234.50`, `-41,00`, `-1e5`) starts with a minus too but holds nothing a spreadsheet can run (no
reference, function or operator after the sign), so it is written as it is: quoting it would turn every refund
in a text column, or a pivot header such as `-7`, into `'-7`.
"""

from __future__ import annotations

import re

import pandas as pd

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# One minus, then digits with . or , separators, and an optional exponent: nothing else after the sign.
_PLAIN_NEGATIVE = re.compile(r"-(\d[\d.,]*|[.,]\d+)([eE][+-]?\d+)?")


def neutralise_cell(value):
    """Prefix text that a spreadsheet would read as a formula with a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not _PLAIN_NEGATIVE.fullmatch(value):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    safe = frame.copy()
    safe.columns = [neutralise_cell(str(c)) for c in safe.columns]
    for position in range(safe.shape[1]):
        column = safe.iloc[:, position]
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype("object")  # its categories are text the file writes like any other cell
        if column.dtype == object or pd.api.types.is_string_dtype(column):
            safe.isetitem(position, column.map(neutralise_cell))
    return safe


def to_safe_csv(frame: pd.DataFrame) -> bytes:
    # utf-8-sig so Excel opens Chinese and accented text correctly.
    return neutralise(frame).to_csv(index=False).encode("utf-8-sig")
