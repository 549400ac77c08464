from __future__ import annotations

import io

import pandas as pd
import pytest

from core.platform.export import neutralise_cell, to_safe_csv


@pytest.mark.parametrize(
    ("cell", "safe"),
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("plain text", "plain text"),
        ("深圳", "深圳"),
        (-5, -5),  # numbers stay numbers
        (None, None),
    ],
)
def test_neutralise_cell(cell, safe):
    assert neutralise_cell(cell) == safe


def test_csv_export_neutralises_cells_and_headers_but_keeps_numbers():
    frame = pd.DataFrame({"=cmd": ["=1+2", "ok"], "amount": [-3.5, 4.0]})
    text = to_safe_csv(frame).decode("utf-8-sig")
    back = pd.read_csv(io.StringIO(text))
    assert list(back.columns) == ["'=cmd", "amount"]
    assert list(back["'=cmd"]) == ["'=1+2", "ok"]
    assert list(back["amount"]) == [-3.5, 4.0]
