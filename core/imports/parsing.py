"""Read an uploaded CSV/TSV/TXT: detect its dialect, parse it fast, type its columns.

Detection looks at a sample (the first 256 KiB):

- encoding: a byte-order mark wins (UTF-8, UTF-16 LE/BE as Excel saves "Unicode text"); UTF-16 without a
  BOM is recognised by its zero bytes; then strict UTF-8; then GB18030 when the non-ASCII bytes come in
  pairs and decode to CJK ideographs; otherwise Windows-1252 (Latin-1 for the 5 bytes cp1252 leaves
  undefined).
- delimiter: the one of `,` `;` tab `|` that splits the most sample lines into the same number (> 1) of
  fields, quotes respected.
- header row: the first line with that many fields (or one fewer, when the rows below end in an empty field:
  a trailing delimiter on every data row) whose cells are mostly non-empty text and not a pivot table's filter
  values (`(All)`); lines above it are a preamble (bank and payment-app statements) and are skipped. A first
  row whose dates sit over a column of dates is data, not a header (card statements without one): the columns
  are then named column_1..n (`Dialect.has_header`).
- decimal comma: when the delimiter is not a comma and numbers like `261,96` or `1.234,50` outnumber
  numbers like `261.96`. Each column may still read the other way: a column whose values are numbers only
  with the other mark (`"-41,00"` quoted in a comma-delimited German export) takes that mark
  (`ParsedFile.decimals`); a column that reads both ways (`1,234`) follows the file's mark.

Parsing runs pyarrow's multithreaded CSV reader (every column read as text for imports, which quote cells
as written; plain columns typed by pyarrow itself for analysis), then types the remaining columns, side by
side in threads, from a sample: integer, number (decimal point or comma, thousands separators), date/time in one of
`DATE_FORMATS` (ISO, `2020/2/21 0:00`, `10/2/2017 10:56`, `21.02.2020`, Shopify's `... -0400`), boolean,
or text. Digit strings longer than `EXACT_DIGITS` (a float holds 15 digits: two IDs would become one) and
integer columns named as identifiers (`Order No`, `txn_id`, `订单号`) stay text; a column that fails to type
for any other reason is read as text rather than failing the page.

Around the table, nothing is dropped silently (`ParsedFile.skipped`, counted with example lines): rows whose
every cell is empty (blank lines, lines of spaces, the `,,,,` rows Excel keeps) are left out, and so are rows
of another width below the last row of the table (a footer: `合计`, an export timestamp). A short or long row
inside the table is still an error. A quoted field that never closes (it would swallow every later line into
one cell) is refused, naming the line where it opened.

Every problem (empty, binary, header only, ragged rows, unclosed quotes) raises `UploadError` naming the
file, line and column; `UploadError.template` is the English message id and `values` its placeholders, so
the page can translate it.
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
BLOCK_BYTES = 8 << 20  # pyarrow reads blocks of this size in parallel
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
EXACT_DIGITS = 15  # a float64 holds 15 significant digits exactly; longer digit strings are identifiers
_LONG_DIGITS = r"^[+-]?\d{%d,}$" % (EXACT_DIGITS + 1)
# words that name an identifier column (`Order No`, `txn_id`, `OrderID`, `Reference`) and the Chinese for
# order / serial / waybill / account numbers: their digits are codes, not quantities
IDENTIFIER_WORDS = frozenset({"id", "no", "nr", "num", "number", "ref", "reference"})
IDENTIFIER_CJK = ("单号", "编号", "流水号", "号码", "账号", "卡号")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
PIVOT_FILTER_VALUES = frozenset({"(All)", "(Multiple Items)", "(全部)", "(多项)", "(Alle)", "(Tout)"})
RUNAWAY_LINES = 1000  # a legitimate quoted cell (an address, a note) spans fewer lines than this
FOOTER_MAX_ROWS = 50  # more rows of another width at the end is a second table, not a footer: refused
SKIPPED_EXAMPLES = 5


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
    header_row: int  # 0-based line index of the header (or of the first data row); lines above it are skipped
    decimal: str  # "." or ","
    has_header: bool = True  # False: the first row is data and the columns are named column_1..n

    def describe(self) -> dict[str, str]:
        return {"encoding": self.encoding, "delimiter": DELIMITER_NAMES.get(self.delimiter, self.delimiter),
                "header_row": str(self.header_row + 1), "decimal": self.decimal,
                "has_header": str(self.has_header)}


# Why rows were left out, shown with t(template, **values) (`values` are filled by SkippedRows.values).
SKIPPED_MESSAGES = {
    "empty": N_("{count} empty rows were left out (lines {lines})."),
    "footer": N_("{count} rows below the table were left out as its footer (lines {lines}): {examples}"),
}


@dataclass(frozen=True)
class SkippedRows:
    kind: str  # a key of SKIPPED_MESSAGES
    count: int
    lines: tuple[int, ...]  # the first SKIPPED_EXAMPLES lines, 1-based
    examples: tuple[str, ...] = ()  # footer rows as written

    @property
    def template(self) -> str:
        return SKIPPED_MESSAGES[self.kind]

    @property
    def values(self) -> dict[str, str | int]:
        more = " …" if self.count > len(self.lines) else ""
        return {"count": f"{self.count:,}", "lines": ", ".join(map(str, self.lines)) + more,
                "examples": " | ".join(self.examples) + (more if self.examples else "")}


@dataclass
class ParsedFile:
    file_name: str
    dialect: Dialect
    frame: pd.DataFrame  # typed columns
    raw: pd.DataFrame | None  # the same cells as text, kept for import error messages
    kinds: dict[str, str]  # column -> integer, number, datetime, boolean, text
    date_formats: dict[str, str] = field(default_factory=dict)
    unparsed: dict[str, int] = field(default_factory=dict)  # column -> non-empty cells that did not convert
    decimals: dict[str, str] = field(default_factory=dict)  # numeric columns read with the other decimal mark
    skipped: tuple[SkippedRows, ...] = ()  # rows left out, by reason
    row_lines: np.ndarray | None = None  # the line of each row when rows were left out or cells span lines

    @property
    def first_data_line(self) -> int:
        """1-based line number of the first data row, as an editor shows it."""
        return self.dialect.header_row + (2 if self.dialect.has_header else 1)

    def line_of(self, index: int) -> int:
        if self.row_lines is not None:
            return int(self.row_lines[int(index)])
        return self.first_data_line + int(index)

    def lines(self) -> np.ndarray:
        """The line each row of `frame` starts on, in order (error messages name it)."""
        if self.row_lines is not None:
            return self.row_lines
        return np.arange(len(self.frame)) + self.first_data_line


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
    # split on "\n" only, as the reader and the line numbers in messages do (str.splitlines also breaks on
    # form feeds, U+2028 and the like, which would shift every line after them)
    lines = [line.removesuffix("\r") for line in text.split("\n")]
    if text.endswith("\n"):
        lines = lines[:-1]
    elif len(lines) > 1:
        lines = lines[:-1]  # the last line of a sample may be cut short
    return lines[:SAMPLE_LINES]


def _split(lines: list[str], delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO("\n".join(lines)), delimiter=delimiter))


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


def _header_shaped(rows: list[list[str]], index: int, width: int) -> bool:
    """As wide as the table, or one field narrower when the next row ends in an empty field (bank exports that
    end every data row, but not the header, with a delimiter)."""
    row = rows[index]
    if len(row) == width:
        return True
    if len(row) != width - 1 or width < 3:
        return False
    below = next((r for r in rows[index + 1:] if r), None)
    return below is not None and len(below) == width and below[-1].strip() == ""


def _pivot_filter(row: list[str]) -> bool:
    """A spreadsheet pivot's filter row above its table (`Region,(All)`)."""
    return any(c.strip() in PIVOT_FILTER_VALUES for c in row)


