"""The phone page for a water utility (issue 13): a field reading of a CCF meter, or a day's usage,
for one customer. It goes through the same usage importer as a usage file and the webhook
(DatabaseService.submit_usage): validated with the field named, nothing partial stored, the same
entry again stores nothing; a meter value's consumption since the previous reading becomes the daily
usage of the days it measured, and anomaly detection runs for that month."""
from __future__ import annotations

import streamlit as st

from services.errors import MasterDataError, MeterlineError
from ui import widgets as w
from ui.common import show_error

LAST = "wc_last"
NONCE = "wc_nonce"
KINDS = {"meter_value": "Meter value (register, CCF)", "usage_ccf": "Usage of the day (CCF)"}


def render(db, actor, match_limit: int = 50) -> None:
    today = db.today()
    label = w.word()
    search = st.text_input(f"Find the {label}", key="wc_search", placeholder=f"{w.word(capital=True)} code, meter "
                           "number or name", type="search", live="500ms", icon=":material/search:")
    matches = db.list_active_meters(search, limit=match_limit)
    if not matches.items:
        st.warning(f"No active meter matches that search. Check the {label} code or meter number.")
        return
    choice = st.selectbox(f"{w.word(capital=True)} and meter", matches.items, format_func=lambda c: c.label,
                          key="wc_choice")
    previous = db.meter_history(choice.meter_id, limit=1)
    if previous:
        p = previous[0]
        st.caption(f"Last meter reading: {w.qty(p.reading_value, 'CCF')} on {p.reading_date}")
    kind = st.segmented_control("What you read", list(KINDS), format_func=KINDS.get, default="meter_value",
                                key="wc_kind") or "meter_value"
    nonce = st.session_state.setdefault(NONCE, 0)
    with st.form(f"wc_form_{nonce}"):
        value = st.text_input(KINDS[kind], placeholder="e.g. 1234.56" if kind == "meter_value" else "e.g. 0.45",
                              key=f"wc_value_{nonce}")
        date = st.date_input("Date", value=today, max_value=today, format="YYYY-MM-DD", key=f"wc_date_{nonce}")
        go = st.form_submit_button("Submit", type="primary", icon=":material/send:", width="stretch")
    if go:
        entry = {"customer": choice.account_code, "meter": choice.meter_number, "date": date,
                 kind: (value or "").strip()}
        try:
            result = db.submit_usage([entry], label=f"phone {choice.account_code}", actor=actor)
        except MasterDataError as exc:
            for p in exc.problems:
                field = KINDS.get(p.column, p.column or "entry")
                st.error(f"**{w.esc(field)}**: {w.esc(p.message)}", icon=":material/error:")
        except MeterlineError as exc:
            show_error(exc)
        else:
            st.session_state[LAST] = result.message
            st.session_state[NONCE] = nonce + 1  # a fresh form: the old one cannot be sent again
            st.rerun()
    elif st.session_state.get(LAST):
        st.success(w.esc(st.session_state[LAST]), icon=":material/check_circle:")
