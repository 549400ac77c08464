"""Keep the Chinese catalogue complete.

    python -m tools.i18n update   # extract message ids, merge locale/zh/fragments/*.po, write messages.po
                                  # (delete a fragment once merged: messages.po is the one catalogue)
    python -m tools.i18n check    # list message ids without a translation (exit 1 if any)

Message ids come from t("...") and N_("...") calls in app.py, pages/, ui/ and core/, from the templates of
the errors core raises (UploadError, UndoRefused, ViewError, PermissionDenied, `fail`), and from the
seeded names users read (markets, categories) in data/reference/.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from core.platform.i18n import BABEL_LOCALES, LOCALE_DIR, catalogue_path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [ROOT / "app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").glob("*.py")),
           *sorted((ROOT / "core").rglob("*.py"))]
# Core errors carry an English message id (their `template`) that pages translate with t(error.template, ...):
# the literal at the raise is the id. Babel keyword specs give its argument position (1-based); `fail` is
# the importers' `src.fail(index, column, template, ...)`, matched as a method call too.
KEYWORDS = {"t": None, "N_": None, "UploadError": (1,), "UndoRefused": (1,), "ViewError": (1,), "fail": (3,),
            "PermissionDenied": (1,), "CostEntryError": (2,)}
SEEDED_NAMES = {"markets.csv": "name", "categories.csv": "name"}
LANGUAGE = "zh"


def source_messages() -> dict[str, str]:
    """msgid -> 'file:line' of its first use."""
    found: dict[str, str] = {}
    for path in SOURCES:
        for lineno, message, _comments, _context in extract_from_file("python", str(path), keywords=KEYWORDS):
            if isinstance(message, str) and message:
                found.setdefault(message, f"{path.relative_to(ROOT)}:{lineno}")
    return found


def seeded_messages() -> dict[str, str]:
    found = {}
    for file_name, column in SEEDED_NAMES.items():
        path = ROOT / "data" / "reference" / file_name
        with path.open(encoding="utf-8") as fh:
            for row in csv.DictReader(line for line in fh if not line.startswith("#")):
                found.setdefault(row[column], f"data/reference/{file_name}")
    return found


def all_messages() -> dict[str, str]:
    return {**seeded_messages(), **source_messages()}


def _read(path: Path) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=BABEL_LOCALES[LANGUAGE])


def update() -> Catalog:
    path = catalogue_path(LANGUAGE)
    catalog = _read(path) if path.exists() else Catalog(locale=BABEL_LOCALES[LANGUAGE])
    catalog.project, catalog.version, catalog.fuzzy = "Cross-Border Ops", "1", False
    fragments = sorted((LOCALE_DIR / LANGUAGE / "fragments").glob("*.po"))
    for fragment in fragments:
        for message in _read(fragment):
            if message.id and message.string:
                catalog.add(message.id, message.string)
    wanted = all_messages()
    for msgid, where in wanted.items():
        existing = catalog.get(msgid)
        if existing is None:
            catalog.add(msgid, "", locations=[(where, 0)])
    for message in list(catalog):
        if message.id and message.id not in wanted:
            catalog.delete(message.id)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, sort_output=True, omit_header=False, width=120, include_lineno=False)
    return catalog


def missing() -> list[str]:
    path = catalogue_path(LANGUAGE)
    catalog = _read(path) if path.exists() else Catalog()
    return sorted(m for m in all_messages() if not (catalog.get(m) and catalog.get(m).string))


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "update":
        update()
    gaps = missing()
    for msgid in gaps:
        print(f"untranslated: {msgid!r}")
    print(f"{len(gaps)} untranslated of {len(all_messages())}")
    return 1 if gaps and command == "check" else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
