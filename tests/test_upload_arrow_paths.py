"""The fast paths behind a million-row upload (issue 8): column profiles computed on Arrow in threads, distinct
dates counted by sorting, samples picked by row number. Each must give exactly what the plain way gives."""

from __future__ import annotations

import datetime as dt
import time

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from core.imports import parsing, profiling

TINY = pd.DataFrame({
    "market": ["US", "US", "DE", None, "US", "DE"],
    "amount": [10.0, np.nan, 5.0, 5.0, 20.0, 0.5],
    "qty": pd.array([1, 2, None, 2, 2, 7], dtype="Int64"),
    "day": pd.to_datetime(["2020-01-05", None, "2020-01-05", "2020-02-01", "2020-03-01", "2020-02-01"]),
    "paid": pd.array([True, False, None, True, True, True], dtype="boolean"),
})
TINY_KINDS = {"market": "text", "amount": "number", "qty": "integer", "day": "datetime", "paid": "boolean"}


@pytest.mark.parametrize(("column", "expected"), [
    # every column has one missing cell of six; equal counts keep the order the values first appear in
    ("market", {"type": "text", "distinct": 2, "min": "", "max": "", "mean": "", "top_values": "US (3), DE (2)"}),
    # mean (10 + 5 + 5 + 20 + 0.5) / 5 = 8.1; NaN is missing, not a value
    ("amount", {"type": "number", "distinct": 4, "min": "0.5", "max": "20", "mean": "8.1",
                "top_values": "5 (2), 10 (1), 20 (1), 0.5 (1)"}),
    # mean (1 + 2 + 2 + 2 + 7) / 5 = 2.8
    ("qty", {"type": "integer", "distinct": 3, "min": "1", "max": "7", "mean": "2.8",
             "top_values": "2 (3), 1 (1), 7 (1)"}),
    ("day", {"type": "datetime", "distinct": 3, "min": "2020-01-05 00:00:00", "max": "2020-03-01 00:00:00",
             "mean": "", "top_values": ""}),
    ("paid", {"type": "boolean", "distinct": 2, "min": "", "max": "", "mean": "", "top_values": "True (4), False (1)"}),
])
def test_profile_of_a_tiny_frame_matches_the_hand_count(column, expected):
    row = profiling.profile(TINY, TINY_KINDS).set_index("column").loc[column]
    assert row["missing_share"] == pytest.approx(1 / 6)
    assert {key: row[key] for key in expected} == expected


def test_profile_keeps_column_order_and_handles_an_empty_frame():
    assert profiling.profile(TINY, TINY_KINDS)["column"].tolist() == list(TINY.columns)
    empty = profiling.profile(TINY.iloc[:0], TINY_KINDS)
    assert empty["distinct"].tolist() == [0] * 5 and set(empty["missing_share"]) == {0.0}


def _stamps(*values) -> pa.Array:
    return pa.array([None if v is None else dt.datetime.fromisoformat(v) for v in values], pa.timestamp("s"))


@pytest.mark.parametrize("values", [
    _stamps("2020-01-01 10:00", "2020-01-01 10:00", None, "2019-12-31 23:59", None),
    _stamps(None, None),
    _stamps(),
    _stamps("2020-01-01", "2020-01-02", "2020-01-03"),
    pa.chunked_array([_stamps("2020-01-01", None), _stamps("2020-01-01", "2020-01-04")]),
    pa.array([dt.date(2020, 1, 1), dt.date(2020, 1, 1), None], pa.date32()),
    pa.array([None, "a", "b", "a"]),  # not a date type: counted by hashing
], ids=["duplicates-and-nulls", "all-null", "empty", "all-distinct", "chunked", "date32", "text"])
def test_distinct_by_sorting_equals_arrow_count_distinct(values):
    assert profiling._distinct_by_sorting(values) == pc.count_distinct(values, mode="only_valid").as_py()


