"""Pages whose issues are still open: guarded like any page, with a short note."""

from __future__ import annotations

from collections.abc import Callable

from ui.auth import guard
from ui.i18n import t
from ui.widgets import not_available_yet


def placeholder(title: str, required_role: str) -> Callable[[], None]:
    def render() -> None:
        guard(required_role)
        not_available_yet(t(title))

    return render
