"""Profile and view details of an uploaded file (issue 17, defect 10), on small files written here:

- dates such as `03/01/19` are dates, read in a stated order (month/day/year or day/month/year) the user can
  switch while every value reads both ways;
- error and placeholder cells (`Nill`, `#VALUE!`, `N/A`, `-`) are counted as invalid values, not as missing;
- a mean is never drawn as stacked bars (means do not add up): its bars stand side by side;
- a row labelled as a total (`Grand Total`, `Total`, `合计`, `总计`) is flagged and can be left out.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from core import imports
from tests.apptest_support import APP, AppTest, app_as, open_page
from tests.conftest import fresh_database_url

SHORT_DATES = b"order,day,amount\nA1,03/01/19,10\nA2,04/02/19,20\nA3,12/11/19,5\n"
DAY_FIRST = b"order,day,amount\nA1,03/01/19,10\nA2,13/01/19,20\nA3,28/02/19,5\n"
LONG_DATES = b"order,day\nA1,03/01/2019\nA2,04/02/2019\n"
ERRORS = (b"sku,amount,qty,note\nS1,12.5,1,ok\nS2,Nill,2,fine\nS3,#VALUE!,N/A,-\nS4,-,3,\nS5,7.5,-,x\n"
          b"S6,,4,y\n")
TOTALS = "region,amount\nNorth,10\nSouth,20\nGrand Total,30\nEast,5\n合计,65\nTotal ,65\n总计,65\n".encode()
COOKIE_KEY = "test-cookie-key-" + "x" * 40
MEANS = b"market,channel,amount\nUS,amazon,10\nUS,shopify,20\nDE,amazon,5\nDE,shopify,7\n"


def analysed(data: bytes, **options) -> imports.Analysis:
    return imports.analyse(imports.parse(data, "x.csv", keep_raw=False), data, **options)


# --- dates like 03/01/19 ------------------------------------------------------------------------


def test_two_digit_year_dates_are_dates_read_month_first_and_switchable():
    analysis = analysed(SHORT_DATES)
    assert analysis.kinds["day"] == "datetime"
    assert analysis.dates["day"] == imports.DateReading(order="mdy", switchable=True)
    assert analysis.frame["day"].tolist() == [pd.Timestamp("2019-03-01"), pd.Timestamp("2019-04-02"),
                                              pd.Timestamp("2019-12-11")]
    switched = analysed(SHORT_DATES, date_order="dmy")
    assert switched.dates["day"] == imports.DateReading(order="dmy", switchable=True)
    assert switched.frame["day"].tolist() == [pd.Timestamp("2019-01-03"), pd.Timestamp("2019-02-04"),
                                              pd.Timestamp("2019-11-12")]


def test_a_day_above_12_fixes_the_order():
    for order in (None, "mdy", "dmy"):
        analysis = analysed(DAY_FIRST, date_order=order)
        assert analysis.dates["day"] == imports.DateReading(order="dmy", switchable=False)
        assert analysis.frame["day"].tolist() == [pd.Timestamp("2019-01-03"), pd.Timestamp("2019-01-13"),
                                                  pd.Timestamp("2019-02-28")]


def test_four_digit_year_dates_the_parser_read_month_first_can_be_switched():
    assert analysed(LONG_DATES).dates["day"] == imports.DateReading(order="mdy", switchable=True)
    switched = analysed(LONG_DATES, date_order="dmy")
    assert switched.frame["day"].tolist() == [pd.Timestamp("2019-01-03"), pd.Timestamp("2019-02-04")]


# --- error tokens ---------------------------------------------------------------------------------


def test_error_tokens_are_invalid_values_not_missing():
    analysis = analysed(ERRORS)
    assert analysis.kinds["amount"] == "number"  # Nill and #VALUE! no longer make the amounts text
    assert analysis.invalid["amount"] == {"Nill": 1, "#VALUE!": 1, "-": 1}
    assert analysis.invalid["qty"] == {"N/A": 1, "-": 1}
    assert analysis.invalid["note"] == {"-": 1}
    table = imports.profile(analysis.frame, analysis.kinds, analysis.invalid).set_index("column")
    # amount: 6 rows, 1 empty, 3 invalid, mean of 12.5 and 7.5
    assert table.loc["amount", "missing_share"] == pytest.approx(1 / 6)
    assert table.loc["amount", "invalid"] == 3
    assert table.loc["amount", "mean"] == "10"
    assert table.loc["qty", "missing_share"] == 0 and table.loc["qty", "invalid"] == 2
    assert table.loc["note", "missing_share"] == pytest.approx(1 / 6) and table.loc["note", "invalid"] == 1
    assert table.loc["amount", "invalid_values"] == "- (1), #VALUE! (1), Nill (1)"  # most frequent first
    assert imports.profile(analysis.frame, analysis.kinds, {"qty": {"-": 1, "N/A": 2}}).set_index(
        "column").loc["qty", "invalid_values"] == "N/A (2), - (1)"
    assert table.loc["sku", "invalid"] == 0 and table.loc["sku", "invalid_values"] == ""


def test_padded_placeholders_are_counted_like_the_parser_reads_them():
    """A bank export padding its cells: the parser trims the column and nulls ` N/A `; so is it counted."""
    data = b"ref,amount\nR1,  12.50\nR2,  N/A  \nR3,   7.25\n"
    analysis = analysed(data)
    assert analysis.kinds["amount"] == "number" and analysis.invalid["amount"] == {"N/A": 1}


# --- totals ---------------------------------------------------------------------------------------


def test_total_rows_are_flagged_and_can_be_left_out():
    analysis = analysed(TOTALS)
    assert [(row.line, row.column, row.label) for row in analysis.total_rows] == [
        (4, "region", "Grand Total"), (6, "region", "合计"), (7, "region", "Total"), (8, "region", "总计")]
    assert len(analysis.frame) == 7  # flagged, still there until the user leaves them out
    kept = analysed(TOTALS, exclude_totals=True)
    assert kept.frame["region"].tolist() == ["North", "South", "East"]
    assert [row.line for row in kept.total_rows] == [4, 6, 7, 8]  # still named: the user sees what was left out
    assert imports.build_view(kept.frame, imports.ViewSpec((), "sum", "amount"))["sum(amount)"].tolist() == [35]


def test_a_total_inside_a_longer_label_is_not_a_total_row():
    data = "product,amount\nTotal Gym XL,10\n合计器,5\nsubtotal,15\n".encode()
    assert [row.label for row in analysed(data).total_rows] == ["subtotal"]


# --- the page -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def page_db_url(tmp_path_factory) -> str:
    from core.bootstrap import prepare_database
    from core.platform.db import get_engine
    from core.platform.schema import upgrade

    url = fresh_database_url(tmp_path_factory.mktemp("profile_details"))
    eng = get_engine(url)
    upgrade(eng)
    prepare_database(eng, seed_if_empty=False)  # the demo users, no orders: the page only reads the file
    # The process's first run imports every page module (half a minute on a busy two-core machine): done here,
    # with time to spare, so the tests' own runs keep AppTest's usual timeout.
    with pytest.MonkeyPatch.context() as env:
        env.setenv("DATABASE_URL", url)
        env.setenv("CBO_COOKIE_KEY", COOKIE_KEY)
        AppTest.from_file(APP, default_timeout=300).run()
    return url


@pytest.fixture
def page(page_db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", page_db_url)
    monkeypatch.setenv("CBO_COOKIE_KEY", COOKIE_KEY)

    def upload(data: bytes) -> AppTest:
        at = open_page(app_as("staff"), "upload")
        at.file_uploader(key="upload_file").set_value(("file.csv", data, "text/csv"))
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return upload


def profile_of(at: AppTest) -> pd.DataFrame:
    return at.dataframe[1].value.set_index("column")


def test_the_page_states_the_date_order_and_switches_it(page):
    at = page(SHORT_DATES)
    assert profile_of(at).loc["day", "type"] == "datetime"
    assert profile_of(at).loc["day", "min"].startswith("2019-03-01")
    assert any("month/day/year" in c.value for c in at.caption), [c.value for c in at.caption]
    at.radio(key="date_order").set_value("dmy").run()
    assert not at.exception
    assert profile_of(at).loc["day", "min"].startswith("2019-01-03")


def test_the_page_counts_invalid_values_in_the_profile(page):
    at = page(ERRORS)
    profile = profile_of(at)
    assert profile.loc["amount", "type"] == "number"
    assert profile.loc["amount", "invalid"] == 3 and profile.loc["qty", "invalid"] == 2
    assert profile.loc["amount", "missing_share"] == pytest.approx(1 / 6)


def chart_spec(at: AppTest) -> dict:
    charts = at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")
    return json.loads(charts[0].proto.spec)


def test_a_mean_is_drawn_side_by_side_and_a_sum_stacked(page):
    at = page(MEANS)
    at.selectbox(key="view_group1").set_value("market")
    at.selectbox(key="view_group2").set_value("channel")
    at.selectbox(key="view_measure").set_value("mean").run()
    at.selectbox(key="view_value").set_value("amount").run()
    assert not at.exception
    encoding = chart_spec(at)["encoding"]
    assert "xOffset" in encoding and encoding["y"].get("stack", "absent") is None
    assert {t["field"] for t in encoding["tooltip"]} == {"g1", "g2", "value"}
    at.selectbox(key="view_measure").set_value("sum").run()
    encoding = chart_spec(at)["encoding"]
    assert "xOffset" not in encoding and encoding["y"].get("stack", "zero") == "zero"


def test_the_page_flags_total_rows_and_leaves_them_out_on_request(page):
    at = page(TOTALS)
    warned = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "Grand Total" in warned and "合计" in warned and "line 4" in warned, warned
    assert profile_of(at).loc["amount", "mean"] == "37.14"  # 260 / 7: the totals counted again
    at.checkbox(key="exclude_totals").check().run()
    assert not at.exception
    assert profile_of(at).loc["amount", "mean"] == "11.67"  # 35 / 3
