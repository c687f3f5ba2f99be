"""Small display helpers shared by the pages: money and kWh formatting, status badges,
Markdown escaping for user data, and pagination controls whose state lives in the session."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import streamlit as st

from services.models import Page
from services.money import format_money

STATUS_COLOURS = {
    "pending": "orange", "approved": "green", "rejected": "red", "partially_paid": "blue", "paid": "green",
    "overdue": "red", "carried_forward": "gray", "cancelled": "gray", "superseded": "gray",
}
PAGE_SIZES = (10, 20, 50, 100)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def money(value: Decimal | None) -> str:
    return "-" if value is None else format_money(Decimal(value))


def kwh(value: Decimal | None) -> str:
    return "-" if value is None else f"{Decimal(value):,.2f} kWh"


def num(value: Decimal) -> str:
    """A stored rate like 12.0000 as 12, 11.5000 as 11.5 (never in exponent form)."""
    text = format(Decimal(value).normalize(), "f")
    return text


def plural(n: int, word: str) -> str:
    return f"{n:,} {word}" + ("" if n == 1 else "s")


def esc(text) -> str:
    """User data (names, references) shown inside Markdown: escape so it is shown, never interpreted."""
    return _MD_SPECIAL.sub(r"\\\1", str(text if text is not None else ""))


def badge(status: str) -> str:
    """A coloured Markdown badge for a status value (a fixed vocabulary, never user text)."""
    colour = STATUS_COLOURS.get(status, "gray")
    return f":{colour}-badge[{status.replace('_', ' ')}]"


def flag_text(flags: list | None) -> str:
    return "; ".join(f.get("reason", f.get("code", "")) for f in flags or [])


def date_text(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


def offset_for(key: str, signature: tuple) -> int:
    """The list offset stored for `key`; back to the first page when the filter changed."""
    sig_key, off_key = f"{key}__sig", f"{key}__offset"
    if st.session_state.get(sig_key) != signature:
        st.session_state[sig_key] = signature
        st.session_state[off_key] = 0
    return st.session_state.get(off_key, 0)


def page_size(key: str, default: int = 20) -> int:
    return st.session_state.get(f"{key}__size", default)


def _move(key: str, to: int) -> None:
    st.session_state[f"{key}__offset"] = max(0, to)


def _resize(key: str) -> None:
    st.session_state[f"{key}__offset"] = 0


def pager(key: str, page: Page, noun: str = "rows") -> None:
    """Previous/next buttons, 'rows a-b of n', and a page-size choice (callbacks, so the
    next script run already uses the new offset)."""
    start = page.offset + 1 if page.items else 0
    end = page.offset + len(page.items)
    of = f" of {page.total:,}" if page.total is not None else ""
    c1, c2, c3, c4 = st.columns([3, 1, 1, 2], vertical_alignment="center")
    c1.caption(f"{noun.capitalize()} {start:,}-{end:,}{of}")
    c2.button("Previous", key=f"{key}__prev", icon=":material/chevron_left:", disabled=page.offset == 0,
              on_click=_move, args=(key, page.offset - page.limit), width="stretch")
    c3.button("Next", key=f"{key}__next", icon=":material/chevron_right:", disabled=not page.has_next,
              on_click=_move, args=(key, page.offset + page.limit), width="stretch")
    c4.selectbox("Rows per page", PAGE_SIZES, key=f"{key}__size", index=PAGE_SIZES.index(page.limit)
                 if page.limit in PAGE_SIZES else 1, on_change=_resize, args=(key,), label_visibility="collapsed",
                 format_func=lambda n: f"{n} per page")
