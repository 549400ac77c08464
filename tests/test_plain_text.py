"""User-provided text is shown literally, never as markdown (issue 15, item 8): a display name such as
`![x](https://…)` made every browser showing "Signed in as …" fetch that URL. tests/test_browser_routes.py
checks the rendered sidebar in a real browser.

ui.text.plain escapes what markdown would read; a URL in the text still becomes a link there (GFM finds
autolinks in the text after the escapes), which is why the display name goes through st.text instead."""

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


def test_the_signed_in_display_name_is_shown_as_plain_text(markdown_user):
    at = app_as(markdown_user)
    assert not at.exception, [e.value for e in at.exception]
    assert [x.value for x in at.sidebar.text if x.value.startswith("Signed in as")] == [
        f"Signed in as {MARKDOWN_NAME} (viewer)"]
    rendered_as_markdown = [*at.sidebar.caption, *at.sidebar.markdown]
    assert not [m.value for m in rendered_as_markdown if "Boss" in m.value]
