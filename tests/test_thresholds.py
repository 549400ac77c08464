from __future__ import annotations

import ast
import datetime as dt
import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from core import risk, thresholds
from core.platform import formatting
from tests.apptest_support import AppTest, app_as, open_page
from tools import i18n


@pytest.mark.parametrize(
    ("day", "limit"),
    [(dt.date(2026, 3, 31), 0.022), (dt.date(2026, 4, 1), 0.015), (dt.date(2027, 1, 1), 0.015)],
)
def test_vamp_limit_changes_on_1_april_2026(day, limit):
    assert thresholds.vamp_limit(day) == limit


@pytest.mark.parametrize(
    ("value", "limit", "higher_is_worse", "expected"),
    [
        (0.031, 0.04, True, "ok"),  # below 80 % of 4 % (3.2 %)
        (0.032, 0.04, True, "warning"),  # exactly 80 % of the limit
        (0.0399, 0.04, True, "warning"),
        (0.04, 0.04, True, "breach"),
        (None, 0.04, True, "ok"),
        (0.97, 0.95, False, "ok"),  # 3 % short of 100 %, room is 5 %: 60 %
        (0.96, 0.95, False, "warning"),  # 4 % short: 80 % of the room
        (0.949, 0.95, False, "breach"),
    ],
)
def test_band(value, limit, higher_is_worse, expected):
    assert thresholds.band(value, limit, higher_is_worse=higher_is_worse) == expected


# --- every label that shows a limit is formatted from core.thresholds ------------------------------------------

PAGES = Path(__file__).resolve().parent.parent / "pages"


@pytest.fixture
def app_env(seeded_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)


def _column_labels(at: AppTest) -> dict[str, str]:
    """column -> label of every table on the page (the column config travels as JSON in the proto)."""
    found = {}
    for frame in at.dataframe:
        for key, config in json.loads(frame.proto.columns or "{}").items():
            if "label" in config:
                found[key.removeprefix("col:")] = config["label"]
    return found


def _texts(at: AppTest) -> str:
    parts = [e.value for kind in ("caption", "markdown", "warning", "info", "success") for e in getattr(at, kind)]
    parts += [m.label for m in at.metric] + [m.help or "" for m in at.metric]
    cells = [str(v) for frame in at.dataframe for column in frame.value.select_dtypes("object")
             for v in frame.value[column]]
    return "\n".join(parts + list(_column_labels(at).values()) + cells)


def _page(url_path: str, section: str | None = None) -> AppTest:
    at = open_page(app_as("manager"), url_path)
    if section:
        at.segmented_control(key="lg_section").set_value(section).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.usefixtures("app_env")
def test_account_health_columns_show_the_limits_with_the_rules_signs():
    labels = _column_labels(_page("risk"))
    # band(): a ceiling breaches at the limit itself (healthy is below it), a floor below it (healthy is >=)
    for metric, limit, higher_is_worse in risk.HEALTH_LIMITS:
        sign = "<" if higher_is_worse else "≥"
        assert f"({sign} {formatting.percent(limit, digits=_digits(limit))})" in labels[metric], labels[metric]
    assert labels["valid_tracking_rate"] == "Valid tracking (≥ 95%)"


def _digits(value: float) -> int:
    return next(d for d in range(4) if abs(round(value * 100, d) - value * 100) < 1e-9)


# (page, logistics section, threshold, patched value, text the page must then show)
PATCHED = [
    ("risk", None, "VALID_TRACKING_RATE_MIN", 0.935, "Valid tracking (≥ 93.5%)"),
    ("risk", None, "ORDER_DEFECT_RATE_MAX", 0.0125, "Order defect rate (< 1.25%)"),
    ("risk", None, "EARLY_WARNING_SHARE", 0.75, "Early warning at 75% of each limit"),
    ("risk", None, "ODR_WINDOW_DAYS", 45, "Orders (45 days)"),
    ("risk", None, "RISK_BANDS", (("low", 3), ("medium", 8), ("high", 14), ("critical", 25)),
     "1–3 low, 4–8 medium, 9–14 high, 15–25 critical"),
    ("risk", None, "FRAUD_VELOCITY_ATTEMPTS", 7, "Velocity (7+ attempts"),
    ("payments", None, "VAMP_MIN_COUNT", 1750, "once 1,750 are counted"),
    ("payments", None, "ECM_MIN_RATIO", 0.0175, "≥ 1.75% of last month's transactions"),
    ("payments", None, "HECM_MIN_CHARGEBACKS", 350, "HECM: ≥ 350 and"),
    ("logistics", "suppliers", "SUPPLIER_GRADE_FLOORS", (("A", 0.92), ("B", 0.85), ("C", 0.75)),
     "A ≥ 92%, B ≥ 85%, C ≥ 75%, else D"),
    ("logistics", "inventory", "OVERSTOCK_DAYS", 91, "Overstock (cover > 91 days)"),
    ("product-selection", None, "LIFECYCLE_GROWTH_MIN", 0.2, "+20% or more growth, −20% or less decline"),
    ("product-selection", None, "ABC_A_SHARE", 0.7, "top 70% of revenue, B = the next 25%"),
    ("customer-service", None, "RETURN_RATE_FLAG", 0.0, "return more than 0% of units sold"),
]


@pytest.mark.usefixtures("app_env")
@pytest.mark.parametrize(("page", "section", "name", "value", "shown"), PATCHED,
                         ids=[f"{p}-{n}" for p, _, n, _, _ in PATCHED])
def test_a_threshold_label_follows_its_threshold(monkeypatch, page, section, name, value, shown):
    before = _texts(_page(page, section))
    assert shown not in before
    monkeypatch.setattr(thresholds, name, value)
    assert shown in _texts(_page(page, section))


def _page_messages() -> list[tuple[str, int, str]]:
    """(file, line, message id) of every t() / N_() text in the page modules."""
    return [(path.name, line, message) for path in sorted(PAGES.glob("*.py"))
            for line, message, _, _ in extract_from_file("python", str(path), keywords=i18n.KEYWORDS)
            if isinstance(message, str)]


# A percentage, a comparison with a number, "5+" or a grouped number (1,500) in interface text is a limit written
# out by hand. Examples that explain an input are not limits.
LIMIT_IN_TEXT = re.compile(r"\d\s*%|[<>≤≥]\s*\d|\d\+|\b\d{1,3}(?:,\d{3})+\b")
EXAMPLES = {"+5 % means the {currency} is 5 % stronger: each sale is worth more USD.",
            "e.g. DE price +5 %, sea freight", "Herfindahl-Hirschman index: sum of squared percentage shares "
            "(0-10,000). Below {moderate} unconcentrated, {moderate}-{high} moderate, above {high} high."}


def test_no_page_text_spells_out_a_limit():
    written = [(f, line, m) for f, line, m in _page_messages() if LIMIT_IN_TEXT.search(m) and m not in EXAMPLES]
    assert written == []


def _threshold_floats() -> set[float]:
    def walk(value):
        if isinstance(value, tuple):
            for item in value:
                yield from walk(item)
        elif isinstance(value, float):
            yield value

    return {v for name, value in vars(thresholds).items() if name.isupper() for v in walk(value)}


def test_no_page_draws_thresholds_from_literal_numbers():
    """A list such as [0.9, 0.8, 0.7] in a page is a copy of a threshold table (the grade lines were)."""
    limits, copies = _threshold_floats(), []
    for path in sorted(PAGES.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.List, ast.Tuple)):
                numbers = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, float)]
                if sum(n in limits for n in numbers) >= 2:
                    copies.append((path.name, node.lineno, numbers))
    assert copies == []
