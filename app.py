"""Cross-Border Ops: the router. Builds the navigation from the signed-in user's role.

Run with `./bin/run`. Streamlit's main script is bin/streamlit_app.py, which calls main() here: a main
script beside the pages/ folder would make Streamlit serve each pages/*.py as a page of its own until
st.navigation first ran in the process (see that file). Pages are functions (see pages/) registered under
their url_path in the registry in pages/__init__.py (ui.navigation turns it into st.navigation).
"""

from __future__ import annotations

import streamlit as st

from core.bootstrap import DatabaseUnavailable
from core.platform import clock, deployment
from core.platform.config import dev_mode
from pages import PAGES
from ui.auth import current_user, demo_note, login_page, sync_login_cookie
from ui.data import engine, uncached
from ui.i18n import t
from ui.navigation import pages_for, signed_out_pages
from ui.sidebar import apply_saved_language, filters_sidebar, language_picker


def main() -> None:
    st.set_page_config(page_title="Cross-Border Ops", page_icon=":material/public:", layout="wide")
    if dev_mode():
        st.set_option("client.showErrorDetails", "full")
    try:
        with st.spinner(t("Preparing the database (first start builds the demo data, about a minute)…")):
            engine()
    except DatabaseUnavailable as exc:
        st.error(str(exc), icon=":material/error:")
        st.stop()
    _refuse_exposed_demo_accounts()

    user = current_user()
    apply_saved_language(user)
    language_picker()
    if user is None:
        # Hidden navigation of login pages only: Streamlit then serves nothing from pages/.
        st.navigation(signed_out_pages(PAGES, login_page), position="hidden").run()
        return

    navigation = st.navigation(pages_for(PAGES, user.role))
    sync_login_cookie()
    # st.text renders no markdown: escaping alone would still turn a URL in the name into a link
    st.sidebar.text(t("Signed in as {name} ({role})", name=user.display_name, role=t(user.role)))
    filters_sidebar(clock.today())
    with st.sidebar:
        demo_note()
    navigation.run()


def _refuse_exposed_demo_accounts() -> None:
    """Serve nothing on a non-loopback address while a demo account has its published password (bin/run refuses
    to start then; this covers a `streamlit run` by hand)."""
    address = st.get_option("server.address")
    exposed = uncached(deployment.exposed_demo_accounts, address)
    if exposed:
        template, values = deployment.refusal(address, exposed)
        st.error(t(template, **values), icon=":material/block:")
        st.stop()


if __name__ == "__main__":  # `streamlit run app.py` still works, with the first-request problem above
    main()
