"""CSV upload: analyse any export without code, and import the kinds the dashboard knows (staff).

Uploaded text is never rendered as markdown or HTML: cells, column names and file names reach the
screen through st.dataframe, st.text, st.code, widget options, or messages escaped by `ui.text.plain`.
"""

from __future__ import annotations

import hashlib

import altair as alt
import pandas as pd
import streamlit as st

from core import imports
from core.imports import (
    DELIMITER_NAMES,
    ENCODINGS,
    MEASURES,
    Dialect,
    Filter,
    ImportOptions,
    UndoRefused,
    UploadError,
    ViewError,
    ViewSpec,
)
from core.platform.config import upload_limits
from core.platform.i18n import N_
from core.platform.users import PermissionDenied
from ui.auth import guard, permission_message
from ui.data import clear_caches, uncached
from ui.i18n import t
from ui.text import plain
from ui.theme import CHANNEL_COLOURS, MARKET_COLOURS, PRIMARY, colour_scale
from ui.widgets import download_csv, empty_state

LARGE_FILE_BYTES = 5 * 1024 * 1024  # above this the parse shows a progress bar
CHART_CATEGORIES = 30
NONE = "—"
BATCH_STATUS_LABELS = {"applied": N_("Applied"), "undone": N_("Undone")}


def _message(error) -> str:
    return plain(t(error.template, **error.values))


def _waiting(slot):
    """What core calls when another import or undo is running and this one waits for its turn."""
    return lambda: slot.info(t("Another import is running; yours starts when it ends."), icon=":material/schedule:")


def render() -> None:
    user = guard("staff")
    st.title(t("CSV upload"))
    st.caption(t("Analyse any CSV, TSV or TXT export without code; import Shopify, Amazon and Stripe exports "
                 "and our templates into the dashboard."))
    limit_mb = upload_limits().max_megabytes
    uploaded = st.file_uploader(t("Upload a CSV, TSV or TXT file (up to {limit} MB)", limit=limit_mb),
                                type=["csv", "tsv", "txt"], key="upload_file", max_upload_size=limit_mb)
    parsed, data = _read(uploaded, limit_mb) if uploaded is not None else (None, None)
    analyse, load, history, guide = st.tabs([t("Analyse"), t("Import"), t("Import history"), t("Templates")])
    with analyse:
        if parsed is None:
            empty_state(t("Upload a file above to see its columns, a profile and charts."))
        else:
            _analyse(parsed, data)
    with load:
        if parsed is None:
            empty_state(t("Upload a Shopify, Amazon or Stripe export, or one of our templates, to import it."))
        else:
            _import(parsed, data, user.username)
    with history:
        _history(user.username)
    with guide:
        _templates()


# --- reading ------------------------------------------------------------------------


def _read(uploaded, limit_mb: int):
    name = uploaded.name
    if uploaded.size > limit_mb * 1024 * 1024:
        st.error(plain(t("{file} is {size} MB; the maximum upload is {limit} MB.", file=name,
                         size=round(uploaded.size / 1024 / 1024, 1), limit=limit_mb)))
        return None, None
    data = uploaded.getvalue()
    digest = hashlib.sha256(data).hexdigest()[:16]
    try:
        detected = imports.detect(data, name)
    except UploadError as exc:
        st.error(_message(exc), icon=":material/error:")
        return None, None
    dialect = _dialect_controls(detected, digest)
    # The bar's slot exists on every run, read or cached: were it there only while reading, the tabs below
    # would move up one place on the next run, and the browser would rebuild them on their first tab, hiding
    # the Import tab and the result of an import of a large file.
    slot = st.empty()
    cache_key = (digest, dialect)
    cached = st.session_state.get("upload_parsed")
    if cached and cached[0] == cache_key:
        _left_out(cached[1])
        return cached[1], data
    bar = slot.progress(0.0, text=t("Reading {file}…", file=name)) if len(data) > LARGE_FILE_BYTES else None
    stages = {"read": t("Reading {file}…", file=name), "type": t("Recognising column types…")}

    def progress(fraction: float, stage: str) -> None:
        if bar is not None:
            bar.progress(min(1.0, fraction), text=stages.get(stage, ""))

    try:
        parsed = imports.parse(data, name, dialect, keep_raw=False, progress=progress)
    except UploadError as exc:
        st.error(_message(exc), icon=":material/error:")
        return None, None
    finally:
        if bar is not None:
            bar.empty()
    st.session_state["upload_parsed"] = (cache_key, parsed)
    _left_out(parsed)
    return parsed, data


