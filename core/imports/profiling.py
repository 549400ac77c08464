"""Column profiles and code-free views over a parsed upload.

`profile(frame, kinds)` gives one row per column: its type, missing share (empty cells / rows), distinct
count, min / max / mean (numbers and dates; mean for numbers only) and the five most frequent values,
computed with Arrow's kernels on all columns side by side in threads (a million-row upload within 2x of
pyarrow's bare CSV read, issue 8: bench/upload.py).

`analyse(parsed, data)` reads the parsed file as the Analyse tab shows it: error and placeholder cells
(`Nill`, `#VALUE!`, `N/A`, `-`) counted as invalid values rather than missing, so a number column with a few of
them stays numeric; dates in a day/month order (`03/01/19`, `03/01/2019`) read in a stated order the user can
switch while every value reads both ways; rows labelled as totals (`Grand Total`, `合计`) found, and left out on
request.

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
import pyarrow.csv as pacsv

from core.imports.parsing import NULL_TOKENS, SAMPLE_BYTES, Dialect, ParsedFile, in_threads, type_columns
from core.platform.i18n import N_

# Measure, bucket and type names are keys (ViewSpec, `kinds`) and labels: pages show them with t(name) and
# pass the English key back.
MEASURES = (N_("count"), N_("sum"), N_("mean"), N_("median"))
DATE_BUCKETS = {N_("day"): "D", N_("week"): "W", N_("month"): "M"}
COLUMN_KINDS = (N_("integer"), N_("number"), N_("datetime"), N_("boolean"), N_("text"))  # what csv_detect infers
TOP_VALUES = 5
PROFILE_COLUMNS = ("column", "type", "missing_share", "invalid", "invalid_values", "distinct", "min", "max", "mean",
                   "top_values")

# Cells that stand where a value should be and say it is not there or broke: spreadsheet errors and the
# placeholders people type. They are invalid values, counted apart from the empty cells. The reader already
# turns those among parsing.NULL_TOKENS (N/A, -, #N/A) into nulls, so they are counted again from the file.
ERROR_TOKENS = ("N/A", "n/a", "NA", "-", "--", "#N/A", "#VALUE!", "#DIV/0!", "#REF!", "#NAME?", "#NUM!", "#NULL!",
                "#ERROR!", "#SPILL!", "#CALC!", "Nill", "nill", "NILL", "Nil", "nil", "NIL")
UNREADABLE = N_("not readable")  # the invalid cells of a number or date column that are no error token
_NULLED_BY_READER = tuple(token for token in ERROR_TOKENS if token in NULL_TOKENS)
_KEPT_BY_READER = tuple(token for token in ERROR_TOKENS if token not in NULL_TOKENS)

# Day/month orders: keys of `analyse(date_order=...)` and of DateReading.order; the page shows t(label).
DATE_ORDERS = {"mdy": N_("month/day/year"), "dmy": N_("day/month/year")}
DEFAULT_DATE_ORDER = "mdy"  # the parser's choice for slashed dates every value reads both ways (US exports)
# Two-digit years the parser leaves as text: 03/01/19, 3.1.19 10:05. Years 00-68 are 20xx, 69-99 19xx (strptime).
_SHORT_DATE = (r"^(?P<first>\d{1,2})[/.](?P<second>\d{1,2})[/.](?P<year>\d{2})"
               r"(?: (?P<hour>\d{1,2}):(?P<minute>\d{2})(?::(?P<second_of_minute>\d{2}))?)?$")

# Label cells that say their row adds up the others, as exports write them. Whole cells only ("Total Gym XL" is
# a product), looked up in a set: a hash pass per text column, where a regular expression took five times longer.
TOTAL_LABELS = frozenset(
    {cased + end for word in ("total", "totals", "grand total", "subtotal", "sub total", "sub-total")
     for cased in (word, word.capitalize(), word.title(), word.upper()) for end in ("", ":", "：")}
    | {word + end for word in ("合计", "总计", "总合计", "小计", "共计") for end in ("", ":", "：")})
_TOTAL_LABELS = pa.array(sorted(TOTAL_LABELS))
_FLAGGED = pa.array(sorted(set(_KEPT_BY_READER) | TOTAL_LABELS))


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


def _column_profile(name: str, kind: str, values: pa.Array | pa.ChunkedArray, total: int,
                    invalid: dict[str, int], unreadable_label: str) -> dict:
    values = _without_nan(values)
    # Invalid cells are nulls in the frame (they hold no value), except error tokens a text column keeps as text.
    nulled = sum(n for token, n in invalid.items() if kind != "text" or token in NULL_TOKENS)
    missing = max(0, values.null_count - nulled)
    row = {"column": name, "type": kind, "missing_share": missing / total if total else 0.0,
           "invalid": sum(invalid.values()),
           "invalid_values": ", ".join(f"{unreadable_label if token == UNREADABLE else token} ({n})"
                                       for token, n in sorted(invalid.items(), key=lambda item: -item[1])),
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


def profile(frame: pd.DataFrame, kinds: dict[str, str], invalid: dict[str, dict[str, int]] | None = None,
            unreadable_label: str = UNREADABLE) -> pd.DataFrame:
    """One row per column, the columns profiled on all cores at once (a hash pass each on a million rows).

    `invalid` (from `analyse`): per column, the invalid cells by token, counted apart from the missing ones;
    `unreadable_label` names the cells that did not read as the column's type (the page translates it)."""
    total = len(frame)
    invalid = invalid or {}
    series = [frame[name] for name in frame.columns]  # out of the frame in this thread: pandas promises no more

    def one(column: pd.Series) -> dict:
        return _column_profile(column.name, kinds.get(column.name, "text"), _arrow(column), total,
                               invalid.get(column.name, {}), unreadable_label)

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


