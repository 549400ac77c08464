"""Read an uploaded CSV/TSV/TXT: detect its dialect, parse it fast, type its columns.

Detection looks at a sample (the first 256 KiB):

- encoding: a byte-order mark wins (UTF-8, UTF-16 LE/BE as Excel saves "Unicode text"); UTF-16 without a
  BOM is recognised by its zero bytes; then strict UTF-8; then GB18030 when the non-ASCII bytes come in
  pairs and decode to CJK ideographs; otherwise Windows-1252 (Latin-1 for the 5 bytes cp1252 leaves
  undefined).
- delimiter: the one of `,` `;` tab `|` that splits the most sample lines into the same number (> 1) of
  fields, quotes respected.
- header row: the first line with that many fields (trailing empty fields allowed) whose cells are mostly
  non-empty text; lines above it are a preamble (bank and payment-app statements) and are skipped.
- decimal comma: when the delimiter is not a comma and numbers like `261,96` or `1.234,50` outnumber
  numbers like `261.96`.

Parsing runs pyarrow's multithreaded CSV reader (every column read as text for imports, which quote cells
as written; plain columns typed by pyarrow itself for analysis), then types the remaining columns, side by
side in threads, from a sample: integer, number (decimal point or comma, thousands separators), date/time in one of
`DATE_FORMATS` (ISO, `2020/2/21 0:00`, `10/2/2017 10:56`, `21.02.2020`, Shopify's `... -0400`), boolean,
or text. Every problem (empty, binary, header only, ragged rows) raises `UploadError` naming the file,
line and column; `UploadError.template` is the English message id and `values` its placeholders, so the
page can translate it.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from core.platform.i18n import N_

SAMPLE_BYTES = 256 * 1024
SAMPLE_LINES = 200
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": N_("comma"), ";": N_("semicolon"), "\t": N_("tab"), "|": N_("pipe")}  # shown with t(name)
ENCODINGS = ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "gb18030", "cp1252", "latin-1")
NULL_TOKENS = ("", "NA", "N/A", "n/a", "NaN", "nan", "null", "NULL", "None", "-", "--", "#N/A")
TRUE_TOKENS = {"true", "yes", "y", "t"}
FALSE_TOKENS = {"false", "no", "n", "f"}

# (strptime format, pattern a value must match, timezone-aware). Tried in this order; the first format that
# parses every sampled value wins, so month-first comes before day-first for slashes (US exports) and
# day-first is the only reading of dotted dates (European exports).
DATE_FORMATS: tuple[tuple[str, str, bool], ...] = (
    ("%Y-%m-%d", r"\d{4}-\d{1,2}-\d{1,2}", False),
    ("%Y-%m-%d %H:%M:%S", r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2}", False),
    ("%Y-%m-%dT%H:%M:%S", r"\d{4}-\d{1,2}-\d{1,2}T\d{1,2}:\d{2}:\d{2}", False),
    ("%Y-%m-%dT%H:%M:%SZ", r"\d{4}-\d{1,2}-\d{1,2}T\d{1,2}:\d{2}:\d{2}Z", False),
    ("%Y-%m-%d %H:%M", r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}", False),
    ("%Y-%m-%d %H:%M:%S %z", r"\d{4}-\d{1,2}-\d{1,2} \d{1,2}:\d{2}:\d{2} [+-]\d{4}", True),
    ("%Y-%m-%dT%H:%M:%S%z", r"\d{4}-\d{1,2}-\d{1,2}T\d{1,2}:\d{2}:\d{2}[+-]\d{2}:?\d{2}", True),
    ("%Y/%m/%d %H:%M:%S", r"\d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d{2}:\d{2}", False),
    ("%Y/%m/%d %H:%M", r"\d{4}/\d{1,2}/\d{1,2} \d{1,2}:\d{2}", False),
    ("%Y/%m/%d", r"\d{4}/\d{1,2}/\d{1,2}", False),
    ("%m/%d/%Y %H:%M:%S", r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2}", False),
    ("%m/%d/%Y %H:%M", r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}", False),
    ("%m/%d/%Y", r"\d{1,2}/\d{1,2}/\d{4}", False),
    ("%d/%m/%Y %H:%M:%S", r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}:\d{2}", False),
    ("%d/%m/%Y %H:%M", r"\d{1,2}/\d{1,2}/\d{4} \d{1,2}:\d{2}", False),
    ("%d/%m/%Y", r"\d{1,2}/\d{1,2}/\d{4}", False),
    ("%d.%m.%Y %H:%M:%S", r"\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}:\d{2}:\d{2}", False),
    ("%d.%m.%Y %H:%M", r"\d{1,2}\.\d{1,2}\.\d{4} \d{1,2}:\d{2}", False),
    ("%d.%m.%Y", r"\d{1,2}\.\d{1,2}\.\d{4}", False),
    ("%m-%d-%y", r"\d{2}-\d{2}-\d{2}", False),
    ("%d-%m-%y", r"\d{2}-\d{2}-\d{2}", False),
)
_DOT_NUMBER = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?$|^[+-]?\.\d+$")
_COMMA_NUMBER = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?$")
_COMMA_DECIMAL_ONLY = re.compile(r"^[+-]?(\d{1,3}(\.\d{3})+|\d+),\d+$")
_DOT_DECIMAL_ONLY = re.compile(r"^[+-]?\d+\.\d+$")
_INTEGER = re.compile(r"^[+-]?\d+$")
_CODE_LIKE = re.compile(r"^(\+\d{3,}|[+-]?0\d+)$")


class UploadError(ValueError):
    """Bad input, explained: `template` is an English message id with {placeholders} filled from `values`."""

    def __init__(self, template: str, **values):
        self.template = template
        self.values = values
        super().__init__(template.format(**values))


@dataclass(frozen=True)
class Dialect:
    encoding: str
    delimiter: str
    header_row: int  # 0-based line index of the header; lines above it are skipped
    decimal: str  # "." or ","

    def describe(self) -> dict[str, str]:
        return {"encoding": self.encoding, "delimiter": DELIMITER_NAMES.get(self.delimiter, self.delimiter),
                "header_row": str(self.header_row + 1), "decimal": self.decimal}


@dataclass
class ParsedFile:
    file_name: str
    dialect: Dialect
    frame: pd.DataFrame  # typed columns
    raw: pd.DataFrame | None  # the same cells as text, kept for import error messages
    kinds: dict[str, str]  # column -> integer, number, datetime, boolean, text
    date_formats: dict[str, str] = field(default_factory=dict)
    unparsed: dict[str, int] = field(default_factory=dict)  # column -> non-empty cells that did not convert

    @property
    def first_data_line(self) -> int:
        """1-based line number of the first data row, as an editor shows it (no multi-line cells)."""
        return self.dialect.header_row + 2

    def line_of(self, index: int) -> int:
        return self.first_data_line + int(index)


# --- detection ------------------------------------------------------------------


def looks_binary(sample: bytes) -> bool:
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    if _utf16_without_bom(sample):
        return False
    head = sample[:8192]
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    return bool(head) and control / len(head) > 0.05


def _utf16_without_bom(sample: bytes) -> str | None:
    head = sample[:4096]
    if len(head) < 4:
        return None
    even_zero = head[0::2].count(0) / max(1, len(head[0::2]))
    odd_zero = head[1::2].count(0) / max(1, len(head[1::2]))
    if odd_zero > 0.4 and even_zero < 0.05:
        return "utf-16-le"
    if even_zero > 0.4 and odd_zero < 0.05:
        return "utf-16-be"
    return None


def _strict(sample: bytes, encoding: str) -> str | None:
    """Decode a sample, forgiving only a multi-byte character cut at the end of the sample."""
    try:
        return codecs.getincrementaldecoder(encoding)(errors="strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return None


def _is_cjk(ch: str) -> bool:
    o = ord(ch)
    return 0x4E00 <= o <= 0x9FFF or 0x3400 <= o <= 0x4DBF or 0x3000 <= o <= 0x303F or 0xFF00 <= o <= 0xFFEF


def detect_encoding(sample: bytes) -> str:
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    bomless = _utf16_without_bom(sample)
    if bomless:
        return bomless
    if _strict(sample, "utf-8") is not None:
        return "utf-8"
    text = _strict(sample, "gb18030")
    if text is not None:
        non_ascii = [c for c in text if ord(c) > 127]
        runs = re.findall(rb"[\x80-\xff]+", sample)
        single = sum(1 for r in runs if len(r) == 1)
        if non_ascii and sum(map(_is_cjk, non_ascii)) / len(non_ascii) > 0.8 and single <= len(runs) * 0.2:
            return "gb18030"
    if _strict(sample, "cp1252") is not None:
        return "cp1252"
    return "latin-1"


def _decode(data: bytes, encoding: str, file_name: str) -> str:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UploadError("{file}: line {line} is not valid {encoding} text. Choose another encoding.",
                          file=file_name, line=line, encoding=encoding) from None
    except LookupError:
        raise UploadError("{file}: unknown encoding {encoding}.", file=file_name, encoding=encoding) from None


def _sample_lines(text: str) -> list[str]:
    lines = text.splitlines()
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line of a sample may be cut short
    return lines[:SAMPLE_LINES]


def _split(lines: list[str], delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))


def _field_count(row: list[str]) -> int:
    n = len(row)
    while n > 1 and row[n - 1] == "":
        n -= 1
    return n


def detect_delimiter(lines: list[str]) -> str:
    best, best_score = ",", (-1, -1)
    for delimiter in DELIMITERS:
        try:
            rows = _split(lines, delimiter)
        except csv.Error:
            continue
        counts = Counter(len(r) for r in rows if len(r) > 1)
        if not counts:
            continue
        width, support = counts.most_common(1)[0]
        score = (support, width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _mostly_text(row: list[str]) -> bool:
    cells = [c.strip() for c in row]
    filled = [c for c in cells if c]
    if len(filled) < max(1, len(cells) * 0.5):
        return False
    numeric = sum(1 for c in filled if _DOT_NUMBER.match(c) or _COMMA_NUMBER.match(c))
    return numeric <= len(filled) * 0.5


def detect_header_row(lines: list[str], delimiter: str) -> int:
    rows = _split(lines, delimiter)
    widths = Counter(len(r) for r in rows if len(r) > 1)
    if not widths:
        return 0
    width = widths.most_common(1)[0][0]
    line_of_row, line = [], 0
    for row in rows:  # map csv records back to physical lines (quoted cells can span lines)
        line_of_row.append(line)
        line += max(1, sum(c.count("\n") for c in row) + 1)
    for index, row in enumerate(rows):
        if len(row) == width and _mostly_text(row):
            return line_of_row[index]
    for index, row in enumerate(rows):
        if len(row) == width:
            return line_of_row[index]
    return 0


def detect_decimal(rows: list[list[str]], delimiter: str) -> str:
    if delimiter == ",":
        return "."
    comma = dot = 0
    for row in rows[1:]:
        for cell in row:
            cell = cell.strip()
            if _COMMA_DECIMAL_ONLY.match(cell):
                comma += 1
            elif _DOT_DECIMAL_ONLY.match(cell):
                dot += 1
    return "," if comma > dot else "."


def detect(data: bytes, file_name: str = "upload.csv") -> Dialect:
    """Guess encoding, delimiter, header row and decimal mark from the start of the file."""
    check_not_empty(data, file_name)
    sample = data[:SAMPLE_BYTES]
    encoding = detect_encoding(sample)
    text = _strict(sample, encoding)
    if text is None:
        text = sample.decode(encoding, errors="replace")
    text = text.lstrip("\ufeff")
    lines = [ln for ln in _sample_lines(text)]
    delimiter = detect_delimiter([ln for ln in lines if ln.strip()])
    header_row = detect_header_row(lines, delimiter)
    rows = _split(lines[header_row:], delimiter)
    return Dialect(encoding, delimiter, header_row, detect_decimal(rows, delimiter))


def check_not_empty(data: bytes, file_name: str) -> None:
    blank = b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"
    if not data or (not data[:65536].strip(blank) and not data.strip(blank)):
        raise UploadError("{file} is empty.", file=file_name)
    if looks_binary(data[:SAMPLE_BYTES]):
        raise UploadError("{file} is not a text file (it looks binary). Upload a CSV, TSV or TXT export.",
                          file=file_name)


# --- parsing --------------------------------------------------------------------


def _unique_names(names: list[str]) -> list[str]:
    seen: Counter[str] = Counter()
    out = []
    for index, name in enumerate(names):
        name = (name or "").strip().lstrip("\ufeff") or f"column_{index + 1}"
        seen[name] += 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


def read_table(data: bytes, dialect: Dialect, file_name: str, *, infer: bool = False) -> pa.Table:
    """The cells under the header at `dialect.header_row`; ragged rows raise UploadError.

    `infer=False` reads every cell as text. `infer=True` lets pyarrow type the columns whose sample is plain
    (numbers, ISO timestamps, booleans) in its parallel reader, and reads as text the columns a sample shows
    to be codes with leading zeros or padded cells; if a later cell contradicts the inferred type the file is
    read again as text.
    """
    check_not_empty(data, file_name)
    if dialect.encoding in ("utf-8", "utf-8-sig"):
        payload = data[3:] if data.startswith(codecs.BOM_UTF8) else data
    else:
        payload = _decode(data, dialect.encoding, file_name).lstrip("\ufeff").encode("utf-8")
    bad: list[tuple[int | None, int, int]] = []

    def on_invalid(row) -> str:
        bad.append((row.number, row.expected_columns, row.actual_columns))
        return "skip"

    start = 0
    for _ in range(dialect.header_row):
        start = payload.find(b"\n", start) + 1
        if start == 0:
            start = len(payload)
            break
    end = payload.find(b"\n", start)
    header_text = payload[start:end if end >= 0 else len(payload)].decode("utf-8", errors="replace").rstrip("\r")
    header_cells = next(csv.reader(io.StringIO(header_text), delimiter=dialect.delimiter), [])
    header_width = len(header_cells)
    trailing_empty = header_width > 1 and header_cells[-1].strip() == ""
    as_text = {n: pa.string() for n in header_cells}
    if infer:
        head = payload[start:start + 65536].decode("utf-8", errors="ignore").splitlines()[1:-1]
        rows = list(csv.reader(head, delimiter=dialect.delimiter))
        forced = set()
        for index, name in enumerate(header_cells):
            sample = [r[index] for r in rows if len(r) > index and r[index]]
            if any(_CODE_LIKE.match(v) or _PADDED.search(v) for v in sample):
                forced.add(name)
        as_text = {n: pa.string() for n in forced}
    head_bytes = payload[:SAMPLE_BYTES]
    newlines = b'"\n' in head_bytes or b'\n"' in head_bytes  # quoted cells spanning lines (slower parsing)

    def read(column_types: dict) -> pa.Table:
        return pacsv.read_csv(
            pa.BufferReader(payload),  # Arrow reads it in place; a Python file object would copy
            read_options=pacsv.ReadOptions(skip_rows=dialect.header_row, block_size=8 << 20),
            parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter, invalid_row_handler=on_invalid,
                                             newlines_in_values=newlines),
            convert_options=pacsv.ConvertOptions(column_types=column_types, null_values=list(NULL_TOKENS),
                                                 strings_can_be_null=True, quoted_strings_can_be_null=True,
                                                 decimal_point=dialect.decimal,
                                                 timestamp_parsers=[pacsv.ISO8601] if infer else None),
        )

    try:
        try:
            table = read(as_text)
        except pa.ArrowInvalid as exc:
            if not infer or "conversion error" not in str(exc).lower():
                raise
            bad.clear()
            as_text = {n: pa.string() for n in header_cells}
            table = read(as_text)
        if bad and not newlines and b'"' in payload:  # a quoted multi-line cell after the sample: read again
            bad.clear()
            newlines = True
            table = read({n: pa.string() for n in header_cells})
    except pa.ArrowInvalid as exc:
        reason = str(exc).splitlines()[0][:200]
        if "utf8" in reason.lower() or "utf-8" in reason.lower():
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError as decode_error:
                line = payload[: decode_error.start].count(b"\n") + 1
                raise UploadError("{file}: line {line} is not valid {encoding} text. Choose another encoding.",
                                  file=file_name, line=line, encoding=dialect.encoding) from None
        raise UploadError("{file} could not be read as CSV: {reason}", file=file_name, reason=reason) from None
    if bad:
        number, expected, actual = bad[0]
        line = _ragged_line(payload, dialect, expected) if number is None else number + dialect.header_row
        raise UploadError("{file}, line {line}: expected {expected} fields but found {actual}. Every row needs "
                          "as many fields as the header ({count} rows like this).", file=file_name, line=line,
                          expected=expected, actual=actual, count=len(bad))
    names = _unique_names(table.column_names)
    table = table.rename_columns(names)
    if trailing_empty and names[-1] == f"column_{len(names)}":
        last = table.column(len(names) - 1)
        if last.null_count == len(last) or pc.all(pc.equal(last, "")).as_py() in (True, None):
            table = table.drop_columns([names[-1]])
    if table.num_columns == 0 or (table.num_columns == 1 and table.num_rows == 0 and not header_width):
        raise UploadError("{file} is empty.", file=file_name)
    if table.num_rows == 0:
        raise UploadError("{file} has a header but no data rows.", file=file_name)
    return table


def _ragged_line(payload: bytes, dialect: Dialect, expected: int) -> int:
    text = payload.decode("utf-8", errors="replace")
    lines = text.splitlines()
    for index, row in enumerate(csv.reader(lines[dialect.header_row:], delimiter=dialect.delimiter)):
        if row and len(row) != expected:
            return dialect.header_row + index + 1
    return dialect.header_row + 1


# --- typing ---------------------------------------------------------------------


_PADDED = re.compile(r"^[ \t\u00a0]|[ \t\u00a0]$")


def _clean(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Trim blanks (only when a sample shows padded cells: trimming a million cells costs) and null tokens."""
    if not any(_PADDED.search(v) for v in _sample(column, 2000) if v):
        return column  # the reader already turned the null tokens into nulls
    column = pc.utf8_trim(column, characters=" \t\u00a0")
    return pc.if_else(pc.is_in(column, value_set=pa.array(NULL_TOKENS)), pa.scalar(None, pa.string()), column)