def _left_out(parsed) -> None:
    """What the reading left out (empty rows, a footer) and columns read with the other decimal mark: said on
    every run, read or cached, so the tabs below keep their place."""
    for skipped in parsed.skipped:
        st.info(_message(skipped), icon=":material/filter_alt:")
    if parsed.decimals:  # every such column takes the mark the file's is not
        columns = ", ".join(parsed.decimals)
        st.caption(plain(t("Read with a decimal comma: {columns}.", columns=columns) if parsed.dialect.decimal == "."
                         else t("Read with a decimal point: {columns}.", columns=columns)))


def _dialect_controls(detected: Dialect, digest: str) -> Dialect:
    values = {"encoding": detected.encoding, "delimiter": t(DELIMITER_NAMES[detected.delimiter]),
              "header": detected.header_row + 1, "decimal": detected.decimal}
    if detected.has_header:
        st.caption(t("Detected: encoding {encoding}, {delimiter} delimiter, header on line {header}, decimal mark "
                     "'{decimal}'. Change any of them if the preview looks wrong.", **values))
    else:
        st.caption(t("Detected: encoding {encoding}, {delimiter} delimiter, no header row (the first row, on line "
                     "{header}, is data: columns are named column_1, column_2, …), decimal mark '{decimal}'. "
                     "Change any of them if the preview looks wrong.", **values))
    encodings = list(dict.fromkeys([detected.encoding, *ENCODINGS]))
    delimiters = list(DELIMITER_NAMES)
    # Options stay the keys; their labels are translated here, in the run, not when format_func is called
    delimiter_names = {d: t(name) for d, name in DELIMITER_NAMES.items()}
    c1, c2, c3, c4 = st.columns(4)
    encoding = c1.selectbox(t("Encoding"), encodings, index=0, key=f"enc_{digest}")
    delimiter = c2.selectbox(t("Delimiter"), delimiters, index=delimiters.index(detected.delimiter),
                             format_func=delimiter_names.get, key=f"delim_{digest}")
    no_header = c3.checkbox(t("First row is data (no header)"), value=not detected.has_header,
                            key=f"noheader_{digest}")
    header = c3.number_input(t("First row on line") if no_header else t("Header on line"), min_value=1,
                             max_value=1000, value=detected.header_row + 1, step=1, key=f"header_{digest}")
    decimal = c4.selectbox(t("Decimal mark"), [".", ","], index=[".", ","].index(detected.decimal),
                           key=f"dec_{digest}")
    return Dialect(encoding, delimiter, int(header) - 1, decimal, has_header=not no_header)


# --- analysis -----------------------------------------------------------------------


def _analyse(parsed, data: bytes) -> None:
    st.subheader(t("Preview"))
    st.caption(t("{rows} rows, {columns} columns.", rows=f"{len(parsed.frame):,}",
                 columns=len(parsed.frame.columns)))
    analysis = _analysis_controls(parsed, data)
    frame = analysis.frame
    st.dataframe(frame.head(100), hide_index=True, width="stretch")
    st.subheader(t("Column profile"))
    profile = imports.profile(frame, analysis.kinds, analysis.invalid, t(imports.UNREADABLE))
    profile["type"] = profile["type"].map(lambda k: t(k))
    st.dataframe(profile, hide_index=True, width="stretch", column_config={
        "column": t("Column"), "type": t("Type"),
        "missing_share": st.column_config.NumberColumn(t("Missing"), format="percent"),
        "invalid": st.column_config.NumberColumn(t("Invalid"), format="%d"), "invalid_values": t("Invalid values"),
        "distinct": st.column_config.NumberColumn(t("Distinct values"), format="%d"),
        "min": t("Minimum"), "max": t("Maximum"), "mean": t("Mean"), "top_values": t("Most frequent values"),
    })
    st.caption(t("Missing: empty cells. Invalid: cells holding an error or a placeholder (#VALUE!, Nill, N/A, -) "
                 "or a value that is not of the column's type. Both are left out of the statistics."))
    download_csv(profile, "profile.csv", key="download_profile")
    _view_builder(frame, analysis.kinds)