def _split_with_lines(lines: list[str], delimiter: str) -> tuple[list[list[str]], list[int]]:
    rows = _split(lines, delimiter)
    line_of_row, line = [], 0
    for row in rows:  # map csv records back to physical lines (quoted cells can span lines)
        line_of_row.append(line)
        line += max(1, sum(c.count("\n") for c in row) + 1)
    return rows, line_of_row


def detect_header_row(lines: list[str], delimiter: str) -> int:
    rows, line_of_row = _split_with_lines(lines, delimiter)
    widths = Counter(len(r) for r in rows if len(r) > 1)
    if not widths:
        return 0
    width = widths.most_common(1)[0][0]
    for index, row in enumerate(rows):
        if _header_shaped(rows, index, width) and _mostly_text(row) and not _pivot_filter(row):
            return line_of_row[index]
    for index, row in enumerate(rows):
        if len(row) == width:
            return line_of_row[index]
    return 0


_DATE_PATTERNS = tuple(re.compile("^" + pattern + "$") for _fmt, pattern, _aware in DATE_FORMATS)


def _date_shape(value: str) -> int | None:
    value = value.strip()
    return next((i for i, pattern in enumerate(_DATE_PATTERNS) if pattern.match(value)), None)


def detect_has_header(lines: list[str], delimiter: str, header_row: int) -> bool:
    """False when the would-be header holds a date over a column of dates of the same shape: a header names
    its columns and a date is never a column's name there (statements without a header row)."""
    rows, line_of_row = _split_with_lines(lines, delimiter)
    if header_row not in line_of_row:
        return True
    index = line_of_row.index(header_row)
    below = [r for r in rows[index + 1:index + 51] if r]
    if not below:
        return True
    for column, cell in enumerate(rows[index]):
        shape = _date_shape(cell)
        if shape is None:
            continue
        values = [r[column] for r in below if len(r) > column and r[column].strip()]
        if values and all(_date_shape(v) == shape for v in values):
            return False
    return True


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
    has_header = detect_has_header(lines, delimiter, header_row)
    rows = _split(lines[header_row:], delimiter)
    return Dialect(encoding, delimiter, header_row, detect_decimal(rows if has_header else [[], *rows], delimiter),
                   has_header)


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