# --- the parsed file as the Analyse tab reads it --------------------------------------------------------------

class DateReading(NamedTuple):
    order: str  # "mdy" or "dmy" (DATE_ORDERS)
    switchable: bool  # every value reads both ways (no day above 12), so the user's order decides


class TotalRow(NamedTuple):
    index: object  # the row's label in the parsed frame
    line: int  # the file's line, as an editor numbers it
    column: str
    label: str


@dataclass
class Analysis:
    frame: pd.DataFrame
    kinds: dict[str, str]
    invalid: dict[str, dict[str, int]]  # column -> {token or UNREADABLE: cells}
    dates: dict[str, DateReading]  # the date columns written day and month first, and how they were read
    total_rows: list[TotalRow]  # found, whether or not left out
    excluded: int = 0  # total rows left out of `frame`


def analyse(parsed: ParsedFile, data: bytes, *, date_order: str | None = None,
            exclude_totals: bool = False) -> Analysis:
    """The parsed file for profiles and views. `data` is the file as uploaded (the placeholders the reader
    turned into nulls are counted from it); `date_order` ("mdy"/"dmy", None: as detected) decides the columns
    whose dates read both ways; `exclude_totals` leaves out the rows labelled as totals."""
    columns = {name: parsed.frame[name] for name in parsed.frame.columns}
    kinds = dict(parsed.kinds)
    formats = dict(parsed.date_formats)
    invalid: dict[str, dict[str, int]] = {name: {} for name in columns}
    for name, counts in _reader_placeholders(data, parsed.dialect, parsed.frame).items():
        invalid[name].update(counts)
    flagged = _flagged_text(columns, kinds)
    for name in flagged:
        _retype_without_errors(name, columns, kinds, formats, invalid, parsed.dialect.decimal)
    for name, failed in parsed.unparsed.items():
        if failed:
            invalid[name][UNREADABLE] = invalid[name].get(UNREADABLE, 0) + failed
    dates = {}
    for name in list(columns):
        reading = _read_dates(name, columns, kinds, formats.get(name), invalid, date_order)
        if reading:
            dates[name] = reading
    frame = pd.DataFrame(columns, copy=False)
    totals = _total_rows(parsed, frame, [n for n in flagged if kinds[n] == "text"])
    excluded = 0
    if exclude_totals and totals:
        frame = frame.drop(index=[row.index for row in totals])
        excluded = len(totals)
    return Analysis(frame, kinds, {n: c for n, c in invalid.items()}, dates, totals, excluded)