def _analysis(parsed, data: bytes, date_order: str | None, exclude_totals: bool):
    """imports.analyse, kept in the session for this parse (a rerun of a 1M-row file does not read it again)."""
    cached = st.session_state.get("upload_analysis")
    if not cached or cached[0] is not parsed:
        cached = (parsed, {})
        st.session_state["upload_analysis"] = cached
    key = (date_order, exclude_totals)
    if key not in cached[1]:
        cached[1][key] = imports.analyse(parsed, data, date_order=date_order, exclude_totals=exclude_totals)
    return cached[1][key]


def _analysis_controls(parsed, data: bytes):
    """The date order and the total rows, stated, with the control that changes each; the analysis they give."""
    found = _analysis(parsed, data, None, False)
    order_names = {order: t(label) for order, label in imports.DATE_ORDERS.items()}
    for (order, switchable), names in _by_reading(found.dates).items():
        values = {"columns": ", ".join(names), "order": order_names[order]}
        st.caption(plain(t("{columns}: dates read as {order}. Every value reads both ways: choose the order below "
                           "if that is wrong.", **values) if switchable else
                         t("{columns}: dates read as {order} (a day above 12 allows no other order).", **values)))
    date_order = None
    switchable = [name for name, reading in found.dates.items() if reading.switchable]
    if switchable:
        orders = list(imports.DATE_ORDERS)
        detected = found.dates[switchable[0]].order
        chosen = st.radio(t("Dates written as"), orders, index=orders.index(detected), horizontal=True,
                          format_func=order_names.get, key="date_order")
        date_order = None if chosen == detected else chosen
    exclude = False
    if found.total_rows:
        rows = "; ".join(t("line {line}: {label}", line=row.line, label=row.label) for row in found.total_rows[:10])
        st.warning(plain(t("{count} rows are labelled as totals ({rows}): they add up other rows, so sums and counts "
                           "that include them count those rows twice.", count=len(found.total_rows), rows=rows)),
                   icon=":material/functions:")
        exclude = st.checkbox(t("Leave the total rows out of the profile, views and charts"), key="exclude_totals")
    return _analysis(parsed, data, date_order, exclude)


def _by_reading(dates: dict) -> dict[tuple[str, bool], list[str]]:
    grouped: dict[tuple[str, bool], list[str]] = {}
    for name, reading in dates.items():
        grouped.setdefault((reading.order, reading.switchable), []).append(name)
    return grouped


def _view_builder(frame: pd.DataFrame, kinds: dict[str, str]) -> None:
    columns = list(frame.columns)
    numeric = [c for c in columns if kinds[c] in ("integer", "number")]
    st.subheader(t("Build a view"))
    c1, c2, c3, c4 = st.columns(4)
    first = c1.selectbox(t("Group by"), [NONE, *columns], key="view_group1")
    second = c2.selectbox(t("Then by"), [NONE, *columns], key="view_group2")
    # options are the English keys core takes (the label is only shown), translated now rather than when called
    measure_names = {m: t(m) for m in MEASURES}
    measure = c3.selectbox(t("Measure"), MEASURES, format_func=measure_names.get, key="view_measure")
    value = c4.selectbox(t("Of column"), numeric or [NONE], key="view_value", disabled=measure == "count")
    bucket = "month"
    if any(kinds.get(c) == "datetime" for c in (first, second)):
        bucket_names = {b: t(b) for b in imports.DATE_BUCKETS}
        bucket = st.radio(t("Dates by"), list(bucket_names), index=2, horizontal=True, format_func=bucket_names.get,
                          key="view_bucket")
    filters = _filter_controls(frame, kinds, columns)
    group_by = tuple(c for c in (first, second) if c != NONE and c)
    if len(set(group_by)) < len(group_by):
        group_by = group_by[:1]
    spec = ViewSpec(group_by, measure, None if measure == "count" or value == NONE else value, filters, bucket)
    try:
        view = imports.build_view(frame, spec)
    except ViewError as exc:
        values = {name: t(value) if name == "measure" else value for name, value in exc.values.items()}
        st.warning(plain(t(exc.template, **values)))
        return
    label = _measure_title(spec)
    # the view's measure column keeps its English key (download, chart); only its heading is translated
    st.dataframe(view.head(1000), hide_index=True, width="stretch",
                 column_config={imports.measure_label(spec): label})
    st.caption(t("{groups} groups.", groups=f"{len(view):,}"))
    download_csv(view, "view.csv", key="download_view")
    if group_by:
        _chart(view, spec, kinds, label)
    if len(group_by) == 2:
        st.subheader(t("Pivot"))
        table = imports.pivot(view, spec)
        st.dataframe(table.head(500), hide_index=True, width="stretch")
        download_csv(table, "pivot.csv", key="download_pivot")


