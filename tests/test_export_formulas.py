"""Formula neutralisation on export (issue 17, defect 8).

A spreadsheet runs a cell as a formula when it starts with = + - @ (or a tab / carriage return that hides the
sign); a plain negative number such as `-12.5` is a number to it, not a formula, so it must reach the file as
written. Streamlit's own "Download as CSV" in the dataframe toolbar writes cells unescaped, so the app switches
it off (`client.disableDataExport`) and every export goes through ui.widgets.download_csv.
"""

from __future__ import annotations

import csv
import io
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from core.imports import ViewSpec, build_view, pivot
from core.platform.export import neutralise_cell, to_safe_csv

ROOT = Path(__file__).resolve().parent.parent


def rows(frame: pd.DataFrame) -> list[list[str]]:
    """The exported file as a spreadsheet would split it: header first, every cell as text."""
    return list(csv.reader(io.StringIO(to_safe_csv(frame).decode("utf-8-sig"))))


@pytest.mark.parametrize("cell", ["-12.5", "-7", "-0.5", "-.5", "-1,234.50", "-41,00", "-1e5"])
def test_plain_negative_numbers_in_text_stay_as_written(cell):
    assert neutralise_cell(cell) == cell


@pytest.mark.parametrize(("cell", "safe"), [
    ("-2+3", "'-2+3"),  # arithmetic: a formula
    ("-A1", "'-A1"),
    ("-1+cmd|' /C calc'!A0", "'-1+cmd|' /C calc'!A0"),  # the DDE payload of OWASP's CSV-injection page
    ("-SUM(A1:A2)", "'-SUM(A1:A2)"),
    ("-", "'-"),
    ("-7 ", "'-7 "),
    ("-7\n=1", "'-7\n=1"),
    ("=1+2", "'=1+2"),
    ("+7", "'+7"),
    ("@SUM(A1)", "'@SUM(A1)"),
])
def test_cells_a_spreadsheet_would_run_still_get_the_quote(cell, safe):
    assert neutralise_cell(cell) == safe


def test_a_text_column_of_amounts_is_exported_as_written():
    """Amounts that stayed text (a note column, a column with one bad cell) keep their minus sign unquoted."""
    frame = pd.DataFrame({"note": ["-12.5", "-7", "=HYPERLINK(\"http://x\")"]}, dtype="string")
    assert rows(frame) == [["note"], ["-12.5"], ["-7"], ["'=HYPERLINK(\"http://x\")"]]


def test_pivot_headers_that_are_negative_numbers_stay_as_written():
    """A pivot spreads the values of its second column into headers: `-7` (a quantity adjustment) is a header."""
    frame = pd.DataFrame({"market": ["US", "US", "DE"], "adjustment": [-7, 3, -7], "amount": [1.0, 2.0, 4.0]})
    spec = ViewSpec(("market", "adjustment"), "sum", "amount")
    table = pivot(build_view(frame, spec), spec)
    assert rows(table)[0] == ["market", "-7", "3"]


def test_pivot_headers_that_are_formulas_get_the_quote():
    frame = pd.DataFrame({"market": ["US", "DE"], "source": ["=cmd|' /C calc'!A0", "ads"], "amount": [1.0, 2.0]})
    spec = ViewSpec(("market", "source"), "sum", "amount")
    assert rows(pivot(build_view(frame, spec), spec))[0] == ["market", "'=cmd|' /C calc'!A0", "ads"]


def test_categorical_text_columns_are_neutralised_too():
    frame = pd.DataFrame({"channel": pd.Categorical(["=1+2", "-3", "ads"])})
    assert rows(frame) == [["channel"], ["'=1+2"], ["-3"], ["ads"]]


def test_streamlit_toolbar_export_is_switched_off():
    """The dataframe toolbar's "Download as CSV" (and copy to clipboard) write cells unescaped: off for every
    table, in the config file bin/run and the tests' servers start Streamlit with."""
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["client"]["disableDataExport"] is True


def test_streamlit_reads_the_setting_and_tells_the_browser(monkeypatch):
    """The option exists in the installed Streamlit, the file sets it (a misspelt key would be ignored), and the
    session's first message to the browser carries it (the frontend hides the toolbar's CSV button on it)."""
    from streamlit import config
    from streamlit.proto.NewSession_pb2 import Config
    from streamlit.runtime.app_session import _populate_config_msg

    monkeypatch.chdir(ROOT)  # Streamlit reads .streamlit/config.toml from the working directory
    try:
        config.get_config_options(force_reparse=True)
        assert config.get_option("client.disableDataExport") is True
        assert config.get_where_defined("client.disableDataExport").endswith(".streamlit/config.toml")
        message = Config()
        _populate_config_msg(message)
        assert message.disable_data_export is True
    finally:
        config.get_config_options(force_reparse=True)
