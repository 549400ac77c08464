"""User-provided text is shown literally, never as markdown (issue 15, item 8): a display name such as
`![x](https://…)` made every browser showing "Signed in as …" fetch that URL. tests/test_browser_routes.py
checks the rendered sidebar in a real browser."""

from __future__ import annotations

import datetime as dt

import pytest

from core.platform import users
from core.platform.db import unit_of_work
from tests import factories
from tests.apptest_support import app_as
from ui.text import plain

MARKDOWN_NAME = "![pixel](http://127.0.0.1:9/p.png) **Boss** :red[x] <b>y</b> `z` $1$ [link](http://e.org)"


@pytest.mark.parametrize("special", list("\\`*_{}[]()#+-.!|<>~$:=&"))
def test_every_markdown_special_character_is_escaped(special):
    assert plain(f"a{special}b") == f"a\\{special}b"


def test_a_line_break_cannot_start_a_new_markdown_block():
    assert plain("one\n# two\r\n- three") == "one \\# two  \\- three"


def test_plain_text_without_specials_is_unchanged():
    assert plain("Lena Wu 王") == "Lena Wu 王"


@pytest.fixture
def markdown_user(engine, monkeypatch):
    """A viewer with a markdown display name, in an empty database with one order (so nothing is seeded)."""
    with unit_of_work(engine) as session:
        factories.reference_rows(session)
        factories.order(session, 1, dt.date(2026, 1, 5), "US", 1, "20", "18", "9")
        users.create_user(session, "md-name", "Plain-Text-Pass-7", "viewer", display_name=MARKDOWN_NAME)
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)
    return "md-name"


def test_the_signed_in_display_name_is_escaped_in_the_sidebar(markdown_user):
    at = app_as(markdown_user)
    assert not at.exception, [e.value for e in at.exception]
    (caption,) = [c.value for c in at.sidebar.caption if c.value.startswith("Signed in as")]
    assert plain(MARKDOWN_NAME) in caption
    assert "![" not in caption and "](" not in caption
