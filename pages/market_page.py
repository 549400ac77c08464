"""Market research (not built yet: its issue fills this module)."""

from __future__ import annotations

from ui.auth import guard
from ui.i18n import t
from ui.widgets import not_available_yet


def render() -> None:
    guard("viewer")
    not_available_yet(t("Market research"))