def looks_like_identifier(name: str) -> bool:
    """`Order No`, `txn_id`, `OrderID`, `Reference`, `订单号`: its digits are a code, not a quantity."""
    if any(word in name for word in IDENTIFIER_CJK):
        return True
    return any(word.lower() in IDENTIFIER_WORDS for word in _WORDS.findall(name))


@dataclass
class _Read:
    table: pa.Table
    skipped: tuple[SkippedRows, ...] = ()
    row_lines: np.ndarray | None = None


class _Lines:
    """Where each line of the payload ends (built only for files with rows to locate: ~0.1 s per 100 MB)."""

    def __init__(self, payload: bytes):
        self.payload = payload
        self.ends = np.flatnonzero(np.frombuffer(payload, np.uint8) == 10)

    @property
    def count(self) -> int:
        return len(self.ends) + (0 if self.payload.endswith(b"\n") or not self.payload else 1)

    def line_at(self, offset: int) -> int:
        return int(np.searchsorted(self.ends, offset, side="left")) + 1

    def text(self, line: int) -> bytes:
        start = int(self.ends[line - 2]) + 1 if line > 1 else 0
        end = int(self.ends[line - 1]) if line - 1 < len(self.ends) else len(self.payload)
        return self.payload[start:end].rstrip(b"\r")


def _line_at(payload: bytes, offset: int) -> int:
    return payload.count(b"\n", 0, offset) + 1


def _full_lines(payload: bytes, text: bytes, start: int, limit: int) -> list[int]:
    """Offsets of the lines after `start` that are exactly `text` (searched as a line start: fast)."""
    found, position = [], start
    if payload.startswith(text, start) and payload[start + len(text):start + len(text) + 1] in (b"", b"\r", b"\n"):
        found.append(start)
    needle = b"\n" + text
    while len(found) < limit:
        at = payload.find(needle, position)
        if at < 0:
            break
        end = at + len(needle)
        if payload[end:end + 1] in (b"", b"\r", b"\n"):
            found.append(at + 1)
        position = at + 1
    return found


def _open_quote(text: str, delimiter: str) -> tuple[int, str] | None:
    """(field index, text after the quote) of the quoted field a record's first line break falls in. Only the
    record's first line is scanned: a record goes on past a line break only inside a quoted field."""
    field_index, at_start, quoted, opened = 0, True, False, 0
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == '"':
                if text[i + 1:i + 2] == '"':
                    i += 1
                else:
                    quoted = False
            elif ch == "\n":
                return field_index, text[opened + 1:]
        elif ch == '"' and at_start:
            quoted, opened = True, i
        elif ch == delimiter:
            field_index += 1
            at_start = True
            i += 1
            continue
        elif ch == "\n":
            return None
        at_start = False
        i += 1
    return None


def _record_like_lines(content: str, delimiter: str, width: int) -> int:
    """How many of a cell's continuation lines (its first 50) have a whole row's delimiters."""
    lines = content[:65536].split("\n")[1:51]
    return sum(1 for line in lines if line.count(delimiter) >= width - 1)


def _unclosed(file_name: str, line: int, column: str, swallowed: int) -> UploadError:
    return UploadError("{file}, line {line}, column {column}: a quoted field starts here and is never closed, so the "
                       "{lines} lines after it would be read into this one cell. Close the quote (or remove it) "
                       "and upload again.", file=file_name, line=line, column=column, lines=f"{swallowed:,}")


