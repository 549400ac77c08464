"""The one translation function pages use: `t("English text", name=value)`."""

from __future__ import annotations

import streamlit as st

from core.platform.i18n import DEFAULT_LANGUAGE, LANGUAGES, translate

LANGUAGE_KEY = "lang"


def language() -> str:
    chosen = st.session_state.get(LANGUAGE_KEY, DEFAULT_LANGUAGE)
    return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE


def t(message: str, **values) -> str:
    return translate(language(), message, **values)
