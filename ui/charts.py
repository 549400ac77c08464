"""Altair charts converted to a Vega-Lite spec once, their data sent on each run.

`st.altair_chart` builds the Vega-Lite spec from the chart and validates it against the schema on every run;
the what-if simulator reruns on every slider move, and building and converting its charts cost about 30 ms a
move (issue 18). Here a page's `build(*key)` returns the chart over named datasets (`alt.NamedData(name)`)
from its static parts only (titles, labels, colours: what `key` holds); it is converted once per key, exactly
as `st.altair_chart` converts it (Streamlit's own converter, with its theme and lock), and each run sends just
the frames. The spec then stays the same from one run to the next, so the browser updates the chart's data in
place instead of embedding a new chart.
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Hashable

import pandas as pd
import streamlit as st
from streamlit.elements.vega_charts import _convert_altair_to_vega_lite_spec  # what st.altair_chart runs

SPEC_CACHE_SIZE = 256  # one spec per chart x key (language, currency, title): a few hundred small dicts at most


@functools.lru_cache(maxsize=SPEC_CACHE_SIZE)
def chart_spec(build: Callable, key: tuple[Hashable, ...]) -> dict:
    """The Vega-Lite spec of `build(*key)`, as `st.altair_chart` would send it (without data)."""
    spec = _convert_altair_to_vega_lite_spec(build(*key))
    spec.pop("datasets", None)  # a chart over named datasets carries none of its own
    return spec


def prebuilt_chart(build: Callable, key: tuple[Hashable, ...], datasets: dict[str, pd.DataFrame],
                   **options) -> None:
    """Draw `build(*key)` with `datasets` (name -> frame, the names its alt.NamedData use); `options` as
    st.vega_lite_chart's (width, height...)."""
    spec = copy.deepcopy(chart_spec(build, key))  # Streamlit edits the spec it is given
    spec["datasets"] = datasets
    st.vega_lite_chart(spec=spec, **options)