def _check_quotes(table: pa.Table, payload: bytes, body: int, names: list[str], delimiter: str,
                  bad_texts: list[str], file_name: str) -> list[int]:
    """Refuse a quoted field that never closes; returns the indexes of the text columns with multi-line cells.

    Three shapes: the field runs to the end of the file (the last cell of the last row is the rest of the
    file); it runs into a later quote, or to the end, inside a row left short or long (an invalid row that
    spans lines); or it swallows lines that are whole rows (their delimiters) and then closes on a later
    quoted field. Legitimate multi-line cells (addresses, notes) are none of these."""
    width = len(names)
    found: list[tuple[int, str, int]] = []
    for text in bad_texts:
        if "\n" not in text or '"' not in text:
            continue
        opened = _open_quote(text, delimiter)
        if opened is None or _record_like_lines(opened[1], delimiter, width) < 1:
            continue
        field_index, content = opened
        at = payload.find(text[:4096].encode(), body)
        if at >= 0:
            column = names[field_index] if field_index < width else f"column_{field_index + 1}"
            found.append((_line_at(payload, at), column, content.count("\n")))
    multi_line = []
    end = len(payload)
    while end > 0 and payload[end - 1] in b"\r\n":
        end -= 1
    for index, column in enumerate(table.columns):
        if not pa.types.is_string(column.type) or column.null_count == len(column):
            continue
        spans = pc.fill_null(pc.match_substring(column, "\n"), False)
        if not pc.any(spans).as_py():
            continue
        multi_line.append(index)
        rows = np.flatnonzero(spans.to_numpy(zero_copy_only=False))
        if len(rows) > 1000 and width >= 3:  # many multi-line notes: only those with two rows' delimiters
            counts = pc.count_substring(column.take(pa.array(rows)), delimiter).to_numpy(zero_copy_only=False)
            last = rows[-1]
            rows = np.union1d(rows[counts >= 2 * (width - 1)], [last])
        for row in rows.tolist():
            cell = column[row].as_py()
            swallowed = cell.rstrip("\r\n").count("\n")
            escaped = cell.rstrip("\r\n").replace('"', '""').encode()
            if row == len(column) - 1 and index == width - 1 and payload[end - len(escaped):end] == escaped \
                    and payload[end - len(escaped) - 1:end - len(escaped)] == b'"':
                found.append((_line_at(payload, end - len(escaped) - 1), names[index], swallowed))
            elif width >= 3 and _record_like_lines(cell, delimiter, width) >= 2:
                head = cell[:cell.index("\n") + 200].replace('"', '""').encode()
                at = payload.find(b'"' + head, body)
                if at >= 0:
                    found.append((_line_at(payload, at), names[index], swallowed))
    if found:
        raise _unclosed(file_name, *min(found))
    return multi_line


def _rows_short(table: pa.Table, payload: bytes, start: int, dialect: Dialect, bad_count: int,
                bad: list[tuple[int, int, str]]) -> bool:
    """Fewer records than lines, beyond what cells spanning lines explain. Read block by block without
    quotes spanning lines, a quote that never closes silently drops the rest of its 8 MB block."""
    lines = payload.count(b"\n", start) + (0 if payload.endswith(b"\n") else 1) - (1 if dialect.has_header else 0)
    inside = sum(pc.sum(pc.count_substring(c, "\n")).as_py() or 0 for c in table.columns
                 if pa.types.is_string(c.type))
    return table.num_rows + bad_count + inside + sum(text.count("\n") for _e, _a, text in bad) < lines


def _odd_quote_line(payload: bytes, start: int) -> int:
    """The line where a quote opens that never closes, from the lines with an odd number of quotes (a quoted
    field spanning lines opens on one and closes on another; doubled quotes count twice): the first one whose
    partner is missing or more than RUNAWAY_LINES away."""
    data = np.frombuffer(payload, np.uint8)[start:]
    ends = np.flatnonzero(data == 10)
    starts = np.concatenate([[0], ends + 1])
    starts = starts[starts < len(data)]
    quotes = np.add.reduceat((data == 34).view(np.uint8), starts, dtype=np.int64)
    odd = np.flatnonzero(quotes % 2 == 1)
    first = _line_at(payload, start)
    for opened, closed in zip(odd[0::2], list(odd[1::2]) + [None]):
        if closed is None or closed - opened > RUNAWAY_LINES:
            return first + int(opened)
    return first + int(odd[0]) if len(odd) else first


def _column_at(payload: bytes, line: int, names: list[str], delimiter: str) -> str:
    """The column of the quoted field left open at the end of `line`."""
    lines = _Lines(payload) if line > 1 else None
    text = (lines.text(line) if lines else payload[:payload.find(b"\n")]).decode("utf-8", errors="replace")
    opened = _open_quote(text + "\n", delimiter)
    index = opened[0] if opened else len(names) - 1
    return names[index] if index < len(names) else f"column_{index + 1}"


def _blank_rows(table: pa.Table) -> np.ndarray:
    """Rows whose every cell is missing or only spaces. Column by column over the rows still blank, so on a
    million-row file only the first column is read in full."""
    rows = None
    for column in table.columns:
        values = column if rows is None else column.take(pa.array(rows))
        blank = pc.is_null(values)
        if pa.types.is_string(values.type):
            blank = pc.or_(blank, pc.fill_null(pc.utf8_is_space(values), False))
        hits = np.flatnonzero(blank.to_numpy(zero_copy_only=False))
        rows = hits if rows is None else rows[hits]
        if not len(rows):
            break
    return rows if rows is not None else np.array([], dtype=np.int64)


