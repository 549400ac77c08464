"""Translations through Python's gettext, from one .po catalogue per language.

Message ids are the English texts, so English needs no catalogue. The .po
files are compiled in memory on first use (no binary .mo files in git).
"""

from __future__ import annotations

import functools
import gettext
import io

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from core.platform.config import PROJECT_ROOT

LOCALE_DIR = PROJECT_ROOT / "locale"
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
