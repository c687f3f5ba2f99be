"""A list page's filters, sort and page in the URL query string, so a list survives a reload and
"Back", and its address can be shared.

A page names its fields once (`Field(param, widget_key, encode, decode)`), calls `restore(fields)`
BEFORE drawing the widgets (the URL's values go into the widgets' session state when the URL
changed since this page last wrote it: a shared link, a reload, "Back") and `publish(fields)`
AFTER (the widgets' values go into the URL; a value at its default is left out, so a plain list
has a plain address). Only the page's own parameters are touched: "?run=", "?bill=" and other
parameters a page reads stay as they are.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

import streamlit as st

_LAST = "__url_state_last"  # {param: value this page last wrote}: a URL that differs was changed outside


@dataclass(frozen=True)
class Field:
    param: str  # query-string name
    key: str  # widget key in st.session_state
    encode: Callable[[Any], str | None] = lambda v: None if v in (None, "", False) else str(v)
    decode: Callable[[str], Any] = lambda s: s
    default: Any = None


def text(param: str, key: str) -> Field:
    return Field(param, key, lambda v: (v or "").strip() or None, lambda s: s, "")


def flag(param: str, key: str) -> Field:
    return Field(param, key, lambda v: "1" if v else None, lambda s: s == "1", False)


def choice(param: str, key: str, options, default=None) -> Field:
    """A selectbox over a fixed list: an unknown value in the URL falls back to the default."""
    allowed = {str(o): o for o in options if o is not None}
    return Field(param, key, lambda v: None if v is None or v == default else str(v),
                 lambda s: allowed.get(s, default), default)


def many(param: str, key: str, options) -> Field:
    """A multiselect, comma-separated in the URL."""
    allowed = set(options)
    return Field(param, key, lambda v: ",".join(v) if v else None,
                 lambda s: [x for x in s.split(",") if x in allowed], [])


def date(param: str, key: str) -> Field:
    def parse(s: str):
        try:
            return dt.date.fromisoformat(s)
        except ValueError:
            return None
    return Field(param, key, lambda v: v.isoformat() if v else None, parse)


def area(param: str, key: str, levels: int, lookup: Callable[[int], Any]) -> list[Field]:
    """The area picker (ui.widgets.area_picker): the deepest area chosen, by id; restoring it sets
    each level's select to the area's ancestors."""
    return [Field(param, f"{key}_{depth}", lambda v: str(v.id) if v is not None else None,
                  lambda s, depth=depth: _ancestor(lookup, s, depth)) for depth in range(1, levels + 1)]


def _ancestor(lookup, value: str, depth: int):
    if not value.isdigit():
        return None
    chain = []
    node = lookup(int(value))
    while node is not None:
        chain.append(node)
        node = lookup(node.parent_id) if getattr(node, "parent_id", None) else None
    chain.reverse()
    return chain[depth - 1] if depth <= len(chain) else None


def restore(fields: list[Field], page_key: str | None = None) -> None:
    """The URL's values into the widgets, where the URL changed since this page last wrote it.
    `page_key`: the list's pager key (ui.widgets.pager); "?page=" restores its offset."""
    last = st.session_state.setdefault(_LAST, {})
    params = st.query_params
    for f in fields:
        now = params.get(f.param)
        if f.key in st.session_state and f.key in last and last[f.key] == now:
            continue  # the URL still says what this page wrote: the widget is the truth
        # (a widget not drawn in a run, as while a bill is open, loses its state: the URL has it)
        st.session_state[f.key] = f.decode(now) if now is not None else f.default
    if page_key is not None:
        now = params.get("page")
        mark = f"{page_key}__page"
        if not (mark in last and last[mark] == now):
            size = st.session_state.get(f"{page_key}__size", 20)
            number = int(now) if now and now.isdigit() and int(now) > 0 else 1
            st.session_state[f"__restore_{page_key}"] = (number - 1) * size


def restored_offset(page_key: str, offset: int) -> int:
    """The offset a restored "?page=" asks for (once), else `offset`."""
    wanted = st.session_state.pop(f"__restore_{page_key}", None)
    if wanted is None:
        return offset
    st.session_state[f"{page_key}__offset"] = wanted
    return wanted


def publish(fields: list[Field], page_key: str | None = None, size: int | None = None) -> None:
    """The widgets' values into the URL (defaults left out)."""
    last = st.session_state.setdefault(_LAST, {})
    wanted: dict[str, str | None] = {}
    for f in fields:  # several fields may share a parameter (the area levels): the deepest set wins
        value = f.encode(st.session_state.get(f.key, f.default))
        if value is not None or f.param not in wanted:
            wanted[f.param] = value
    marks = {f.key: f.param for f in fields}
    if page_key is not None:
        offset = st.session_state.get(f"{page_key}__offset", 0)
        size = size or st.session_state.get(f"{page_key}__size", 20)
        wanted["page"] = str(offset // size + 1) if offset else None
        marks[f"{page_key}__page"] = "page"
    for param, value in wanted.items():
        if value is None:
            if param in st.query_params:
                del st.query_params[param]
        elif st.query_params.get(param) != value:
            st.query_params[param] = value
    for key, param in marks.items():
        last[key] = wanted[param]
