"""The interface in English and Simplified Chinese: a complete catalogue, and no English left on a Chinese page."""

from __future__ import annotations

import csv
import functools
import re
import string

import pytest

from core.platform.i18n import REFERENCE_DIR, translate, translations, untranslated_words
from tests.apptest_support import AppTest, app_as, open_page
from tests.test_app import ALL_PAGES
from tools import i18n as catalogue


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_a_chinese_translation():
    assert catalogue.missing() == []


@pytest.mark.parametrize("message", sorted(catalogue.all_messages()))
def test_translations_keep_the_placeholders(message):
    assert _placeholders(translate("zh", message)) == _placeholders(message)


def test_english_is_the_message_id_and_unknown_languages_fall_back():
    assert translate("en", "Overview") == "Overview"
    assert translate("zh", "Overview") == "总览"
    assert translate("xx", "Overview") == "Overview"
    assert translations("zh").gettext("Signed in as {name} ({role})") != "Signed in as {name} ({role})"


@pytest.fixture
def _app_env(seeded_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)


def _visible_texts(at: AppTest) -> list[str]:
    texts = [e.value for kind in ("title", "header", "subheader", "caption", "info", "warning", "error", "success")
             for e in getattr(at, kind)]
    texts += [m.label for m in at.metric]
    for kind in ("button", "selectbox", "multiselect", "date_input", "text_input", "slider", "radio", "checkbox",
                 "number_input", "toggle", "select_slider", "text_area"):
        texts += [w.label for w in getattr(at, kind)]
    texts += [tab.label for tab in at.tabs]
    # As the browser shows them: markdown drops the backslashes that escape user data (ui.text.plain).
    return [re.sub(r"\\(.)", r"\1", t) for t in texts if t]


@pytest.mark.parametrize(("text", "english"), [
    ("准时送达率(Royal Mail):94.12%(阈值 97.0%)", []),  # a carrier is data
    ("Stripe、PayPal 与 TikTok Shop 的结算,USD 与 EUR", []),  # gateways, channels, currency codes
    ("PHN-0503 的 SKU 库存覆盖天数", []),  # an SKU code and an acronym
    ("准时送达率(Royal Mail):94.12%(limit 97.0%)", ["limit"]),  # one word left in English
    ("Late shipment rate (USPS)", ["Late", "shipment", "rate"]),  # an untranslated message around a carrier
    ("Royal 邮件", ["Royal"]),  # only the whole name is data, not a word of it
    ("寄件 ups", ["ups"]),  # names match as written: "UPS" does not excuse the English word
])
def test_the_check_tells_data_from_untranslated_english(text, english):
    assert untranslated_words(text) == english


def _carriers() -> list[str]:
    with (REFERENCE_DIR / "shipping_services.csv").open(encoding="utf-8") as fh:
        return sorted({row["carrier"] for row in csv.DictReader(fh)})


@pytest.mark.parametrize("carrier", _carriers())
def test_an_on_time_alert_in_chinese_is_clean_for_every_carrier(carrier):
    """Which carriers breach depends on the data: the alert must read as Chinese whichever it is."""
    from pages.overview_page import ALERT_LABELS

    label = translate("zh", ALERT_LABELS["on_time_delivery"], scope=carrier)
    text = translate("zh", "{label}: {value} (limit {limit})", label=label, value="92.31%", limit="97.0%")
    assert untranslated_words(text) == []


@pytest.mark.usefixtures("_app_env")
@pytest.mark.parametrize("page", ALL_PAGES)
def test_a_chinese_page_shows_no_untranslated_english(page):
    at = AppTest.from_file(app_as.__globals__["APP"], default_timeout=60)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = "admin"
    at.query_params["lang"] = "中文"  # as a shared link carries it (bound widgets put the option label in the URL)
    at.run()
    open_page(at, page)
    assert not at.exception, [e.value for e in at.exception]
    # Data, not interface text: the signed-in user's display name, and the seed's name as the author of notes.
    data_values = ("Demo admin", "由 seed 于")
    texts = [functools.reduce(lambda text, value: text.replace(value, ""), data_values, t) for t in _visible_texts(at)]
    leftovers = {text: words for text in texts if (words := untranslated_words(text))}
    assert leftovers == {}


@pytest.mark.usefixtures("_app_env")
def test_a_users_saved_language_applies_when_the_link_names_none(seeded_url):
    from core.platform import users
    from core.platform.db import get_engine, unit_of_work

    with unit_of_work(get_engine(seeded_url)) as s:
        users.set_language(s, "viewer", "zh")
    try:
        at = app_as("viewer")
        assert not at.exception, [e.value for e in at.exception]
        assert [t.value for t in at.title] == ["总览"]
        assert not [w.value for w in at.warning if "Session State" in w.value]
    finally:
        with unit_of_work(get_engine(seeded_url)) as s:
            users.set_language(s, "viewer", "en")