def _measure_title(spec: ViewSpec) -> str:
    if spec.measure == "count":
        return t("Rows")
    return t("{measure} of {column}", measure=t(spec.measure), column=spec.value_column)


def _filter_controls(frame: pd.DataFrame, kinds: dict, columns: list[str]) -> tuple[Filter, ...]:
    column = st.selectbox(t("Filter on"), [NONE, *columns], key="view_filter")
    if column == NONE:
        return ()
    kind = kinds[column]
    series = frame[column]
    if kind in ("integer", "number") and series.notna().any():
        low, high = float(series.min()), float(series.max())
        c1, c2 = st.columns(2)
        chosen_low = c1.number_input(t("From"), value=low, key="view_filter_low")
        chosen_high = c2.number_input(t("To"), value=high, key="view_filter_high")
        return (Filter(column, low=chosen_low, high=chosen_high),)
    if kind == "datetime" and series.notna().any():
        low, high = series.min().date(), series.max().date()
        chosen = st.date_input(t("Between"), value=(low, high), key="view_filter_dates")
        if isinstance(chosen, tuple) and len(chosen) == 2:
            end = pd.Timestamp(chosen[1]) + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)
            return (Filter(column, low=str(pd.Timestamp(chosen[0])), high=str(end)),)
        return ()
    options = series.astype("string").value_counts().head(200).index.tolist()
    chosen = st.multiselect(t("Keep values"), options, key="view_filter_values")
    return (Filter(column, tuple(chosen)),) if chosen else ()


def _colour(values: list[str]) -> alt.Scale | None:
    present = [str(v) for v in values]
    for mapping in (MARKET_COLOURS, CHANNEL_COLOURS):
        if present and all(v in mapping for v in present):
            return colour_scale(mapping, present)
    return None


def _chart(view: pd.DataFrame, spec: ViewSpec, kinds: dict, label: str) -> None:
    measure = imports.measure_label(spec)
    first = spec.group_by[0]
    data = view.rename(columns={measure: "value", first: "g1"})
    data["value"] = pd.to_numeric(data["value"], errors="coerce")
    is_date = kinds.get(first) == "datetime"
    tooltip = [alt.Tooltip("g1:T" if is_date else "g1:N", title=first), alt.Tooltip("value:Q", title=label,
                                                                                      format=",.2f")]
    colour = offset = None
    # means and medians do not add up: their bars stand side by side, counts and sums stack
    stacked = imports.adds_up(spec.measure)
    if len(spec.group_by) == 2:
        second = spec.group_by[1]
        data = data.rename(columns={second: "g2"})
        data["g2"] = data["g2"].astype("string").fillna(t("(missing)"))
        top = data.groupby("g2")["value"].sum().nlargest(10).index
        data = data[data["g2"].isin(top)]
        scale = _colour(list(top))
        colour = alt.Color("g2:N", title=second, scale=scale) if scale else alt.Color("g2:N", title=second)
        tooltip.append(alt.Tooltip("g2:N", title=second))
        offset = None if stacked else alt.XOffset("g2:N", title=second)
    if is_date:
        chart = alt.Chart(data).mark_line(point=True, color=PRIMARY).encode(
            x=alt.X("g1:T", title=first), y=alt.Y("value:Q", title=label), tooltip=tooltip)
    else:
        data["g1"] = data["g1"].astype("string").fillna(t("(missing)"))
        top = data.groupby("g1")["value"].sum().nlargest(CHART_CATEGORIES).index
        data = data[data["g1"].isin(top)]
        chart = alt.Chart(data).mark_bar(color=PRIMARY).encode(
            x=alt.X("g1:N", title=first, sort="-y"), y=alt.Y("value:Q", title=label, stack="zero" if stacked else None),
            tooltip=tooltip)
        if offset is not None:
            chart = chart.encode(xOffset=offset)
        if colour is None:
            scale = _colour(list(top))
            if scale:
                colour = alt.Color("g1:N", title=first, scale=scale, legend=None)
    if colour is not None:
        chart = chart.encode(color=colour)
    title = t("{measure} by {group}", measure=label, group=" / ".join(spec.group_by))
    st.altair_chart(chart.properties(title=title, height=360), width="stretch")


