"""Admin: review pending readings (not yet referenced by a bill).

Filtered and paginated in the database (area at any level, date range, flagged only, account
code).
Each reading shows its photo, the meter's recent history and the statistical flags with their
reasons; approve (optionally confirming the monthly units) or reject with a reason. The
unflagged readings on the page can be approved in one go.
"""
from __future__ import annotations

import streamlit as st

from services.errors import MeterlineError
from services.models import ReadingFilter
from services.accounts.roles import Permission
from ui import widgets as w
from ui.common import billing_source, page_guard, services

HISTORY = 6
MSG = "review_messages"

actor = page_guard(Permission.REVIEW_READINGS)
svc = services()
db = svc.db

st.title(":material/fact_check: Review readings")


def _say(kind: str, text: str) -> None:
    st.session_state.setdefault(MSG, []).append((kind, text))


def _approve(reading_id: int) -> None:
    units = (st.session_state.get(f"units_{reading_id}") or "").strip() or None
    try:
        rd = db.approve_reading(reading_id, actor=actor, approved_units=units)
    except MeterlineError as exc:
        _say("error", f"Reading #{reading_id}: {exc}")
        return
    _say("success", f"Approved reading #{rd.id} ({rd.account_code}, {w.qty(rd.billable_units, rd.unit)} to bill).")
    st.session_state["approved_last"] = rd.id


def _reject(reading_id: int) -> None:
    reason = (st.session_state.get(f"reason_{reading_id}") or "").strip()
    try:
        rd = db.reject_reading(reading_id, reason, actor=actor)
    except MeterlineError as exc:
        _say("error", f"Reading #{reading_id}: {exc}")
        return
    _say("success", f"Rejected reading #{rd.id} ({rd.account_code}): {reason}")


def _bulk(ids: list[int]) -> None:
    try:
        n = db.bulk_approve_unflagged(ids, actor=actor)
    except MeterlineError as exc:
        _say("error", str(exc))
        return
    _say("success", f"Approved {n} unflagged reading(s).")


for kind, text in st.session_state.pop(MSG, []):
    (st.success if kind == "success" else st.error)(w.esc(text))
if st.session_state.get("approved_last") and billing_source() == "readings":
    st.page_link("ui/bill_reading.py", label=f"Bill reading #{st.session_state['approved_last']} now",
                 icon=":material/receipt_long:", query_params={"reading": st.session_state["approved_last"]})

with st.container(border=True):
    levels = len(w.utility().area_levels)
    cols = st.columns(levels + 2)
    area_id = w.area_picker("rv_area", cols[:levels])
    date_from = cols[levels].date_input("Read on or after", value=None, format="YYYY-MM-DD", key="rv_from")
    date_to = cols[levels + 1].date_input("Read on or before", value=None, format="YYYY-MM-DD", key="rv_to")
    c5, c6 = st.columns([3, 1], vertical_alignment="bottom")
    account_code = c5.text_input(f"{w.word(capital=True)} code starts with", key="rv_code")
    flagged = c6.toggle("Flagged only", key="rv_flagged")

flt = ReadingFilter(area_id=area_id, date_from=date_from, date_to=date_to, flagged_only=flagged,
                    account_code=account_code.strip() or None)
key = "review"
size = w.page_size(key)
offset = w.offset_for(key, (flt, size))
page = db.list_pending_readings(flt, offset, size, actor=actor)
if not page.items:
    st.info("No pending readings match these filters.", icon=":material/done_all:")
    st.stop()

unflagged = [rd.id for rd in page.items if not rd.flags]
st.button(f"Approve the {len(unflagged)} unflagged reading(s) on this page", icon=":material/done_all:",
          disabled=not unflagged, on_click=_bulk, args=(unflagged,), key="bulk_approve", type="primary")

for rd in page.items:
    with st.container(border=True, key=f"reading_{rd.id}"):
        st.markdown(f"**{w.esc(rd.account_code or 'Shared meter')}** · {w.esc(rd.contact_name or '')} · meter "
                    f"{w.esc(rd.meter_number)} · read {rd.reading_date} by {w.esc(rd.submitted_by_name or 'import')}"
                    f" · #{rd.id}")
        photo_col, info_col, act_col = st.columns([1, 2.4, 1.2])
        local = svc.photos.path_for(rd.photo_ref)
        if local:
            photo_col.image(str(local), caption="Meter photo", width="stretch")
        elif rd.photo_url:
            photo_col.image(rd.photo_url, caption="Meter photo", width="stretch")
        else:
            photo_col.caption(":material/no_photography: No photo")
        info_col.markdown(f"Reading **{w.qty(rd.reading_value, rd.unit)}** · consumption "
                          f"**{w.qty(rd.consumption, rd.unit)}**"
                          + (f" · shared meter share {w.qty(rd.motor_share, rd.unit)}" if rd.motor_share is not None
                             else ""))
        for flag in rd.flags or []:
            info_col.warning(w.esc(flag.get("reason", flag.get("code"))), icon=":material/flag:")
        if rd.ai_opinion:  # advice only: the flags above decide nothing either, the reviewer does
            op = rd.ai_opinion
            info_col.caption(f":material/smart_toy: AI advice: {w.esc(op.get('verdict', '?'))}"
                             + (f" ({w.esc(op['confidence'])})" if op.get("confidence") is not None else "")
                             + (f": {w.esc(op['reason'])}" if op.get("reason") else ""))
        history = [h for h in db.meter_history(rd.meter_id, limit=HISTORY + 1) if h.id != rd.id][:HISTORY]
        if history:
            info_col.dataframe([{"date": h.reading_date.isoformat(), "reading": w.utility().number(h.reading_value),
                                 "used": w.qty(h.consumption, h.unit or rd.unit),
                                 "status": h.status} for h in history], hide_index=True, width="stretch",
                                height=35 * (len(history) + 1) + 3)
        else:
            info_col.caption("No earlier readings of this meter.")
        act_col.text_input("Monthly units to bill" + (f" ({rd.unit})" if rd.unit else ""), key=f"units_{rd.id}",
                           placeholder=f"{rd.consumption}" if rd.consumption is not None else "enter units",
                           help="Leave empty to bill the computed consumption.")
        act_col.button("Approve", key=f"approve_{rd.id}", on_click=_approve, args=(rd.id,), type="primary",
                       icon=":material/check:", width="stretch")
        act_col.text_input("Reason to reject", key=f"reason_{rd.id}", placeholder="e.g. photo unreadable")
        act_col.button("Reject", key=f"reject_{rd.id}", on_click=_reject, args=(rd.id,), icon=":material/close:",
                       width="stretch")
w.pager(key, page, "pending readings")