def _table_start(payload: bytes, dialect: Dialect, file_name: str) -> int:
    start = 0
    for _ in range(dialect.header_row):
        start = payload.find(b"\n", start) + 1
        if start == 0:
            start = len(payload)
            break
    if start >= len(payload):
        lines = payload.count(b"\n") + (0 if payload.endswith(b"\n") else 1)
        if dialect.header_row >= lines:
            raise UploadError("{file} has {lines} lines; the table cannot start on line {line}.", file=file_name,
                              lines=lines, line=dialect.header_row + 1)
    return start


def _names(payload: bytes, start: int, dialect: Dialect) -> tuple[list[str], int, list[list[str]]]:
    """The column names, how many of them the file's header gave, and the rows of a sample below it.

    Rows wider than the header (a trailing delimiter on every data row, or a header line the user chose
    above the table) get names column_k for their extra fields; a file without a header is named
    column_1..n."""
    if dialect.has_header:
        end = payload.find(b"\n", start)
        header_text = payload[start:end if end >= 0 else len(payload)].decode("utf-8", errors="replace")
        header = next(csv.reader([header_text.rstrip("\r")], delimiter=dialect.delimiter), [])
        below = end + 1 if end >= 0 else len(payload)
    else:
        header, below = [], start
    chunk = payload[below:below + 65536]
    lines = chunk.decode("utf-8", errors="ignore").split("\n")
    if len(chunk) == 65536:
        lines = lines[:-1]  # cut short
    try:
        rows = list(csv.reader([ln.rstrip("\r") for ln in lines], delimiter=dialect.delimiter))
    except csv.Error:
        rows = []
    widths = Counter(len(r) for r in rows if r)
    width = widths.most_common(1)[0][0] if widths else len(header)
    return _unique_names(header + [""] * max(0, width - len(header))), len(header), rows


def _ragged(file_name: str, line: int, expected: int, actual: int, count: int) -> UploadError:
    return UploadError("{file}, line {line}: expected {expected} fields but found {actual}. Every row needs "
                       "as many fields as the header ({count} rows like this).", file=file_name, line=line,
                       expected=expected, actual=actual, count=count)


_TOTAL_WORDS = re.compile(r"^\s*(grand total|total|subtotal|sum|summe|gesamt|合计|总计|小计|共计)",
                          re.IGNORECASE)


def _shape(value: str) -> str:
    value = value.strip()
    if _DOT_NUMBER.match(value) or _COMMA_NUMBER.match(value):
        return "number"
    return "date" if _date_shape(value) is not None else "text"


def _footer_like(text: str, delimiter: str, rows: list[list[str]]) -> bool:
    """A total (`合计`, `Total`) or a row whose cells do not fit their columns in `rows` (the table's rows:
    text under dates, a note under amounts); a short row whose cells fit is a data row cut short, an error."""
    cells = next(csv.reader([text], delimiter=delimiter), [])
    if cells and _TOTAL_WORDS.match(cells[0]):
        return True
    for index, cell in enumerate(cells):
        shapes = {_shape(r[index]) for r in rows[:50] if len(r) > index and r[index].strip()}
        if cell.strip() and shapes and _shape(cell) not in shapes:
            return True
    return False


def _set_aside(payload: bytes, body: int, bad: list[tuple[int, int, str]], bad_count: int, file_name: str,
               delimiter: str, sample_rows: list[list[str]]) -> tuple[list[int], list[int], list[str]]:
    """Sort the invalid rows into lines of spaces (empty rows) and a footer below the table (rows narrower than
    it, after its last row); any other invalid row is an error naming its line.

    Returns (empty lines, footer lines, footer rows as written)."""
    expected, actual, first_text = bad[0]
    if bad_count > len(bad):  # too many to be a footer
        raise _ragged(file_name, _first_line(payload, body, first_text), expected, actual, bad_count)
    lines = _Lines(payload)
    located: dict[int, tuple[int, int, str]] = {}
    for text, group in _group_texts(bad).items():
        for at in _full_lines(payload, text.encode(), body, len(group) + 10):
            located.setdefault(lines.line_at(at), group[0])
    empty = sorted(line for line, (_e, _a, text) in located.items() if not text.strip())
    others = sorted(line for line, (_e, _a, text) in located.items() if text.strip())
    if len(empty) + len(others) < len(bad):  # a row that could not be found again: say where it starts
        raise _ragged(file_name, _first_line(payload, body, first_text), expected, actual, len(bad))
    if not others:
        return empty, [], []
    last_row = _last_table_line(lines, set(located), len(bad) + 100_000)
    # a footer is narrower than the table and is not its last row cut short (a total, a note, a timestamp)
    table_rows = [r for r in sample_rows if len(r) == expected]
    inside = [line for line in others if line < last_row or located[line][1] > located[line][0]
              or not _footer_like(located[line][2], delimiter, table_rows)]
    if inside or len(others) > FOOTER_MAX_ROWS:
        line = inside[0] if inside else others[0]
        e, a, _text = located[line]
        raise _ragged(file_name, line, e, a, len(others))
    return empty, others, [located[line][2] for line in others]