def _reader_placeholders(data: bytes, dialect: Dialect, frame: pd.DataFrame) -> dict[str, dict[str, int]]:
    """How many of each column's nulls were N/A, - or #N/A in the file (the reader nulls them like empty cells).

    Only the columns with nulls are read again, as text. The whole file is read again only when its first
    256 KiB hold such a placeholder: a clean export (most of them, and bench/upload.py's) costs nothing more."""
    positions = [i for i, name in enumerate(frame.columns) if frame[name].hasnans]
    if not positions:
        return {}
    wide = dialect.encoding.replace("_", "-").lower().startswith("utf-16")  # a cut at a newline byte splits a unit
    head = data if len(data) <= SAMPLE_BYTES or wide else data[:data.rfind(b"\n", 0, SAMPLE_BYTES) + 1]
    counts = _count_tokens(head, dialect, positions, frame.columns)
    if counts and len(head) < len(data):
        counts = _count_tokens(data, dialect, positions, frame.columns)
    return counts


def _count_tokens(payload: bytes, dialect: Dialect, positions: list[int], names) -> dict[str, dict[str, int]]:
    fields = [f"f{i}" for i in positions]  # pyarrow's names for fields by position
    # a file without a header row (Dialect.has_header, "first row is data") has its data from header_row on
    skip = dialect.header_row + (1 if getattr(dialect, "has_header", True) else 0)
    try:
        table = pacsv.read_csv(
            pa.BufferReader(payload),
            read_options=pacsv.ReadOptions(skip_rows=skip, autogenerate_column_names=True,
                                           encoding=dialect.encoding, block_size=8 << 20),
            parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter, newlines_in_values=True,
                                             invalid_row_handler=lambda row: "skip"),
            convert_options=pacsv.ConvertOptions(include_columns=fields, include_missing_columns=True,
                                                 column_types={f: pa.string() for f in fields}, null_values=[],
                                                 strings_can_be_null=False))
    except (pa.ArrowInvalid, LookupError):  # the parse read it; a cut sample may not be: count nothing
        return {}
    tokens = pa.array(_NULLED_BY_READER)
    counts = {}
    for position, field_name in zip(positions, fields):
        # trimmed as the parser trims a padded column (parsing._clean) before it nulls the same tokens
        values = pc.utf8_trim(table.column(field_name), characters=" \t\u00a0")
        found = values.filter(pc.is_in(values, value_set=tokens))
        if len(found):
            counts[names[position]] = _token_counts(found)
    return counts


def _token_counts(found: pa.Array | pa.ChunkedArray) -> dict[str, int]:
    tallies = pc.value_counts(found)
    counted = dict(zip(tallies.field("values").to_pylist(), tallies.field("counts").to_pylist()))
    return {token: counted[token] for token in ERROR_TOKENS if token in counted}  # a fixed order to read


def _flagged_text(columns: dict[str, pd.Series], kinds: dict[str, str]) -> list[str]:
    """The text columns holding an error token or a total label: one hash pass per column, side by side in
    threads, so that a clean million-row file costs little more than that."""
    text = [name for name in columns if kinds.get(name) == "text"]

    def flagged(name: str) -> bool:
        return bool(pc.any(pc.is_in(_arrow(columns[name]), value_set=_FLAGGED)).as_py())

    return [name for name, hit in zip(text, in_threads(flagged, text)) if hit]


def _retype_without_errors(name, columns, kinds, formats, invalid, decimal: str) -> None:
    """A text column whose cells are numbers or dates but for error tokens (#VALUE!, Nill) is typed again
    without them, the parser's own way (its typing rules apply); the tokens are counted in either case."""
    values = _arrow(columns[name])
    errors = pc.is_in(values, value_set=pa.array(_KEPT_BY_READER))
    if not pc.any(errors).as_py():
        return
    for token, count in _token_counts(values.filter(errors)).items():
        invalid[name][token] = invalid[name].get(token, 0) + count
    frame, retyped, found, unparsed = type_columns(
        pa.table({name: pc.if_else(errors, pa.scalar(None, pa.string()), pc.cast(values, pa.string()))}), decimal)
    if retyped[name] == "text":
        return
    columns[name] = frame[name].set_axis(columns[name].index)
    kinds[name] = retyped[name]
    if found.get(name):
        formats[name] = found[name]
    if unparsed.get(name):
        invalid[name][UNREADABLE] = invalid[name].get(UNREADABLE, 0) + unparsed[name]


