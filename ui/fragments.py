"""st.fragment with the page's role check at the start of each of its runs.

A widget inside a fragment reruns only the fragment, not the page, so the page's own guard() does not run
again: without this, a manager who was demoted or disabled keeps getting fresh what-if results from the
sliders until something reruns the whole page. Pages use `@guarded_fragment(role)` and never st.fragment
(tests/test_fragments.py checks that every fragment in pages/ and ui/ goes through here).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st

from ui import auth

F = TypeVar("F", bound=Callable[..., Any])


def guarded_fragment(role: str, **fragment_options: Any) -> Callable[[F], F]:
    """Decorate a function as st.fragment(**fragment_options) whose every run starts with ui.auth.guard(role):
    the user is read from the database again, and a signed-out, disabled or demoted user gets the guard's
    message in place of the fragment (its run stops there)."""

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            auth.guard(role)
            return function(*args, **kwargs)

        return st.fragment(guarded, **fragment_options)

    return decorate