def _sample(values: pa.ChunkedArray | pa.Array, size: int = 500) -> list[str]:
    """Up to `size` evenly spaced non-null cells, picked by row number: dropping the nulls or taking from a
    chunked column would first copy the whole million-cell column."""
    present = len(values) - values.null_count
    if present <= size:
        return values.drop_null().to_pylist()
    rows = np.arange(0, present, present // size)[:size]  # ranks among the non-null cells
    if values.null_count:
        rows = np.flatnonzero(pc.is_valid(values).to_numpy(zero_copy_only=False))[rows]
    return _take_rows(values, rows)


def _take_rows(values: pa.ChunkedArray | pa.Array, rows: np.ndarray) -> list:
    """Cells at sorted row numbers, taken chunk by chunk."""
    chunks = values.chunks if isinstance(values, pa.ChunkedArray) else [values]
    starts = np.cumsum([0] + [len(c) for c in chunks])
    owner = np.searchsorted(starts, rows, side="right") - 1
    out = []
    for index in np.unique(owner):
        out.extend(chunks[index].take(pa.array(rows[owner == index] - starts[index])).to_pylist())
    return out


def _number_kind(sample: list[str], decimal: str) -> str | None:
    pattern = _COMMA_NUMBER if decimal == "," else _DOT_NUMBER
    if not sample or not all(pattern.match(v) for v in sample):
        return None
    if any(_CODE_LIKE.match(v) for v in sample):
        return None  # leading zeros or a leading + on digits: phone numbers, postcodes, codes
    if all(_INTEGER.match(v) for v in sample):
        return "integer"
    return "number"


def to_numbers(values: pa.ChunkedArray | pa.Array, decimal: str) -> pa.Array:
    """Text to float64; cells that are not numbers become null (callers count them)."""
    if decimal == ".":
        try:
            return pc.cast(values, pa.float64())  # the fast path: plain numbers
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    if decimal == ",":
        values = pc.replace_substring(values, ".", "")
        values = pc.replace_substring(values, ",", ".")
    else:
        values = pc.replace_substring(values, ",", "")
    pattern = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
    ok = pc.match_substring_regex(values, pattern)
    return pc.cast(pc.if_else(ok, values, pa.scalar(None, pa.string())), pa.float64())


def _date_format(sample: list[str]) -> tuple[str, bool] | None:
    if not sample:
        return None
    for fmt, pattern, aware in DATE_FORMATS:
        regex = re.compile("^" + pattern + "$")
        if not all(regex.match(v) for v in sample):
            continue
        try:
            pd.to_datetime(pd.Series(sample), format=fmt, utc=aware)
        except (ValueError, TypeError):
            continue
        return fmt, aware
    return None


ARROW_DATE_FORMATS = {"%Y-%m-%d", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"}


def _arrow_datetimes(values: pa.ChunkedArray, fmt: str) -> pd.Series | None:
    """pyarrow's strptime for zero-padded ISO text (fast); None when some cells need pandas' parser."""
    if fmt not in ARROW_DATE_FORMATS:
        return None
    parsed = pc.strptime(values, format=fmt, unit="us", error_is_null=True)
    if parsed.null_count != values.null_count:
        return None
    return pd.Series(parsed.to_numpy(zero_copy_only=False))


def to_datetimes(values: pd.Series, fmt: str, aware: bool) -> pd.Series:
    """Naive datetimes (timezone-aware values are converted to UTC); unparseable cells become NaT."""
    parsed = pd.to_datetime(values, format=fmt, errors="coerce", utc=aware)
    if aware:
        parsed = parsed.dt.tz_localize(None)
    return parsed


def _numpy_series(values: pa.ChunkedArray) -> pd.Series:
    """Numbers or timestamps as a Series, copied only when numpy shows Arrow's own memory (one chunk, no
    nulls: read-only); joining several chunks already made a fresh array, and a second copy costs ~3 ms."""
    array = values.to_numpy()
    return pd.Series(array, copy=not array.flags.writeable)


def _pretyped(column: pa.ChunkedArray) -> tuple[pd.Series, str] | None:
    """Columns pyarrow already typed (read_table with infer=True); None for text columns."""
    kind = column.type
    if pa.types.is_integer(kind):
        series = _numpy_series(column)
        return (series.astype("Int64") if column.null_count else series), "integer"
    if pa.types.is_floating(kind):
        return _numpy_series(column), "number"
    if pa.types.is_boolean(kind):
        return pd.Series(column.to_pandas()).astype("boolean"), "boolean"
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        values = pc.cast(column, pa.timestamp("us")) if pa.types.is_date(kind) else column
        if getattr(values.type, "tz", None):
            values = pc.cast(values, pa.timestamp(values.type.unit))
        return _numpy_series(values), "datetime"
    if pa.types.is_null(kind):
        return pd.Series([None] * len(column), dtype="string"), "text"
    return None


class _Typed(NamedTuple):
    series: pd.Series
    kind: str
    date_format: str | None = None
    unparsed: int = 0  # non-empty cells that did not convert


def _typed_numbers(values: pa.ChunkedArray, kind: str, decimal: str) -> _Typed:
    numbers = to_numbers(values, decimal)
    failed = numbers.null_count - values.null_count
    series = pd.Series(numbers.to_numpy(zero_copy_only=False))
    if kind == "integer" and failed == 0 and series.dropna().eq(series.dropna().round()).all():
        series = series.astype("Int64")
    return _Typed(series, kind, None, failed)


def _typed_datetimes(values: pa.ChunkedArray, fmt: str, aware: bool) -> _Typed:
    series = _arrow_datetimes(values, fmt)
    if series is None:
        series = to_datetimes(values.to_pandas(), fmt, aware)
    return _Typed(series, "datetime", fmt, int(len(values) - values.null_count - series.notna().sum()))


def _looks_boolean(sample: list[str]) -> bool:
    return bool(sample) and all(v.lower() in TRUE_TOKENS | FALSE_TOKENS for v in sample) and len(set(sample)) <= 2


def _booleans(values: pa.ChunkedArray) -> pd.Series:
    lowered = pc.utf8_lower(values)
    mapped = pc.if_else(pc.is_in(lowered, value_set=pa.array(sorted(TRUE_TOKENS))), True,
                        pc.if_else(pc.is_in(lowered, value_set=pa.array(sorted(FALSE_TOKENS))), False,
                                   pa.scalar(None, pa.bool_())))
    return mapped.to_pandas(types_mapper=pd.ArrowDtype).astype("boolean")


def _type_column(column: pa.ChunkedArray, decimal: str) -> _Typed:
    typed = _pretyped(column)
    if typed is not None:
        return _Typed(*typed)
    values = _clean(column)
    sample = _sample(values)
    kind = _number_kind(sample, decimal)
    if kind:
        return _typed_numbers(values, kind, decimal)
    if (found := _date_format(sample)) is not None:
        return _typed_datetimes(values, *found)
    if _looks_boolean(sample):
        return _Typed(_booleans(values), "boolean")
    return _Typed(values.to_pandas(), "text")


def in_threads(function: Callable, items) -> Iterator:
    """`map` on all cores, results in order. Arrow's kernels and numpy release the GIL, so the columns of a
    million-row file are converted or profiled side by side rather than one after another."""
    items = list(items)
    pool = ThreadPoolExecutor(max_workers=max(1, min(len(items), pa.cpu_count())))
    try:
        yield from pool.map(function, items)
    finally:  # a caller that stops early (a Streamlit rerun interrupts the progress callback) skips the rest
        pool.shutdown(cancel_futures=True)


def type_columns(table: pa.Table, decimal: str,
                 progress: Callable[[float], None] | None = None) -> tuple[pd.DataFrame, dict, dict, dict]:
    typed = {}
    results = in_threads(lambda column: _type_column(column, decimal), table.columns)
    for index, (name, result) in enumerate(zip(table.column_names, results)):
        typed[name] = result
        if progress:  # from this thread: a Streamlit progress bar belongs to the script's thread
            progress((index + 1) / max(1, table.num_columns))
    # the series are ours alone: no copy and no consolidation into 2-D blocks (~25 ms on a million rows)
    frame = pd.DataFrame({name: t.series for name, t in typed.items()}, copy=False)
    formats = {name: t.date_format for name, t in typed.items() if t.date_format}
    return (frame, {name: t.kind for name, t in typed.items()}, formats,
            {name: t.unparsed for name, t in typed.items()})


def parse(data: bytes, file_name: str = "upload.csv", dialect: Dialect | None = None, *,
          keep_raw: bool = True, progress: Callable[[float, str], None] | None = None) -> ParsedFile:
    """Detect (unless `dialect` is given, e.g. the user's overrides), read and type a whole file.

    `keep_raw=True` (imports: error messages quote cells as written) reads every cell as text first;
    `keep_raw=False` (analysis) lets pyarrow type plain columns while it reads, which is faster.
    """
    dialect = dialect or detect(data, file_name)
    if progress:
        progress(0.05, "read")
    table = read_table(data, dialect, file_name, infer=not keep_raw)
    if progress:
        progress(0.5, "type")
    frame, kinds, formats, unparsed = type_columns(
        table, dialect.decimal, (lambda f: progress(0.5 + 0.5 * f, "type")) if progress else None
    )
    raw = table.to_pandas() if keep_raw else None
    return ParsedFile(file_name, dialect, frame, raw, kinds, formats, unparsed)
