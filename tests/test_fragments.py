"""Fragments check the user and role on each of their own runs (issue 15, item 3).

A widget inside a fragment reruns only the fragment, so the page's guard does not run again. AppTest can run a
fragment on its own: a widget callback calling st.rerun(scope=<fragment key>) reruns just that fragment, the way
a slider inside it does in the browser. tests/test_browser_routes.py moves a real what-if slider after a demotion.
"""

from __future__ import annotations

import ast
import datetime as dt
from pathlib import Path

import pytest

from core.platform import users
from core.platform.db import unit_of_work
from tests import factories
from tests.apptest_support import TIMEOUT, AppTest

ROOT = Path(__file__).resolve().parent.parent
MANAGER = "frag-manager"
# Counted outside st.session_state, which signing a disabled user out may clear.
RUNS = {"page": 0, "fragment": 0}


@pytest.fixture
def app_env(engine, monkeypatch):
    """An empty migrated database with one order (so the app does not seed the demo data) and a manager."""
    with unit_of_work(engine) as session:
        factories.reference_rows(session)
        factories.order(session, 1, dt.date(2026, 1, 5), "US", 1, "20", "18", "9")
        users.create_user(session, MANAGER, "Fragment-Pass-42", "manager")
    monkeypatch.setenv("DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("CBO_COOKIE_KEY", "test-cookie-key-" + "x" * 40)
    RUNS.update(page=0, fragment=0)
    return engine


def _probe_script():
    """A manager-only fragment counting its runs, and a button (outside it) that reruns only the fragment."""
    import streamlit as st

    from tests.test_fragments import RUNS
    from ui.fragments import guarded_fragment

    RUNS["page"] += 1

    @guarded_fragment("manager", key="probe")
    def probe() -> None:
        RUNS["fragment"] += 1
        st.text(f"fragment run {RUNS['fragment']}")

    probe()
    st.button("Rerun only the fragment", key="rerun_probe", on_click=lambda: st.rerun(scope="probe"))


def _probe_as(username: str) -> AppTest:
    at = AppTest.from_function(_probe_script, default_timeout=TIMEOUT)
    at.session_state["authentication_status"] = True
    at.session_state["username"] = username
    at.session_state["name"] = username
    return at.run()


def _rerun_fragment(at: AppTest) -> AppTest:
    at.button(key="rerun_probe").click()
    return at.run()


def _change(engine, **change) -> None:
    with unit_of_work(engine) as session:
        if "role" in change:
            users.set_role(session, MANAGER, change["role"])
        if "disabled" in change:
            users.set_disabled(session, MANAGER, change["disabled"])


def test_a_fragment_rerun_runs_the_fragment_alone(app_env):
    """The mechanism the other tests rely on: the page body does not run again, the fragment does."""
    at = _probe_as(MANAGER)
    assert RUNS == {"page": 1, "fragment": 1}
    at = _rerun_fragment(at)
    assert not at.exception, [e.value for e in at.exception]
    assert RUNS == {"page": 1, "fragment": 2}


@pytest.mark.parametrize(("change", "message"), [
    ({"role": "staff"}, "needs the manager role"),
    ({"disabled": True}, "Please log in"),
])
def test_a_demoted_or_disabled_user_is_refused_on_the_fragments_next_run(app_env, change, message):
    at = _probe_as(MANAGER)
    assert RUNS == {"page": 1, "fragment": 1}
    _change(app_env, **change)
    at = _rerun_fragment(at)
    assert not at.exception, [e.value for e in at.exception]
    # (A session that just ended reruns the whole app into the login form; a demotion stays in the fragment.)
    assert RUNS["fragment"] == 1, "the fragment body ran again for a user without the role"
    assert any(message in element.value for element in [*at.error, *at.warning])
    assert not [text.value for text in at.text if text.value.startswith("fragment run")]


# --------------------------------------------------------------------------- every fragment goes through the guard


def _sources() -> list[Path]:
    return sorted([*(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py"), ROOT / "app.py"])


def _is_st_fragment(node: ast.AST) -> bool:
    """`st.fragment`, `streamlit.fragment` or a bare imported `fragment`, called or not."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr == "fragment" and isinstance(node.value, ast.Name) and node.value.id in {"st", "streamlit"}
    return isinstance(node, ast.Name) and node.id == "fragment"


def _guarded_roles(tree: ast.AST) -> list[str]:
    roles = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "guarded_fragment":
            assert node.args and isinstance(node.args[0], ast.Constant), "guarded_fragment needs a literal role"
            roles.append(node.args[0].value)
    return roles


def _page_role(tree: ast.AST) -> str:
    render = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "render")
    first = render.body[0]
    call = first.value if isinstance(first, (ast.Expr, ast.Assign)) else None
    assert isinstance(call, ast.Call) and getattr(call.func, "id", None) == "guard", "render() starts with guard()"
    return call.args[0].value


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_fragment_bypasses_the_guard(path):
    if path == ROOT / "ui" / "fragments.py":
        return  # the one place that wraps st.fragment
    tree = ast.parse(path.read_text(), str(path))
    bare = [node.lineno for node in ast.walk(tree) if _is_st_fragment(node)]
    assert not bare, f"{path.name}: st.fragment at lines {bare}; use ui.fragments.guarded_fragment(role)"
    if path.parent.name == "pages" and path.name != "__init__.py":
        page_role = _page_role(tree)
        for role in _guarded_roles(tree):
            assert users.role_allows(role, page_role), f"{path.name}: a {role} fragment on a {page_role} page"


def test_the_page_fragments_are_found():
    """The scan above sees the real fragments (what-if, shipping what-if, FX shock, ranking)."""
    found = {path.name: _guarded_roles(ast.parse(path.read_text())) for path in (ROOT / "pages").glob("*.py")}
    assert found["what_if_page.py"] == ["manager", "manager"]
    assert found["logistics_page.py"] == ["manager"]
    assert sum(len(roles) for roles in found.values()) >= 5