def _group_texts(bad: list[tuple[int, int, str]]) -> dict[str, list[tuple[int, int, str]]]:
    groups: dict[str, list] = {}
    for row in bad:
        groups.setdefault(row[2], []).append(row)
    return groups


def _first_line(payload: bytes, body: int, text: str) -> int:
    at = payload.find(text[:4096].encode(), body) if text else -1
    return _line_at(payload, at) if at >= 0 else _line_at(payload, body)


def _last_table_line(lines: _Lines, invalid: set[int], limit: int) -> int:
    """The last line that belongs to the table: walking up from the end past invalid rows, blank lines and
    lines of delimiters only (the empty rows Excel keeps)."""
    line = lines.count
    filler = b" \t\r\"" + b",;|\t"
    while line > 1 and limit > 0:
        if line not in invalid and lines.text(line).strip(filler):
            return line
        line -= 1
        limit -= 1
    return line


def _row_lines(first: int, rows: int, skipped_lines: list[int], newlines: np.ndarray | None) -> np.ndarray:
    """The line each record starts on: records fill the lines below the header in order, except the lines
    of rows set aside; a record with cells spanning lines takes that many more."""
    spare = np.asarray(sorted(skipped_lines), dtype=np.int64)
    extra = int(newlines.sum()) if newlines is not None else 0
    slots = np.arange(first, first + rows + extra + len(spare), dtype=np.int64)
    if len(spare):
        slots = slots[~np.isin(slots, spare)]
    step = np.arange(rows, dtype=np.int64)
    if newlines is not None:
        step = step + np.concatenate([[0], np.cumsum(newlines)[:-1]]).astype(np.int64)
    return slots[np.minimum(step, len(slots) - 1)]


def _skipped(kind: str, lines: list[int], examples: list[str] = ()) -> SkippedRows:
    return SkippedRows(kind, len(lines), tuple(lines[:SKIPPED_EXAMPLES]),
                       tuple(e.strip()[:80] for e in list(examples)[:SKIPPED_EXAMPLES]))


def _forced_text(names: list[str], rows: list[list[str]], infer: bool) -> set[str]:
    """Columns pyarrow must read as text when it types columns: codes with leading zeros, padded cells,
    identifiers (by name, or digits beyond what a float holds)."""
    if not infer:
        return set(names)
    long_digits = re.compile(_LONG_DIGITS)
    forced = set()
    for index, name in enumerate(names):
        sample = [r[index] for r in rows if len(r) > index and r[index]]
        if looks_like_identifier(name) or any(_CODE_LIKE.match(v) or _PADDED.search(v) or long_digits.match(v)
                                              for v in sample):
            forced.add(name)
    return forced


def _beyond_exact(column: pa.ChunkedArray) -> bool:
    """A number pyarrow typed that may have lost digits (>= 1e15: a float holds 15): read it again as text."""
    if not (pa.types.is_integer(column.type) or pa.types.is_floating(column.type)):
        return False
    low, high = pc.min_max(column).values()
    return any(v.as_py() is not None and abs(v.as_py()) >= 10 ** EXACT_DIGITS for v in (low, high))


def read_table(data: bytes, dialect: Dialect, file_name: str, *, infer: bool = False) -> pa.Table:
    """The cells under the header at `dialect.header_row`; see `_read_table`."""
    return _read_table(data, dialect, file_name, infer=infer).table


