"""Cached calls into core/: one shared mechanism, keyed by the function and its arguments.

Only aggregates that every user may see go through here; per-user data
(scenarios, a user's own records) is read uncached by the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import streamlit as st

from core.bootstrap import prepare_database
from core.platform.config import database_url
from core.platform.db import get_engine, unit_of_work

T = TypeVar("T")

CACHE_TTL_SECONDS = 600
CACHE_MAX_ENTRIES = 512


@st.cache_resource(show_spinner=False)
def _prepared_engine(url: str):
    return prepare_database(get_engine(url))


def engine():
    return _prepared_engine(database_url())


@st.cache_data(ttl=CACHE_TTL_SECONDS, max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def _run(_function: Callable, function_id: str, url: str, *args, **kwargs):
    with unit_of_work(get_engine(url)) as session:
        return _function(session, *args, **kwargs)


def cached(function: Callable[..., T], *args, **kwargs) -> T:
    """Call `function(session, *args)` through the shared cache (arguments must be hashable values)."""
    function_id = f"{function.__module__}.{function.__qualname__}"
    return _run(function, function_id, database_url(), *args, **kwargs)


def uncached(function: Callable[..., T], *args, **kwargs) -> T:
    with unit_of_work(engine()) as session:
        return function(session, *args, **kwargs)


def clear_caches() -> None:
    """After any write that changes aggregates (imports, edits)."""
    _run.clear()
