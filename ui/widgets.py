"""Small display helpers shared by the pages: money and quantities in the utility's formats, the
utility's words, bill lines as table rows, an area picker by level, status badges, Markdown
escaping for user data, and pagination controls whose state lives in the session.

Every word and format a page shows about the utility comes from its settings (ui.common.utility():
services/accounts/utility.py): money in its currency and locale (Indian grouping for INR),
quantities with its unit (kWh, CCF, none for a fixed fee), what an account and each area level
are called. No page writes "flat", "block" or a currency symbol itself."""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import streamlit as st

from services.models import Area, BillLine, Page
from ui.common import services, utility

STATUS_COLOURS = {
    "pending": "orange", "approved": "green", "rejected": "red", "partially_paid": "blue", "paid": "green",
    "overdue": "red", "carried_forward": "gray", "cancelled": "gray", "superseded": "gray",
}
PAGE_SIZES = (10, 20, 50, 100)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:])")


def money(value: Decimal | None) -> str:
    """An amount in the utility's currency and number format (₹12,34,567.00; Rs1,234,567.00; $1,234,567.00)."""
    return "-" if value is None else utility().money(Decimal(value))


def qty(value: Decimal | None, unit: str | None = None) -> str:
    """A quantity with its unit (a meter's, else the utility's: kWh, CCF; none for a fixed fee)."""
    if value is None:
        return "-"
    u = utility()
    unit = unit or u.quantity_unit
    return f"{u.number(value)} {unit}" if unit else u.number(value)


def unit_label() -> str:
    """" (kWh)" after a quantity's label, or nothing for a utility that meters nothing."""
    unit = utility().quantity_unit
    return f" ({unit})" if unit else ""


def currency_symbol() -> str:
    from babel.numbers import get_currency_symbol

    u = utility()
    return get_currency_symbol(u.currency, locale=u.locale)


PLAN_KIND_NAMES = {"flat_rate": "rate per unit and a fixed charge", "tiered_seasonal": "tiered rates by season",
                   "category_fee": "fixed monthly fee by category"}


def plan_kind(kind: str | None) -> str:
    """A tariff kind as staff say it ("rate per unit and a fixed charge"), never the code name flat_rate."""
    return PLAN_KIND_NAMES.get(kind or "", (kind or "-").replace("_", " "))


def word(plural: bool = False, capital: bool = False) -> str:
    """What the utility calls an account: flat / consumer unit / customer."""
    return utility().label(plural=plural, capital=capital)


def rate(value: Decimal | None, unit: str | None = None) -> str:
    """A rate with the currency symbol, at least 2 places and never rounded (rates keep up to 4):
    $2.50/CCF, ₹12.00, ₹11.5125/kWh."""
    if value is None:
        return "-"
    d = Decimal(value).normalize()
    text = format(d, "f") if d.as_tuple().exponent < -2 else f"{d:.2f}"  # 2.50, 12.00, 11.5125
    return f"{currency_symbol()}{text}" + (f"/{unit}" if unit else "")


def num(value: Decimal) -> str:
    """A stored rate like 12.0000 as 12, 11.5000 as 11.5 (never in exponent form)."""
    text = format(Decimal(value).normalize(), "f")
    return text


def count(n: int) -> str:
    """A count in the utility's grouping (3,00,000 bills in India; 300,000 elsewhere), never Python's
    Western comma format (tests/ui/test_number_format.py checks no page uses it)."""
    return utility().number(n, 0)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{count(n)} " + (word if n == 1 else (many or f"{word}s"))


def accounts(n: int) -> str:
    """'1 flat', '3 consumer units'."""
    u = utility()
    return plural(n, u.account_label, u.account_label_plural)


# ---- bill lines -------------------------------------------------------------------------------
def _line_quantity(ln: BillLine, currency: str) -> str:
    if ln.quantity is None:
        return ""
    if ln.unit == "month":
        return f"{num(ln.quantity)} month"
    if ln.unit == currency:  # a line priced on an amount (the water season's adjustment of the usage charges)
        return money(ln.quantity)
    return qty(ln.quantity, ln.unit) if ln.unit else utility().number(ln.quantity)


def _line_rate(ln: BillLine, currency: str) -> str:
    if ln.rate is None:
        return ""
    if ln.unit == "month":
        return money(ln.rate) + " a month"
    if ln.unit == currency:  # a change of the amount priced, as a share: 0.2 -> +20%, -0.1 -> -10%
        share = format((Decimal(ln.rate) * 100).normalize(), "f")
        return f"{share}%" if ln.rate < 0 else f"+{share}%"
    return rate(ln.rate, ln.unit)


def lines_table(rows: list[dict], container=None) -> None:
    """Bill lines as a static table: few rows, and on a phone the cells wrap so the amounts stay in
    view (a data grid would scroll them out of sight)."""
    import pandas as pd

    (container or st).table(pd.DataFrame(rows), hide_index=True)


