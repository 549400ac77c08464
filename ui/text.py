"""Showing user-provided text (display names, usernames, file names, notes, SKUs, scenario names) literally.

st.markdown, st.caption, st.info/success/warning/error, st.title/subheader and widget labels and help render
markdown: a display name such as `![x](https://example.org/pixel)` would make every browser showing it fetch
that URL, and `**`, `:red[…]` or `:material/…:` would restyle the page. Escape such values before they go into
a markdown-rendering call, or show them with st.text / st.code / st.dataframe, which never render markdown.
Escaping leaves one thing: a URL or `www.` name in the text still shows as a link (GFM finds autolinks in the
text after the escapes), though nothing is fetched; where that matters too, use st.text.
"""

from __future__ import annotations

import re

# Every character markdown, Streamlit's directives (:red[...], :material/x:, emoji shortcodes) or math ($)
# give a meaning to; a backslash makes each a literal in CommonMark.
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=&])")


def plain(text: object) -> str:
    """`text` escaped for a markdown-rendering element, on one line (a newline would start a new block)."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", str(text)).replace("\r", " ").replace("\n", " ")
