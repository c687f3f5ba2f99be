"""Meters (admins): record a meter replacement or a register rollover, so the readings continue
across it with the right consumption (services/readings/meter_changes.py), and see the changes recorded.
Everything goes through DatabaseService.record_meter_change, which checks MANAGE_MASTER_DATA
again, does it in one unit of work and writes audit_log."""
from __future__ import annotations

import streamlit as st

from services.errors import MeterlineError
from services.readings.meter_changes import KINDS
from services.accounts.roles import Permission
from ui import widgets as w
from ui.common import page_guard, services, show_error

MATCH_LIMIT = 50
FLASH = "meters_flash"

actor = page_guard(Permission.MANAGE_MASTER_DATA)
db = services().db
today = db.today()

st.title(":material/electric_meter: Meters")
st.caption("When a meter is replaced, or its register rolls over past its maximum, record it here: the old "
           "meter's final reading closes its readings and the new start reading opens the next ones, so no "
           "consumption is lost or negative. Field engineers are sent here by the app when a reading is below "
           "the previous one.")

flash = st.session_state.pop(FLASH, None)
if flash:
    st.success(flash, icon=":material/check_circle:")

label = w.word()
search = st.text_input("Find the meter", key="mt_search", placeholder=f"{w.word(capital=True)} code, meter number or "
                       "name", type="search", icon=":material/search:")
matches = db.list_active_meters(search, limit=MATCH_LIMIT)
if not matches.items:
    st.warning(f"No active meter matches that search. Check the {label} code or meter number.")
else:
    choice = st.selectbox(f"{w.word(capital=True)} and meter", matches.items, format_func=lambda c: c.label,
                          key="mt_choice")
    unit = choice.unit
    per = f", {unit}" if unit else ""
    recent = db.meter_history(choice.meter_id, limit=5)
    if recent:
        st.dataframe([{"Date": x.reading_date, "Reading": w.qty(x.reading_value, unit),
                       "Consumption": w.qty(x.consumption, unit), "Status": x.status} for x in recent],
                     hide_index=True, width="stretch")
        st.caption(f"The last readings of meter {w.esc(choice.meter_number)}, newest first.")
    else:
        st.caption(f"Meter {w.esc(choice.meter_number)} has no readings yet.")

    kind = st.radio("What happened", list(KINDS), format_func=KINDS.get, horizontal=True, key="mt_kind")
    with st.form("meter_change"):
        date = st.date_input("Date of the change", value=today, max_value=today, format="YYYY-MM-DD", key="mt_date")
        if kind == "replacement":
            final = st.text_input(f"Final reading of the old meter ({unit})" if unit else "Final reading of the old meter",
                                  key="mt_final",
                                  help="What the old meter showed when it was taken out.")
            new_number = st.text_input("New meter number", key="mt_new_number")
            start = st.text_input(f"Start reading of the new meter ({unit})" if unit else "Start reading of the new meter",
                                  value="0", key="mt_start",
                                  help="What the new meter showed when it was put in.")
        else:
            new_number = None
            final = st.text_input(f"Value at which the register wrapped (final reading{per})", key="mt_final",
                                  help="e.g. 100000 for a five-digit register: the reading it would show with one "
                                       "more digit.")
            start = st.text_input(f"Register after wrapping (start reading{per})", value="0", key="mt_start")
        reason = st.text_area("Reason", key="mt_reason", max_chars=500,
                              placeholder="e.g. meter burnt, replaced by the utility on the 1st")
        record = st.form_submit_button("Record the meter change", type="primary", icon=":material/save:")
    if record:
        try:
            mc = db.record_meter_change(meter_id=choice.meter_id, kind=kind, change_date=date, final_reading=final,
                                        start_reading=start, new_meter_number=new_number, reason=reason, actor=actor)
        except MeterlineError as exc:
            show_error(exc)
        else:
            if mc.kind == "replacement":
                message = (f"Meter {w.esc(mc.old_meter_number)} replaced by {w.esc(mc.new_meter_number)} on "
                           f"{mc.change_date}: final "
                           f"reading {w.qty(mc.final_value, unit)}, the new meter starts at {w.qty(mc.start_value, unit)}.")
            else:
                message = (f"Rollover of meter {w.esc(mc.old_meter_number)} on {mc.change_date}: final reading "
                           f"{w.qty(mc.final_value, unit)}, readings continue from {w.qty(mc.start_value, unit)}.")
            st.session_state[FLASH] = message
            st.rerun()

st.subheader("Recent meter changes")
changes = db.list_meter_changes(offset=0, limit=20, actor=actor)
if not changes.items:
    st.caption("No meter change recorded yet.")
else:
    st.dataframe([{"Date": c.change_date, "What": c.kind_label, w.word(capital=True): c.account_code or "",
                   "Old meter": c.old_meter_number, "New meter": c.new_meter_number,
                   "Final reading": w.qty(c.final_value), "Start reading": w.qty(c.start_value),
                   "Reason": c.reason, "By": c.recorded_by_name} for c in changes.items],
                 hide_index=True, width="stretch")
    st.caption(f"{w.plural(changes.total or 0, 'change')}; the newest 20 are shown.")