# --- import -------------------------------------------------------------------------


def _import(parsed, data: bytes, username: str) -> None:
    columns = list(parsed.frame.columns)
    recognised = imports.recognise(columns)
    kinds = [e.kind for e in imports.KNOWN_EXPORTS]
    labels = {e.kind: t(e.label) for e in imports.KNOWN_EXPORTS}
    if recognised:
        st.success(t("Recognised: {label}. Check the mapping below, then import.", label=labels[recognised.kind]),
                   icon=":material/check_circle:")
    else:
        st.info(t("This file does not look like an export we know. Choose what it is and map its columns, or "
                  "use one of our templates."), icon=":material/info:")
    digest = hashlib.sha256(data).hexdigest()[:16]  # a new file starts from its own recognition
    kind = st.selectbox(t("File type"), kinds, index=kinds.index(recognised.kind) if recognised else 0,
                        format_func=lambda k: labels[k], key=f"import_kind_{digest}")
    export = imports.EXPORTS_BY_KIND[kind]
    base = imports.map_columns(export, columns)
    overrides = {}
    with st.expander(t("Change the column mapping"), expanded=recognised is None):
        for field in imports.template_columns(export.entity):
            if field in export.constants or field in export.derived:
                continue
            current = base.mapping.get(field)
            options = [NONE, *columns]
            chosen = st.selectbox(plain(field), options, index=options.index(current) if current in options else 0,
                                  key=f"map_{digest}_{kind}_{field}")
            overrides[field] = None if chosen == NONE else chosen
    recognition = imports.map_columns(export, columns, overrides)
    mapping = pd.DataFrame({
        "field": list(imports.template_columns(export.entity)),
        "required": [f.required for f in imports.TEMPLATES[export.entity]],
        "column": [recognition.mapping.get(f) or recognition.constants.get(f) or
                   (t("(derived)") if f in export.derived else "") for f in imports.template_columns(export.entity)],
    })
    st.dataframe(mapping, hide_index=True, width="stretch", column_config={
        "field": t("Field"), "required": st.column_config.CheckboxColumn(t("Required")),
        "column": t("Column in the file")})
    defaults = {}
    needs = [m for m in recognition.missing_required if m in ("channel", "market")]
    if needs or "channel" not in recognition.constants and not recognition.mapping.get("channel"):
        channel = st.selectbox(t("Sales channel for rows without one"), [NONE, "amazon", "ebay", "tiktok", "shopify"],
                               key="import_channel")
        if channel != NONE:
            defaults["channel"] = channel
    if "currency" in recognition.missing_required:  # e.g. a Shopify export saved without its Currency column
        currency = st.selectbox(t("Currency of the amounts (the file has no currency column)"),
                                [NONE, *uncached(imports.known_currencies)], key="import_currency")
        if currency != NONE:
            defaults["currency"] = currency
    skip = st.checkbox(t("Skip rows whose market or sales channel we do not know (reported as skipped)"),
                       key="import_skip")
    missing = [m for m in recognition.missing_required if m not in defaults]
    if missing:
        st.warning(plain(t("Required fields without a column: {fields}.", fields=", ".join(missing))))
    if st.button(t("Import {rows} rows", rows=f"{len(parsed.frame):,}"), key="import_go", type="primary",
                 disabled=bool(missing)):
        options = ImportOptions(kind=kind, mapping=overrides, defaults=defaults, skip_unknown_markets=skip,
                                skip_unknown_channels=skip)
        waiting = st.empty()
        try:
            with st.spinner(t("Importing…")):
                # re-read with every cell as text, so a bad cell is quoted exactly as written in the file
                result = uncached(imports.import_file, username, parsed.file_name, data, options,
                                  dialect=parsed.dialect, on_wait=_waiting(waiting))
        except (UploadError, PermissionDenied) as exc:
            st.error(_message(exc) if isinstance(exc, UploadError) else plain(permission_message(exc)),
                     icon=":material/error:")
            return
        finally:
            waiting.empty()
        clear_caches()
        _outcome(result, parsed.file_name)