def markdown_table(rows: list[dict]) -> str:
    """A few rows as a Markdown table (every cell escaped): one Markdown element, a fraction of a data
    grid's Arrow encoding, and on a phone its cells wrap instead of scrolling."""
    head = list(rows[0]) if rows else []
    lines = ["| " + " | ".join(esc(h) for h in head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(esc(row[h]) for h in head) + " |" for row in rows]
    return "\n".join(lines)


def amounts_table(rows: list[dict], money_columns: tuple[str, ...] = ()):
    """Rows for st.dataframe whose money columns hold the amounts as numbers, each shown in the
    utility's money format (a pandas Styler's display values): a click on such a column's header
    sorts by amount (the formatted text sorted 9,158.64 above 12,128.28)."""
    import pandas as pd

    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    for column in money_columns:  # a 2-place amount round-trips exactly through a float's repr
        frame[column] = [None if v is None else float(v) for v in frame[column]]
    return frame.style.format({c: _money_cell for c in money_columns})


def amount_columns(*columns: str) -> dict:
    """column_config for amounts_table's money columns: wide enough for the formatted amount (the
    grid sizes a column by its numbers, and cut "₹12,686.16" to "12,686.16")."""
    return {c: st.column_config.NumberColumn(c, width=AMOUNT_WIDTH) for c in columns}


AMOUNT_WIDTH = 104  # pixels: "₹12,34,567.89" and "$1,234,567.89" whole


def _money_cell(value) -> str:
    return "-" if value is None or value != value else money(Decimal(repr(value)))  # NaN: no amount


def line_rows(lines, total: Decimal, extra: list[tuple[str, Decimal]] = ()) -> list[dict]:
    """A bill's (or a quote's) lines as table rows: label, quantity, rate, amount; then the total and
    any further rows (a re-issue's credit and the balance due)."""
    currency = utility().currency
    rows = [{"line": ln.label, "quantity": _line_quantity(ln, currency), "rate": _line_rate(ln, currency),
             "amount": money(ln.amount)} for ln in lines]
    rows.append({"line": "Total", "quantity": "", "rate": "", "amount": money(total)})
    rows += [{"line": label, "quantity": "", "rate": "", "amount": money(amount)} for label, amount in extra]
    return rows


# ---- areas ------------------------------------------------------------------------------------
def _area_text(area: Area | None, level: str) -> str:
    if area is not None:
        return area.name
    return f"Any {level if level[:2].isupper() else level.lower()}"  # "Any billing cycle"; "Any UC"


def _clear_below(key: str, depth: int, levels: int) -> None:
    for d in range(depth + 1, levels + 1):
        st.session_state.pop(f"{key}_{d}", None)


def area_picker(key: str, columns=None) -> int | None:
    """One select per area level (Block > Floor; City/Tehsil > Union Council; Service area > Billing
    cycle): the first level's areas, then the children of the one chosen. Returns the id of the
    deepest area chosen (filters take an area at any level: everything under it), None for all.
    Widget keys: f"{key}_1", f"{key}_2", ..."""
    db = services().db
    levels = utility().area_levels
    cols = columns if columns is not None else st.columns(len(levels))
    parent: Area | None = None
    chosen: Area | None = None
    for depth, name in enumerate(levels, 1):
        k = f"{key}_{depth}"
        if depth == 1:
            options = db.list_areas(level=1)
        else:
            options = db.list_areas(parent_id=parent.id) if parent is not None else []
        if st.session_state.get(k) is not None and st.session_state[k] not in options:
            del st.session_state[k]  # a choice under another parent: back to "any"
        pick = cols[depth - 1].selectbox(name, [None, *options], key=k, disabled=depth > 1 and parent is None,
                                         format_func=lambda a, n=name: _area_text(a, n),
                                         placeholder=_area_text(None, name),
                                         on_change=_clear_below, args=(key, depth, len(levels)))
        parent = pick
        chosen = pick or chosen
        if pick is None:
            parent = None
    return chosen.id if chosen else None


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
    if isinstance(value, dt.datetime):  # stored in UTC; shown in the utility's time zone, as every page does
        aware = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return aware.astimezone(utility().zone).strftime("%Y-%m-%d %H:%M")
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
    of = f" of {count(page.total)}" if page.total is not None else ""
    c1, c2, c3, c4 = st.columns([3, 1, 1, 2], vertical_alignment="center")
    c1.caption(f"{noun.capitalize()} {count(start)}-{count(end)}{of}")
    c2.button("Previous", key=f"{key}__prev", icon=":material/chevron_left:", disabled=page.offset == 0,
              on_click=_move, args=(key, page.offset - page.limit), width="stretch")
    c3.button("Next", key=f"{key}__next", icon=":material/chevron_right:", disabled=not page.has_next,
              on_click=_move, args=(key, page.offset + page.limit), width="stretch")
    c4.selectbox("Rows per page", PAGE_SIZES, key=f"{key}__size", index=PAGE_SIZES.index(page.limit)
                 if page.limit in PAGE_SIZES else 1, on_change=_resize, args=(key,), label_visibility="collapsed",
                 format_func=lambda n: f"{n} per page")