def _read_table(data: bytes, dialect: Dialect, file_name: str, *, infer: bool = False) -> _Read:
    """The cells under the header at `dialect.header_row`, with the rows left out and the line of each row.

    `infer=False` reads every cell as text. `infer=True` lets pyarrow type the columns whose sample is plain
    (numbers, ISO timestamps, booleans) in its parallel reader, and reads as text the columns a sample shows
    to be codes with leading zeros, padded cells or identifiers; if a later cell contradicts the inferred
    type, or a number is too long to be exact, the file (or that column) is read again as text.
    """
    check_not_empty(data, file_name)
    if dialect.encoding in ("utf-8", "utf-8-sig"):
        payload = data[3:] if data.startswith(codecs.BOM_UTF8) else data
    else:
        payload = _decode(data, dialect.encoding, file_name).lstrip("\ufeff").encode("utf-8")
    bad: list[tuple[int, int, str]] = []
    bad_count = [0]

    def on_invalid(row) -> str:
        bad_count[0] += 1
        if len(bad) < 1000:
            bad.append((row.expected_columns, row.actual_columns, row.text))
        return "skip"

    start = _table_start(payload, dialect, file_name)
    names, from_header, sample_rows = _names(payload, start, dialect)
    body = pa.py_buffer(payload).slice(start)  # Arrow reads it in place; a Python file object would copy
    all_text = {n: pa.string() for n in names}
    as_text = {n: pa.string() for n in _forced_text(names, sample_rows, infer)}
    quoted = b'"' in payload
    head_bytes = payload[start:start + SAMPLE_BYTES]
    newlines = b'"\n' in head_bytes or b'\n"' in head_bytes  # quoted cells spanning lines (slower parsing)

    def read(column_types: dict) -> pa.Table:
        bad.clear()
        bad_count[0] = 0
        return pacsv.read_csv(
            pa.BufferReader(body),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1 if dialect.has_header else 0,
                                           block_size=BLOCK_BYTES),
            # empty lines are read as rows (all missing), so they are counted and keep the line numbers right
            parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter, invalid_row_handler=on_invalid,
                                             newlines_in_values=newlines, ignore_empty_lines=False),
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
            as_text = all_text
            table = read(as_text)
        if infer and (inexact := [n for n, c in zip(names, table.columns) if _beyond_exact(c)]):
            as_text = {**as_text, **{n: pa.string() for n in inexact}}
            table = read(as_text)
        if not newlines and quoted and (bad or _rows_short(table, payload, start, dialect, bad_count[0], bad)):
            newlines = True  # a quoted multi-line cell after the sample: read again, quotes spanning lines
            table = read(all_text)
    except pa.ArrowInvalid as exc:
        reason = str(exc).splitlines()[0][:200]
        if "straddl" in reason:  # one quoted "cell" longer than a block (BLOCK_BYTES): a quote that never closed
            line = _odd_quote_line(payload, start)
            raise _unclosed(file_name, line, _column_at(payload, line, names, dialect.delimiter),
                            payload.count(b"\n") + (0 if payload.endswith(b"\n") else 1) - line) from None
        if "utf8" in reason.lower() or "utf-8" in reason.lower():
            try:
                payload.decode("utf-8")
            except UnicodeDecodeError as decode_error:
                line = payload[: decode_error.start].count(b"\n") + 1
                raise UploadError("{file}: line {line} is not valid {encoding} text. Choose another encoding.",
                                  file=file_name, line=line, encoding=dialect.encoding) from None
        raise UploadError("{file} could not be read as CSV: {reason}", file=file_name, reason=reason) from None
    multi_line = _check_quotes(table, payload, start, names, dialect.delimiter, [b[2] for b in bad],
                               file_name) if quoted else []
    empty_lines, footer_lines, footer_rows = [], [], []
    if bad:
        empty_lines, footer_lines, footer_rows = _set_aside(payload, start, bad, bad_count[0], file_name,
                                                              dialect.delimiter, sample_rows)
    table = _drop_unnamed_empty_columns(table, from_header)
    if table.num_columns == 0 or (table.num_columns == 1 and table.num_rows == 0 and not from_header
                                  and dialect.has_header):
        raise UploadError("{file} is empty.", file=file_name)
    first = dialect.header_row + (2 if dialect.has_header else 1)
    blank = _blank_rows(table) if table.num_rows else np.array([], dtype=np.int64)
    row_lines = None
    if empty_lines or footer_lines or multi_line or len(blank):
        newline_counts = None
        if multi_line:
            counts = [pc.fill_null(pc.count_substring(table.column(i), "\n"), 0).to_numpy(zero_copy_only=False)
                      for i in multi_line]
            newline_counts = np.sum(counts, axis=0)
        row_lines = _row_lines(first, table.num_rows, empty_lines + footer_lines, newline_counts)
    skipped = []
    if len(blank):
        keep = np.ones(table.num_rows, dtype=bool)
        keep[blank] = False
        empty_lines = sorted(empty_lines + row_lines[blank].tolist())
        table = table.filter(pa.array(keep))
        row_lines = row_lines[keep]
    if empty_lines:
        skipped.append(_skipped("empty", empty_lines))
    if footer_lines:
        skipped.append(_skipped("footer", footer_lines, footer_rows))
    if table.num_rows == 0:
        if dialect.has_header:
            raise UploadError("{file} has a header but no data rows.", file=file_name)
        raise UploadError("{file} is empty.", file=file_name)
    return _Read(table, tuple(skipped), row_lines)


def _drop_unnamed_empty_columns(table: pa.Table, named: int) -> pa.Table:
    """Drop trailing columns without a name in the header (a trailing delimiter) that hold nothing."""
    drop = []
    for index in range(table.num_columns - 1, -1, -1):
        name = table.column_names[index]
        column = table.column(index)
        unnamed = index >= named or name == f"column_{index + 1}"
        if not unnamed or not named:
            break
        empty = column.null_count == len(column) or (pa.types.is_string(column.type) and
                                                     pc.all(pc.equal(column, "")).as_py() in (True, None))
        if not empty:
            break
        drop.append(name)
    return table.drop_columns(drop) if drop else table


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


