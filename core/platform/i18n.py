"""Translations through Python's gettext, from one .po catalogue per language.

Message ids are the English texts, so English needs no catalogue. The .po
files are compiled in memory on first use (no binary .mo files in git).
"""

from __future__ import annotations

import csv
import functools
import gettext
import io
import re

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from core.platform.config import PROJECT_ROOT

LOCALE_DIR = PROJECT_ROOT / "locale"
REFERENCE_DIR = PROJECT_ROOT / "data" / "reference"
LANGUAGES = {"en": "English", "zh": "中文"}  # each in its own language: these labels go into URLs
DEFAULT_LANGUAGE = "en"
BABEL_LOCALES = {"en": "en_US", "zh": "zh_Hans_CN"}


def catalogue_path(language: str):
    return LOCALE_DIR / language / "LC_MESSAGES" / "messages.po"


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    path = catalogue_path(language)
    if language == DEFAULT_LANGUAGE or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=BABEL_LOCALES.get(language))
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def translate(language: str, message: str, **values) -> str:
    text = translations(language if language in LANGUAGES else DEFAULT_LANGUAGE).gettext(message)
    return text.format(**values) if values else text


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined (dicts, registries); translate with t() on use."""
    return message


# --- names and codes that are data: written the same in every language ------------------------------------------

# Reference columns holding names and codes a Chinese page shows as they are: carriers and service codes,
# sales channels, market and currency codes, payment gateways, warehouse codes; and the currencies of the
# rate history (FX_FILE's columns after Date). Read from data/reference, so a carrier added there is data on
# every page without editing a list.
KEPT_COLUMNS = (
    ("shipping_services.csv", "carrier"), ("shipping_services.csv", "code"),
    ("channels.csv", "name"), ("channels.csv", "code"),
    ("markets.csv", "code"), ("markets.csv", "currency"),
    ("payment_fees.csv", "gateway"), ("payment_methods.csv", "gateway"),
    ("warehouses.csv", "code"),
)
FX_FILE = "fx_ecb.csv"
# What the reference files do not name: the acronyms and standards Chinese business text writes in Latin
# letters too, the card schemes and local payment brands, file encodings, and the product's own name.
ACRONYMS_AND_BRANDS = (
    "SKU", "SKUs", "GMV", "AOV", "CSAT", "VAT", "GST", "IOSS", "VAMP", "ECM", "HECM", "HHI", "ABC", "FBA", "3PL",
    "DDP", "DDU", "CIF", "CBM", "LCL", "SWOT", "PEST", "EOQ", "ROP", "SLA", "ODR", "FX", "LED", "UTC",
    "CSV", "TSV", "TXT",
    "Visa", "Mastercard", "Klarna", "Konbini", "Meta", "TikTok", "ACoS", "ROAS", "TACoS",
    "UTF-8", "UTF-16", "GB18030", "GBK", "Windows-1252", "ISO-8859-1", "Latin-1", "ISO",
    "Cross-Border Ops",
)
SKU_CODE = re.compile(r"\b[A-Z]{2,}-\d+\b")  # product codes such as PHN-0503
_ENGLISH_WORD = re.compile(r"[A-Za-z][A-Za-z-]{2,}")


@functools.cache
def kept_as_written() -> frozenset[str]:
    """Every name and code shown unchanged in every language (see KEPT_COLUMNS and ACRONYMS_AND_BRANDS),
    plus each language's own name from the language picker."""
    terms = set(ACRONYMS_AND_BRANDS) | set(LANGUAGES.values())
    for file_name, column in KEPT_COLUMNS:
        with (REFERENCE_DIR / file_name).open(encoding="utf-8") as fh:
            terms.update(row[column] for row in csv.DictReader(fh) if row[column])
    with (REFERENCE_DIR / FX_FILE).open(encoding="utf-8") as fh:
        terms.update(name for name in next(csv.reader(fh)) if name != "Date")
    return frozenset(terms)


@functools.cache
def _kept_pattern() -> re.Pattern:
    # Lower-case terms are codes (stripe, dhl_express), shown capitalised as brands (Stripe): any case matches.
    # Names and acronyms match as written, so "UPS" does not excuse "ups" inside English text.
    def one(term: str) -> str:
        body = re.escape(term)
        return f"(?i:{body})" if term == term.lower() else body

    alternatives = "|".join(one(term) for term in sorted(kept_as_written(), key=len, reverse=True))
    return re.compile(rf"(?<![A-Za-z0-9_])(?:{alternatives})(?![A-Za-z0-9_])")


def untranslated_words(text: str) -> list[str]:
    """English words left in a text meant to be in another language: words of three or more Latin letters,
    once the names and codes kept as written and SKU codes are taken out."""
    rest = _kept_pattern().sub(" ", SKU_CODE.sub(" ", text))
    words = (word.strip("-") for word in _ENGLISH_WORD.findall(rest))
    return [word for word in words if len(word) >= 3]