def _outcome(result, file_name: str) -> None:
    """What an import did, and every row it left out: nothing is dropped without a word."""
    if result.batch_id is None:
        st.warning(plain(t("Nothing was imported from {file}: every row was left out.", file=file_name)),
                   icon=":material/warning:")
    else:
        st.success(t("Import {batch} done: {inserted} inserted, {updated} updated, {skipped} unchanged.",
                     batch=result.batch_id, inserted=f"{result.inserted:,}", updated=f"{result.updated:,}",
                     skipped=f"{result.skipped:,}"), icon=":material/check_circle:")
    if result.unknown_market_rows:
        st.warning(plain(t("{count} rows were skipped: their market is not one we sell in ({values}).",
                           count=f"{result.unknown_market_rows:,}", values=", ".join(result.unknown_markets))))
    if result.unknown_channel_rows:
        st.warning(plain(t("{count} rows were skipped: their sales channel is not one we know ({values}).",
                           count=f"{result.unknown_channel_rows:,}", values=", ".join(result.unknown_channels))))
    if result.unknown_sku_lines:
        st.warning(plain(t("{count} line items have a SKU the catalogue does not know, or none ({skus}): their "
                           "orders were imported without them, so they add no units or product cost.",
                           count=result.unknown_sku_lines, skus=", ".join(result.unknown_skus) or NONE)))
    if result.pending_orders:
        st.info(t("{count} Amazon orders are still Pending (payment not authorised, no price yet) and were left "
                  "out: import a later report once Amazon has priced them.", count=result.pending_orders),
                icon=":material/schedule:")


def _history(username: str) -> None:
    batches = uncached(imports.import_history)
    if batches.empty:
        empty_state(t("No imports yet. Imports appear here with who made them, when, and what changed."))
        return
    shown = batches.assign(
        kind=[t(imports.EXPORTS_BY_KIND[k].label) if k in imports.EXPORTS_BY_KIND else k for k in batches["kind"]],
        status=[t(BATCH_STATUS_LABELS.get(s, s)) for s in batches["status"]])
    st.dataframe(shown, hide_index=True, width="stretch", column_config={
        "id": st.column_config.NumberColumn(t("Import"), format="%d"), "imported_at": t("When (UTC)"),
        "username": t("By"), "file_name": t("File"), "kind": t("Type"), "inserted": t("Inserted"),
        "updated": t("Updated"), "skipped": t("Unchanged"), "status": t("Status"), "sha256": t("SHA-256")})
    download_csv(shown, "import_history.csv", key="download_history")  # file names are uploaded text
    applied = batches[batches["status"] == "applied"]["id"].tolist()
    if not applied:
        return
    c1, c2 = st.columns([1, 3])
    batch = c1.selectbox(t("Import to undo"), applied, key="undo_batch")
    c2.caption(t("Undo deletes the rows the import added and restores the values it overwrote."))
    if st.button(t("Undo import {batch}", batch=batch), key="undo_go"):
        waiting = st.empty()
        try:
            result = uncached(imports.undo_import, username, int(batch), on_wait=_waiting(waiting))
        except (UndoRefused, PermissionDenied) as exc:
            st.error(_message(exc) if isinstance(exc, UndoRefused) else plain(permission_message(exc)),
                     icon=":material/error:")
            return
        finally:
            waiting.empty()
        clear_caches()
        st.success(t("Import {batch} undone: {deleted} rows deleted, {restored} restored.", batch=result.batch_id,
                     deleted=f"{result.deleted:,}", restored=f"{result.restored:,}"), icon=":material/undo:")


def _templates() -> None:
    st.caption(t("Fill in a template (UTF-8, comma-separated, ISO dates, decimal point) to import data from "
                 "any other system. Fields marked required must have a value in every row."))
    for entity in imports.TEMPLATES:
        # "Orders" alone is already a message id meaning the number of orders
        st.subheader(t(imports.EXPORTS_BY_KIND[f"template_{entity}"].label))
        fields = pd.DataFrame([{"field": f.name, "required": f.required, "description": t(f.description),
                                "example": f.example} for f in imports.TEMPLATES[entity]])
        st.dataframe(fields, hide_index=True, width="stretch", column_config={
            "field": t("Field"), "required": st.column_config.CheckboxColumn(t("Required")),
            "description": t("Meaning"), "example": t("Example")})
        download_csv(pd.DataFrame(columns=imports.template_columns(entity)), f"{entity}_template.csv",
                     key=f"template_{entity}")
