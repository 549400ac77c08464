"""The script `streamlit run` starts (bin/run, the browser tests, AppTest): the router in app.py.

It lives here, not next to pages/, because Streamlit serves every pages/*.py beside its main script as a page of
its own ("v1" multipage apps) until st.navigation has run once in the process: the first request after a start
to /what_if_page ran that module by itself (a blank page whose sidebar listed every page module), and a deep
link such as /overview got a "Page not found" dialog. With no pages/ folder beside the main script, every
request goes through the router's st.navigation from the first one on.
"""

import sys
from pathlib import Path

PROJECT_ROOT = str(Path(__file__).resolve().parent.parent)
if PROJECT_ROOT not in sys.path:  # `streamlit run` puts this script's folder on sys.path, not the project's
    sys.path.insert(0, PROJECT_ROOT)

import app  # noqa: E402  (after the sys.path fix)

app.main()
