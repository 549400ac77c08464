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
# `cached_until_changed` is keyed on a data version and the day (both among its arguments), so it needs no short
# TTL to see new data; a day is only a backstop for a version that cannot see some write.
VERSIONED_TTL_SECONDS = 24 * 3600


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


@st.cache_data(ttl=VERSIONED_TTL_SECONDS, max_entries=CACHE_MAX_ENTRIES, show_spinner=False)
def _run_versioned(_function: Callable, function_id: str, url: str, version, *args, **kwargs):
    with unit_of_work(get_engine(url)) as session:
        return _function(session, *args, **kwargs)


def cached_until_changed(version, function: Callable[..., T], *args, **kwargs) -> T:
    """As `cached`, but kept until `version` (a data version the page reads on each full run, e.g.
    core.what_if.inputs_version) or the arguments (the day among them) change, not for CACHE_TTL_SECONDS: for
    loads that cost too much to redo every ten minutes. Another process's writes show as a new version."""
    function_id = f"{function.__module__}.{function.__qualname__}"
    return _run_versioned(function, function_id, database_url(), version, *args, **kwargs)


def uncached(function: Callable[..., T], *args, **kwargs) -> T:
    with unit_of_work(engine()) as session:
        return function(session, *args, **kwargs)


def clear_caches() -> None:
    """After any write that changes aggregates (imports, edits)."""
    _run.clear()
    _run_versioned.clear()