def _read_dates(name, columns, kinds, fmt: str | None, invalid, date_order: str | None) -> DateReading | None:
    """The order of a day/month column: the parser's (its format), or, for two-digit years it left as text,
    the one the values allow. A column every value of which reads both ways takes `date_order`."""
    series = columns[name]
    if kinds.get(name) == "datetime" and fmt and fmt.startswith(("%m", "%d")):
        order = "mdy" if fmt.startswith("%m") else "dmy"
        switchable = not bool((series.dt.day > 12).any())
        if switchable and date_order in DATE_ORDERS and date_order != order:
            columns[name], order = _swap_day_and_month(series), date_order
        return DateReading(order, switchable)
    if kinds.get(name) != "text":
        return None
    values = _arrow(series)
    present = len(values) - values.null_count
    head = values.slice(0, 2000).drop_null()  # most text columns are no dates: told by their first cells
    if not present or not pc.all(pc.match_substring_regex(head, _SHORT_DATE)).as_py():
        return None
    if pc.sum(pc.match_substring_regex(values, _SHORT_DATE)).as_py() != present:
        return None
    parts = pc.extract_regex(values, _SHORT_DATE)
    number = {part: pd.to_numeric(pd.Series(parts.field(part).to_numpy(zero_copy_only=False)), errors="coerce")
              for part in ("first", "second", "year", "hour", "minute", "second_of_minute")}
    first_high, second_high = (bool((number[p] > 12).any()) for p in ("first", "second"))
    if first_high and second_high:
        return None  # 13/14/19 is no date in either order
    switchable = not (first_high or second_high)
    order = (date_order if date_order in DATE_ORDERS else DEFAULT_DATE_ORDER) if switchable else (
        "dmy" if first_high else "mdy")
    month, day = (number["first"], number["second"]) if order == "mdy" else (number["second"], number["first"])
    year = number["year"] + np.where(number["year"] < 69, 2000, 1900)
    parsed = pd.to_datetime(pd.DataFrame({"year": year, "month": month, "day": day,
                                          "hour": number["hour"].fillna(0), "minute": number["minute"].fillna(0),
                                          "second": number["second_of_minute"].fillna(0)}), errors="coerce")
    failed = int(parsed.isna().sum()) - values.null_count  # 02/30/19: a date that does not exist
    if failed:
        invalid[name][UNREADABLE] = invalid[name].get(UNREADABLE, 0) + failed
    columns[name], kinds[name] = parsed.set_axis(series.index), "datetime"
    return DateReading(order, switchable)


def _swap_day_and_month(series: pd.Series) -> pd.Series:
    """The other reading of dates whose days are all 12 or less (so each day is a month too)."""
    parts = pd.DataFrame({"year": series.dt.year, "month": series.dt.day, "day": series.dt.month,
                          "hour": series.dt.hour, "minute": series.dt.minute, "second": series.dt.second,
                          "microsecond": series.dt.microsecond})
    return pd.to_datetime(parts, errors="coerce").set_axis(series.index)


def _total_rows(parsed: ParsedFile, frame: pd.DataFrame, text: list[str]) -> list[TotalRow]:
    """Rows with a cell of the `text` columns labelled as a total, each named by its first such cell."""
    found: dict[object, TotalRow] = {}
    for name in text:
        values = _arrow(frame[name])
        hits = np.flatnonzero(pc.is_in(values, value_set=_TOTAL_LABELS).to_numpy(zero_copy_only=False))
        for position in hits.tolist():
            index = frame.index[position]
            if index not in found:
                label = str(frame[name].iloc[position]).strip()
                found[index] = TotalRow(index, parsed.line_of(index), name, label)
    return sorted(found.values(), key=lambda row: row.line)


def adds_up(measure: str) -> bool:
    """Whether the measure of a group is the sum of its parts' (count, sum), so parts may be stacked in a
    chart; means and medians do not add up, and their bars stand side by side."""
    return measure in ("count", "sum")


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
