"""The upload pipeline: read a staff member's export, profile it for ad-hoc analysis, import it.

The upload page calls this package's names and nothing below it:
- reading: `detect` (encoding, delimiter, preamble) and `parse` (typed columns): core.imports.parsing;
- ad-hoc analysis: `analyse` (invalid cells, date order, total rows), `profile`, `build_view`, `pivot`,
  `measure_label`, `adds_up`: core.imports.profiling;
- recognising a known export and its columns: `recognise`, `map_columns`, `TEMPLATES`, `KNOWN_EXPORTS`:
  core.imports.templates;
- importing and undoing: `import_file`, `import_history`, `undo_import` (imports and undos take turns), and
  `known_currencies` (what an import can convert): core.imports.importers, which
  writes through core.imports.lines (order lines), core.imports.customers and core.imports.sql (rows by
  natural key), reading the file through core.imports.source.

A new import source: a template in core.imports.templates (its columns and how to recognise it), its
canonical records in core.imports.importers, and a test with a real export in tests/fixtures/real/.
"""

from core.imports.importers import (
    ImportOptions,
    UndoRefused,
    import_file,
    import_history,
    known_currencies,
    undo_import,
)
from core.imports.parsing import DELIMITER_NAMES, ENCODINGS, Dialect, UploadError, detect, parse
from core.imports.profiling import (
    DATE_BUCKETS,
    DATE_ORDERS,
    MEASURES,
    UNREADABLE,
    Analysis,
    DateReading,
    Filter,
    TotalRow,
    ViewError,
    ViewSpec,
    adds_up,
    analyse,
    build_view,
    measure_label,
    pivot,
    profile,
)
from core.imports.templates import (
    EXPORTS_BY_KIND,
    KNOWN_EXPORTS,
    TEMPLATES,
    map_columns,
    recognise,
    template_columns,
    template_csv,
)

__all__ = [
    "DATE_BUCKETS", "DATE_ORDERS", "UNREADABLE", "Analysis", "DateReading", "TotalRow", "adds_up", "analyse",
    "DELIMITER_NAMES", "ENCODINGS", "EXPORTS_BY_KIND", "KNOWN_EXPORTS", "MEASURES", "TEMPLATES",
    "Dialect", "Filter", "ImportOptions", "UndoRefused", "UploadError", "ViewError", "ViewSpec", "build_view",
    "detect", "import_file", "import_history", "map_columns", "measure_label", "parse", "pivot", "profile",
    "recognise", "template_columns", "template_csv", "undo_import", "known_currencies",
]