def _naive_sample(values, size):
    present = values.drop_null()
    if len(present) <= size:
        return present.to_pylist()
    return present.take(pa.array(np.arange(0, len(present), len(present) // size)[:size])).to_pylist()


_CELLS = [None if i % 7 == 3 or 40 <= i < 90 else f"v{i}" for i in range(1000)]


@pytest.mark.parametrize(("values", "size"), [
    (pa.chunked_array([_CELLS[:100], _CELLS[100:101], _CELLS[101:600], [], _CELLS[600:]]), 37),
    (pa.chunked_array([_CELLS]), 500),
    (pa.array(_CELLS), 10),
    (pa.chunked_array([[f"x{i}" for i in range(300)], [f"y{i}" for i in range(700)]]), 500),  # no nulls
    (pa.chunked_array([[None] * 500, ["a", "b"]], pa.string()), 500),  # fewer present cells than the sample size
    (pa.chunked_array([], pa.string()), 500),
], ids=["nulls-across-chunks", "one-chunk", "plain-array", "no-nulls", "mostly-null", "empty"])
def test_sample_picks_the_same_cells_as_dropping_nulls_first(values, size):
    assert parsing._sample(values, size) == _naive_sample(values, size)


def _reference_top(values) -> tuple[int, str]:
    """The plain way: value_counts, then a stable descending sort of the counts."""
    counts = pc.value_counts(values)
    if values.null_count:
        counts = counts.filter(pc.is_valid(counts.field("values")))
    order = pc.array_sort_indices(counts.field("counts"), order="descending")[:profiling.TOP_VALUES]
    picked = counts.take(order)
    return len(counts), ", ".join(f"{profiling._fmt(v)} ({c})" for v, c in zip(picked.field("values").to_pylist(),
                                                                               picked.field("counts").to_pylist()))


_REFS = [f"B-{i:04d}" for i in range(3000)]


@pytest.mark.parametrize(("values", "in_order"), [
    (pa.array(_REFS), True),  # sequential references, each once: the first five rows
    (pa.chunked_array([_REFS[:1000], [None, "B-1000", "B-1000"], _REFS[1001:2000] + [None], _REFS[2000:]]), True),
    (pa.array(["a", "a", "b", "b", "b", "c", "d", "d", "d", "e", "f", "g"]), True),  # ties at the cut-off
    (pa.array([None, None, "x"]), True),
    (pa.array([], pa.string()), True),
    (pa.array(_REFS[::-1]), False),
    (pa.array(_REFS[:5000] + ["A-0000"]), False),  # in order in the first rows only
    (pa.array(["d", "a", "d", "c", "a", "b", "b", None, "e", "f", "e"]), False),
    (pa.array([3, 1, 3, 2, 2, 2, None]), False),  # not text
    (pa.array([1.5, 0.5, 1.5, 2.0]), False),
], ids=["sequential", "chunked-nulls-duplicates", "runs-with-ties", "mostly-null", "empty", "descending",
        "out-of-order-late", "shuffled-text", "integers", "floats"])
def test_top_values_equal_value_counts_sorted_by_count(values, in_order):
    assert (profiling._run_groups(values) is not None) == in_order
    assert profiling._top(values) == _reference_top(values)


@pytest.mark.parametrize("counts", [
    [1] * 20, [5, 1, 5, 1, 5, 2, 5, 5, 5], [9, 1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 3], [], [1, 1, 1, 1, 1],
    [4, 4, 3, 3, 3, 3, 2, 1],
])
def test_most_frequent_is_a_stable_descending_sort(counts):
    counts = np.array(counts, dtype=np.int64)
    expected = np.argsort(-counts, kind="stable")[:profiling.TOP_VALUES]
    assert profiling._most_frequent(counts, profiling.TOP_VALUES).tolist() == expected.tolist()


@pytest.mark.parametrize("items", [[], [3], list(range(40)), [0.02, 0.0, 0.01, 0.0]],
                         ids=["none", "one", "many", "slow-first"])
def test_in_threads_keeps_the_order_of_the_items(items):
    def slow_identity(item):
        time.sleep(item if isinstance(item, float) else 0)
        return item

    assert list(parsing.in_threads(slow_identity, items)) == items



def test_in_threads_skips_the_rest_when_the_caller_stops():
    ran = []

    def slow(item):
        time.sleep(0.01)
        ran.append(item)
        return item

    results = parsing.in_threads(slow, range(40))
    assert next(results) == 0
    results.close()  # e.g. the progress callback raised
    assert len(ran) < 40

_MIXED = pa.table({
    "ref": pa.chunked_array([["A-1", "A-2"], ["A-3", None]]),
    "amount": pa.chunked_array([["1,5", "2"], [None, "1.003,25"]]),  # decimal comma
    "qty": pa.chunked_array([[1, 2], [None, 4]], pa.int64()),
    "when": pa.chunked_array([["21.02.2020", "22.02.2020"], [None, "23.02.2020"]]),
    "paid": pa.chunked_array([["yes", "no"], ["yes", None]]),
    "at": pa.chunked_array([[dt.datetime(2020, 1, 1), None], [dt.datetime(2020, 1, 2), None]], pa.timestamp("s")),
})


@pytest.mark.parametrize(("name", "kind", "date_format", "unparsed"), [
    ("ref", "text", None, 0), ("amount", "number", None, 0), ("qty", "integer", None, 0),
    ("when", "datetime", "%d.%m.%Y", 0), ("paid", "boolean", None, 0), ("at", "datetime", None, 0),
])
def test_columns_typed_in_threads_equal_one_by_one(name, kind, date_format, unparsed):
    seen = []
    frame, kinds, formats, failed = parsing.type_columns(_MIXED, ",", seen.append)
    alone = parsing._type_column(_MIXED.column(name), ",")
    assert (kinds[name], formats.get(name), failed[name]) == (alone.kind, alone.date_format, alone.unparsed) \
        == (kind, date_format, unparsed)
    pd.testing.assert_series_equal(frame[name], alone.series, check_names=False)
    assert list(frame.columns) == _MIXED.column_names and seen == [(i + 1) / 6 for i in range(6)]


@pytest.mark.parametrize("column", [
    pa.chunked_array([[1.5, 2.5, 3.5]]),  # one chunk, no nulls: numpy sees Arrow's read-only memory
    pa.chunked_array([[1.5], [2.5, 3.5]]),  # chunks joined into a fresh array
    pa.chunked_array([[1.5, None, 3.5]]),  # nulls become NaN in a fresh array
    pa.chunked_array([[dt.datetime(2020, 1, 1)], [dt.datetime(2020, 1, 2), dt.datetime(2020, 1, 3)]],
                     pa.timestamp("s")),
], ids=["arrow-memory", "chunks", "nulls", "timestamps"])
def test_numpy_series_is_writable_and_leaves_arrow_alone(column):
    before = column.to_pylist()
    series = parsing._numpy_series(column)
    pd.testing.assert_series_equal(series, pd.Series(column.to_numpy()))
    series.iloc[0] = series.iloc[2]
    assert column.to_pylist() == before
