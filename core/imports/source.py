"""An uploaded file seen through its column mapping: typed columns by field, with line numbers for errors.

Shared by the importers (core.imports.importers) and the line items (core.imports.lines), so neither has
to import the other.
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa

from core.imports.parsing import DATE_FORMATS, ParsedFile, UploadError, _date_format, to_datetimes, to_numbers
from core.imports.sql import _by_value
from core.imports.templates import Recognition


class Source:
    """The parsed file seen through a mapping: typed columns by field, with line numbers for errors."""

    def __init__(self, parsed: ParsedFile, recognition: Recognition, defaults: dict[str, str],
                 extra: dict[str, str] | None = None):
        self.parsed, self.recognition = parsed, recognition
        self.mapping = {**recognition.mapping, **(extra or {})}  # field -> column, EXTRA_COLUMNS included
        self.constants = {**recognition.constants, **{k: v for k, v in defaults.items() if v not in (None, "")}}
        self.lines = pd.Series(parsed.lines(), index=parsed.frame.index)  # empty rows left out keep their lines

    def column(self, name: str) -> str | None:
        return self.mapping.get(name)

    def has(self, name: str) -> bool:
        return bool(self.column(name)) or name in self.constants

    def fail(self, index, name: str, template: str, **values):
        raise UploadError(template, file=self.parsed.file_name, line=int(self.lines.loc[index]),
                          column=self.column(name) or name, **values)

    def raw(self, name: str) -> pd.Series:
        column = self.column(name)
        if column is None:
            return pd.Series(self.constants.get(name), index=self.parsed.frame.index, dtype="object")
        source = self.parsed.raw if self.parsed.raw is not None else self.parsed.frame
        return source[column]

    def text(self, name: str, *, required: bool = False, default: str | None = None) -> pd.Series:
        column = self.column(name)
        if column is None:
            value = self.constants.get(name, default)
            if value is None and required:
                self.fail(self.parsed.frame.index[0], name, "{file}: required field {column} is missing.")
            return pd.Series(value, index=self.parsed.frame.index, dtype="object")
        values = self.parsed.frame[column]
        if not (pd.api.types.is_string_dtype(values) or values.dtype == object):
            values = self.raw(name)  # a number, date or flag: the cell as written
        values = stripped(values)
        if default is not None or name in self.constants:
            values = values.fillna(self.constants.get(name, default))
        if required:
            self.require(values, name)
        return values

    def require(self, values: pd.Series, name: str) -> None:
        missing = values.isna()
        if missing.any():
            self.fail(missing.idxmax(), name, "{file}, line {line}, column {column}: a value is required.")

    def number(self, name: str, *, required: bool = False, default: float | None = 0.0) -> pd.Series:
        column = self.column(name)
        if column is None:
            value = self.constants.get(name)
            if value is None and required:
                self.fail(self.parsed.frame.index[0], name, "{file}: required field {column} is missing.")
            return pd.Series(float(value) if value is not None else default, index=self.parsed.frame.index,
                             dtype="float64")
        values = self.parsed.frame[column]
        raw = self.raw(name)
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            text = stripped(raw).str.replace("\u00a0", "")
            decimal = self.parsed.decimals.get(column, self.parsed.dialect.decimal)  # the column's own mark
            values = pd.Series(to_numbers(pa.array(text, type=pa.string()), decimal)
                               .to_numpy(zero_copy_only=False), index=raw.index)
        values = values.astype("float64")
        missing = values.isna()
        if missing.any():  # a blank cell is no value; anything else that did not convert is an error
            text = stripped(raw)
            bad = missing & text.notna() & ~text.isin(["NA", "N/A", "nan", "null", "-"])
            if bad.any():
                index = bad.idxmax()
                self.fail(index, name, "{file}, line {line}, column {column}: {value} is not a number.",
                          value=repr(str(raw.loc[index])))
            if required:
                self.require(values.where(~missing, None).astype("object"), name)
        return values.fillna(default) if default is not None else values

    def when(self, name: str, *, required: bool = False) -> pd.Series:
        column = self.column(name)
        index = self.parsed.frame.index
        if column is None:
            value = self.constants.get(name)
            if value is None:
                if required:
                    self.fail(index[0], name, "{file}: required field {column} is missing.")
                return pd.Series(pd.NaT, index=index, dtype="datetime64[us]")
            return pd.Series(pd.Timestamp(value), index=index)
        values = self.parsed.frame[column]
        raw_text = stripped(self.raw(name))
        if not pd.api.types.is_datetime64_any_dtype(values):
            present = raw_text.dropna()
            found = best_date_format(present.head(500).tolist()) if len(present) else None
            if found is None and len(present):
                first = present.index[0]
                self.fail(first, name, "{file}, line {line}, column {column}: {value} is not a date.",
                          value=repr(str(raw_text.loc[first])))
            values = to_datetimes(raw_text, *found) if found else pd.Series(pd.NaT, index=index)
        bad = values.isna() & raw_text.notna()
        if bad.any():
            first = bad.idxmax()
            self.fail(first, name, "{file}, line {line}, column {column}: {value} is not a date.",
                      value=repr(str(raw_text.loc[first])))
        if required and values.isna().any():
            self.fail(values.isna().idxmax(), name, "{file}, line {line}, column {column}: a value is required.")
        return values

    def choice(self, name: str, allowed: tuple[str, ...], words: dict[str, str] | None = None, *,
               default: str | None = None) -> pd.Series:
        values = self.text(name, default=default)
        words = words or {}
        mapped = _by_value(values, lambda v: words.get(v.lower(), v.lower()))
        bad = mapped.notna() & ~mapped.isin(allowed)
        if bad.any():
            index = bad.idxmax()
            self.fail(index, name, "{file}, line {line}, column {column}: {value} is not one of {allowed}.",
                      value=repr(values.loc[index]), allowed=", ".join(allowed))
        if mapped.isna().any():
            if default is None:
                self.require(mapped, name)
            mapped = mapped.fillna(default)
        return mapped


def stripped(values: pd.Series) -> pd.Series:
    """Cells as trimmed text; blank and missing cells are missing."""
    text = values.astype("str").str.strip()
    return text.where(values.notna() & (text != ""))


def best_date_format(sample: list[str]) -> tuple[str, bool] | None:
    """The date format most sampled cells follow (the others are then reported as not dates)."""
    found = _date_format(sample)
    if found is not None:
        return found
    best, best_hits = None, 0
    for fmt, pattern, aware in DATE_FORMATS:
        regex = re.compile("^" + pattern + "$")
        hits = sum(1 for v in sample if regex.match(v))
        if hits > best_hits:
            best, best_hits = (fmt, aware), hits
    return best
