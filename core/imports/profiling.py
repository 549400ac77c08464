"""Column profiles and code-free views over a parsed upload.

`profile(frame, kinds)` gives one row per column: its type, missing share (empty cells / rows), distinct
count, min / max / mean (numbers and dates; mean for numbers only) and the five most frequent values,
computed with Arrow's kernels on all columns side by side in threads (a million-row upload within 2x of
pyarrow's bare CSV read, issue 8: bench/upload.py).

`build_view(frame, spec)` filters, groups by one or two columns and aggregates one measure:
count (rows), sum, mean or median of a numeric column. Date columns used for grouping are bucketed
(day, week, month). `pivot(view, spec)` spreads the second group column across columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from core.imports.parsing import in_threads
from core.platform.i18n import N_

# Measure, bucket and type names are keys (ViewSpec, `kinds`) and labels: pages show them with t(name) and
# pass the English key back.
MEASURES = (N_("count"), N_("sum"), N_("mean"), N_("median"))
DATE_BUCKETS = {N_("day"): "D", N_("week"): "W", N_("month"): "M"}
COLUMN_KINDS = (N_("integer"), N_("number"), N_("datetime"), N_("boolean"), N_("text"))  # what csv_detect infers
TOP_VALUES = 5
PROFILE_COLUMNS = ("column", "type", "missing_share", "distinct", "min", "max", "mean", "top_values")


def _arrow(series: pd.Series) -> pa.Array | pa.ChunkedArray:
    try:
        return pa.array(series.array) if not isinstance(series.dtype, np.dtype) else pa.array(series, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
        return pa.array(series.astype("object").where(series.notna(), None).tolist())


class _Groups(NamedTuple):
    """The distinct non-missing values of a column in the order they first appear: group i is
    `values[rows[i]]`, seen `counts[i]` times."""

    values: pa.Array | pa.ChunkedArray
    rows: np.ndarray
    counts: np.ndarray


def _hashed_groups(values: pa.Array | pa.ChunkedArray) -> _Groups:
    """One hash pass; value_counts lists the values in the order they first appear."""
    counts = pc.value_counts(values)
    if values.null_count:
        counts = counts.filter(pc.is_valid(counts.field("values")))
    return _Groups(counts.field("values"), np.arange(len(counts)), counts.field("counts").to_numpy())


def _in_order(values: pa.Array) -> bool:
    return len(values) < 2 or not pc.any(pc.less(values.slice(1), values.slice(0, len(values) - 1))).as_py()


def _run_groups(values: pa.Array | pa.ChunkedArray, head: int = 4096) -> _Groups | None:
    """Runs of equal neighbours, when the text is already in order (exports sorted by order number or
    reference): two vectorised comparisons instead of a hash table that outgrows the cache once it holds a
    million distinct references (about four times slower). None when it is not in order."""
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        return None
    if not _in_order(values.slice(0, head).drop_null()):
        return None  # most columns are not in order: decided on the first rows, without copying the column
    present = values.drop_null()
    if isinstance(present, pa.ChunkedArray):
        present = present.combine_chunks()
    if not _in_order(present):
        return None
    size = len(present)
    changed = pc.not_equal(present.slice(1), present.slice(0, max(0, size - 1))).to_numpy(zero_copy_only=False)
    starts = np.concatenate([[0], np.flatnonzero(changed) + 1]) if size else np.empty(0, np.int64)
    return _Groups(present, starts, np.diff(np.append(starts, size)))


def _most_frequent(counts: np.ndarray, size: int) -> np.ndarray:
    """Positions of the `size` largest counts, equal counts in position order (what a stable descending sort
    gives), without sorting a million groups that were each seen once."""
    if len(counts) <= size:
        return np.argsort(-counts, kind="stable")
    cutoff = np.partition(counts, len(counts) - size)[len(counts) - size]
    above = np.flatnonzero(counts > cutoff)  # fewer than `size`: the cutoff is the size-th largest count
    tied = np.flatnonzero(counts == cutoff)[:size - len(above)]
    picked = np.concatenate([above, tied])
    return picked[np.argsort(-counts[picked], kind="stable")]


def _top(values: pa.Array | pa.ChunkedArray) -> tuple[int, str]:
    """Distinct non-missing values, and the most frequent ones with their counts."""
    groups = _run_groups(values) or _hashed_groups(values)
    picked = _most_frequent(groups.counts, TOP_VALUES)
    shown = groups.values.take(pa.array(groups.rows[picked], pa.int64())).to_pylist()
    return len(groups.counts), ", ".join(f"{_fmt(v)} ({c})" for v, c in zip(shown, groups.counts[picked].tolist()))


def _distinct_by_sorting(values: pa.Array | pa.ChunkedArray) -> int:
    """Distinct non-missing timestamps: numpy's vectorised sort beats Arrow's hash table about fivefold on a
    million mostly-unique values, and dates need no top values, which only the hash pass gives."""
    if not pa.types.is_timestamp(values.type):
        return int(pc.count_distinct(values, mode="only_valid").as_py())
    present = values.drop_null()
    if not len(present):
        return 0
    ordered = np.sort(present.cast(pa.int64()).to_numpy())
    return int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1


def _without_nan(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """NaN is missing too (pandas float columns); nulls in its place keep it out of counts and statistics."""
    if not pa.types.is_floating(values.type):
        return values
    nan = pc.is_nan(values)
    return pc.if_else(nan, pa.scalar(None, values.type), values) if pc.any(nan).as_py() else values


def _column_profile(name: str, kind: str, values: pa.Array | pa.ChunkedArray, total: int) -> dict:
    values = _without_nan(values)
    row = {"column": name, "type": kind, "missing_share": values.null_count / total if total else 0.0,
           "distinct": 0, "min": None, "max": None, "mean": None, "top_values": ""}
    if kind == "datetime":
        row["distinct"] = _distinct_by_sorting(values)
    else:
        row["distinct"], row["top_values"] = _top(values)
    if kind in ("integer", "number", "datetime") and len(values) > values.null_count:
        stats = pc.min_max(values)
        row.update(min=_plain(stats["min"].as_py()), max=_plain(stats["max"].as_py()))
        if kind != "datetime":
            row["mean"] = _plain(pc.mean(values).as_py())
    return row


def profile(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    """One row per column, the columns profiled on all cores at once (a hash pass each on a million rows)."""
    total = len(frame)
    series = [frame[name] for name in frame.columns]  # out of the frame in this thread: pandas promises no more

    def one(column: pd.Series) -> dict:
        return _column_profile(column.name, kinds.get(column.name, "text"), _arrow(column), total)

    rows = list(in_threads(one, series))
    out = pd.DataFrame(rows, columns=PROFILE_COLUMNS)
    for column in ("min", "max", "mean"):
        out[column] = out[column].astype("object").map(
            lambda v: "" if v is None or (isinstance(v, float) and v != v) else _fmt(v)).astype("string")
    return out


def _plain(value):
    return None if value is None or value != value else value


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.4g}" if abs(value) < 1e4 else f"{value:,.0f}"
    return str(value)


@dataclass(frozen=True)
class Filter:
    column: str
    values: tuple = ()  # text/boolean: keep these values
    low: float | str | None = None  # numbers/dates: inclusive range
    high: float | str | None = None


@dataclass(frozen=True)
class ViewSpec:
    group_by: tuple[str, ...] = ()
    measure: str = "count"
    value_column: str | None = None
    filters: tuple[Filter, ...] = field(default_factory=tuple)
    date_bucket: str = "month"


class ViewError(ValueError):
    def __init__(self, template: str, **values):
        self.template, self.values = template, values
        super().__init__(template.format(**values))


def apply_filters(frame: pd.DataFrame, filters: tuple[Filter, ...]) -> pd.DataFrame:
    mask = pd.Series(True, index=frame.index)
    for item in filters:
        series = frame[item.column]
        if item.values:
            mask &= series.astype("string").isin([str(v) for v in item.values]).fillna(False)
        if item.low is not None:
            low = pd.Timestamp(item.low) if pd.api.types.is_datetime64_any_dtype(series) else item.low
            mask &= (series >= low).fillna(False)
        if item.high is not None:
            high = pd.Timestamp(item.high) if pd.api.types.is_datetime64_any_dtype(series) else item.high
            mask &= (series <= high).fillna(False)
    return frame[mask]


def build_view(frame: pd.DataFrame, spec: ViewSpec) -> pd.DataFrame:
    """Grouped table with the group columns and a `value` column named after the measure."""
    if spec.measure not in MEASURES:
        raise ViewError("Unknown measure {measure}.", measure=spec.measure)
    if spec.measure != "count":
        if not spec.value_column:
            raise ViewError("Choose a numeric column for the {measure}.", measure=spec.measure)
        if not pd.api.types.is_numeric_dtype(frame[spec.value_column]):
            raise ViewError("{column} is not numeric; choose a numeric column for the {measure}.",
                            column=spec.value_column, measure=spec.measure)
    data = apply_filters(frame, spec.filters)
    keys = []
    for column in spec.group_by:
        series = data[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            series = series.dt.to_period(DATE_BUCKETS.get(spec.date_bucket, "M")).dt.start_time
        keys.append(series.rename(column))
    name = measure_label(spec)
    if not keys:
        value = len(data) if spec.measure == "count" else getattr(data[spec.value_column], spec.measure)()
        return pd.DataFrame({name: [value]})
    grouped = (data if spec.measure == "count" else data[spec.value_column]).groupby(keys, dropna=False,
                                                                                     observed=True)
    result = grouped.size() if spec.measure == "count" else getattr(grouped, spec.measure)()
    return result.rename(name).reset_index()


def measure_label(spec: ViewSpec) -> str:
    return "count" if spec.measure == "count" else f"{spec.measure}({spec.value_column})"


def pivot(view: pd.DataFrame, spec: ViewSpec) -> pd.DataFrame:
    """Rows: the first group column; columns: the second; cells: the measure."""
    if len(spec.group_by) != 2:
        raise ViewError("A pivot needs two group columns.")
    first, second = spec.group_by
    table = view.pivot_table(index=first, columns=second, values=measure_label(spec), aggfunc="sum",
                             dropna=False, observed=True)
    table.columns = [str(c) for c in table.columns]
    return table.reset_index()