def _unambiguous(value: str, decimal: str) -> bool:
    """A number that reads only with this decimal mark (`-41,00` with a comma; `3.5` with a point)."""
    if decimal == ",":
        return bool(_COMMA_DECIMAL_ONLY.match(value)) and not _DOT_NUMBER.match(value)
    return bool(_DOT_DECIMAL_ONLY.match(value)) and not _COMMA_NUMBER.match(value)


def _number_reading(sample: list[str], decimal: str) -> tuple[str, str] | None:
    """(integer or number, the decimal mark) of a sample: the file's mark, else the other one when every
    value reads with it and some read only with it (a quoted `"-41,00"` in a comma-delimited file)."""
    kind = _number_kind(sample, decimal)
    if kind:
        return kind, decimal
    other = "," if decimal == "." else "."
    kind = _number_kind(sample, other)
    if kind and any(_unambiguous(v, other) for v in sample):
        return kind, other
    return None


def _long_digits(values: pa.ChunkedArray) -> bool:
    """Any digit string longer than a float holds exactly (checked on every cell: one late ID is enough)."""
    longest = pc.max(pc.utf8_length(values)).as_py()
    if longest is None or longest <= EXACT_DIGITS:
        return False
    return bool(pc.any(pc.match_substring_regex(values, _LONG_DIGITS)).as_py())


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
    decimal: str | None = None  # the decimal mark a number column was read with


def _typed_numbers(values: pa.ChunkedArray, kind: str, decimal: str) -> _Typed:
    numbers = to_numbers(values, decimal)
    failed = numbers.null_count - values.null_count
    series = pd.Series(numbers.to_numpy(zero_copy_only=False))
    if kind == "integer" and failed == 0 and series.dropna().eq(series.dropna().round()).all():
        series = series.astype("Int64")
    return _Typed(series, kind, None, failed, decimal)


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


def _as_text(column: pa.ChunkedArray) -> _Typed:
    values = column if pa.types.is_string(column.type) else pc.cast(column, pa.string())
    return _Typed(values.to_pandas(), "text")


def _type_column(column: pa.ChunkedArray, decimal: str, name: str = "") -> _Typed:
    """One column's type and values. Typing never fails the upload: a column that cannot be converted (an
    unforeseen cast error) is shown as the text it is."""
    try:
        return _typed_column(column, decimal, name)
    except (TypeError, ValueError, OverflowError, pa.ArrowException):
        return _as_text(column)


def _typed_column(column: pa.ChunkedArray, decimal: str, name: str) -> _Typed:
    typed = _pretyped(column)
    if typed is not None:
        series, kind = typed
        if kind == "integer" and (looks_like_identifier(name) or _beyond_exact(column)):
            return _as_text(column)
        return _Typed(series, kind)
    values = _clean(column)
    sample = _sample(values)
    reading = _number_reading(sample, decimal)
    if reading:
        kind, mark = reading
        if (kind == "integer" and looks_like_identifier(name)) or _long_digits(values):
            return _Typed(values.to_pandas(), "text")
        return _typed_numbers(values, kind, mark)
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


def _type_all(table: pa.Table, decimal: str, progress: Callable[[float], None] | None = None) -> dict[str, _Typed]:
    typed = {}
    results = in_threads(lambda item: _type_column(item[1], decimal, item[0]),
                         zip(table.column_names, table.columns))
    for index, (name, result) in enumerate(zip(table.column_names, results)):
        typed[name] = result
        if progress:  # from this thread: a Streamlit progress bar belongs to the script's thread
            progress((index + 1) / max(1, table.num_columns))
    return typed


def _frame(typed: dict[str, _Typed]) -> pd.DataFrame:
    # the series are ours alone: no copy and no consolidation into 2-D blocks (~25 ms on a million rows)
    return pd.DataFrame({name: t.series for name, t in typed.items()}, copy=False)


def type_columns(table: pa.Table, decimal: str,
                 progress: Callable[[float], None] | None = None) -> tuple[pd.DataFrame, dict, dict, dict]:
    typed = _type_all(table, decimal, progress)
    formats = {name: t.date_format for name, t in typed.items() if t.date_format}
    return (_frame(typed), {name: t.kind for name, t in typed.items()}, formats,
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
    read = _read_table(data, dialect, file_name, infer=not keep_raw)
    if progress:
        progress(0.5, "type")
    typed = _type_all(read.table, dialect.decimal, (lambda f: progress(0.5 + 0.5 * f, "type")) if progress else None)
    raw = read.table.to_pandas() if keep_raw else None
    return ParsedFile(file_name, dialect, _frame(typed), raw, {name: t.kind for name, t in typed.items()},
                      {name: t.date_format for name, t in typed.items() if t.date_format},
                      {name: t.unparsed for name, t in typed.items()},
                      {name: t.decimal for name, t in typed.items() if t.decimal and t.decimal != dialect.decimal},
                      read.skipped, read.row_lines)
