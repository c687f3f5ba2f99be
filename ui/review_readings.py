"""Admin: review pending readings as an inbox (issue 18).

Compact rows, oldest first (the reading that has waited longest on top), filtered and paginated in
the database (area at any level, flagged only, date range, account code; the filters in the URL).
Each row: a photo thumbnail, the reading and its flags, Approve, and a "More" menu (units to bill,
reject with a reason, the meter's history). A decision is shown in place of the row (and as a
toast): the rows of the page keep their places, so another reading never slides under the pointer.
Bulk approve first shows exactly which readings it will approve (the unflagged ones on the page;
those without a photo only when asked) and asks for confirmation. A decision offers Undo in its row
while nothing rests on it (services/readings/undo.py). Keyboard: A approves the first undecided row
(the only primary Approve), U undoes the latest decision; Tab walks the rows in reading order.
"""
from __future__ import annotations

import streamlit as st

from services.errors import MeterlineError
from services.models import ReadingFilter
from services.accounts.roles import Permission
from ui import url_state as url
from ui import widgets as w
from ui.common import billing_source, page_guard, readable, services

HISTORY = 6
DONE = "review_done"  # {reading id: (kind, text)}: decisions of this page, shown in the rows' places
PINNED = "review_pinned"  # (signature, [ids]): the page's rows in the order first shown
CONFIRM = "review_confirm_bulk"
UNDO_REFUSED = "review_undo_refused"  # {reading id: why its decision could not be undone}
LAST = "review_last_decided"  # the reading whose Undo the U key presses
# Keyboard (Streamlit's own button shortcuts; a single key does nothing while typing in a field):
# A approves the first undecided row, U undoes the latest decision.
APPROVE_KEY, UNDO_KEY = "A", "U"

actor = page_guard(Permission.REVIEW_READINGS)
svc = services()
db = svc.db
u = w.utility()

st.title(":material/fact_check: Review readings")


def _done(reading_id: int, kind: str, text: str) -> None:
    st.session_state.setdefault(DONE, {})[reading_id] = (kind, text)
    st.session_state.get(UNDO_REFUSED, {}).pop(reading_id, None)
    if kind == "success":
        st.session_state[LAST] = reading_id
    st.toast(text + (" Undo it from its row (U)." if kind == "success" else ""),
             icon=":material/check_circle:" if kind == "success" else ":material/error:")


def _undo(reading_id: int) -> None:
    """Back to pending while nothing rests on the decision (services/readings/undo.py); a refusal
    stays in the row, next to the decision, saying why."""
    try:
        db.undo_review(reading_id, actor=actor)
    except MeterlineError as exc:
        st.session_state.setdefault(UNDO_REFUSED, {})[reading_id] = readable(exc)
        st.toast(f"Not undone: {readable(exc)}", icon=":material/error:")
        return
    st.session_state.get(DONE, {}).pop(reading_id, None)
    if st.session_state.get("approved_last") == reading_id:
        st.session_state.pop("approved_last")
    if st.session_state.get(LAST) == reading_id:
        st.session_state.pop(LAST)
    st.toast(f"Reading #{reading_id} is pending again.", icon=":material/undo:")


def _approve(reading_id: int) -> None:
    units = (st.session_state.get(f"units_{reading_id}") or "").strip() or None
    try:
        rd = db.approve_reading(reading_id, actor=actor, approved_units=units)
    except MeterlineError as exc:
        _done(reading_id, "error", f"Reading #{reading_id}: {readable(exc)}")
        return
    _done(rd.id, "success", f"Approved reading #{rd.id} ({rd.account_code or 'shared meter'}, {w.qty(rd.billable_units, rd.unit)} "
                            "to bill).")
    st.session_state["approved_last"] = rd.id


def _reject(reading_id: int) -> None:
    reason = (st.session_state.get(f"reason_{reading_id}") or "").strip()
    try:
        rd = db.reject_reading(reading_id, reason, actor=actor)
    except MeterlineError as exc:
        _done(reading_id, "error", f"Reading #{reading_id}: {readable(exc)}")
        return
    _done(rd.id, "success", f"Rejected reading #{rd.id} ({rd.account_code or 'shared meter'}): {reason}")


def _not_approved_by_me(ids: list[int]) -> dict[int, str]:
    """The readings the bulk approval skipped (flagged or decided by someone else meanwhile) and what
    they are now: looked up only when fewer were approved than asked, at most a page of them."""
    out = {}
    for i in ids:
        try:
            rd = db.get_reading(i)
        except MeterlineError:
            out[i] = "gone"
            continue
        if rd.status != "approved" or rd.reviewed_by != actor.user_id:
            out[i] = "flagged" if rd.status == "pending" and rd.flags else rd.status
    return out


def _bulk(ids: list[int]) -> None:
    st.session_state.pop(CONFIRM, None)
    try:
        n = db.bulk_approve_unflagged(ids, actor=actor)
    except MeterlineError as exc:
        st.session_state["review_bulk_msg"] = ("error", readable(exc))
        return
    st.session_state.pop(LAST, None)  # U undoes single decisions only; each bulk row has its own Undo
    missed = _not_approved_by_me(ids) if n < len(ids) else {}
    for i in ids:
        st.session_state.setdefault(DONE, {})[i] = (
            ("error", f"Reading #{i} was not approved: it is {missed[i]} now.") if i in missed
            else ("success", f"Approved reading #{i} (bulk)."))
    st.session_state["review_bulk_msg"] = ("success", f"Approved {n} unflagged reading(s)."
                                           + (f" {len(missed)} changed meanwhile and were left as they are."
                                              if missed else ""))
    st.toast(f"Approved {n} reading(s).", icon=":material/done_all:")


bulk_msg = st.session_state.pop("review_bulk_msg", None)
if bulk_msg:
    (st.success if bulk_msg[0] == "success" else st.error)(w.esc(bulk_msg[1]))
# The link only for a role that may bill (Operations reviews but does not bill: the page is not in
# its navigation, and a link to it would stop the page with "Could not find page").
if st.session_state.get("approved_last") and billing_source() == "readings" and actor.can(Permission.CREATE_BILL):
    st.page_link("ui/bill_reading.py", label=f"Bill reading #{st.session_state['approved_last']} now",
                 icon=":material/receipt_long:", query_params={"reading": st.session_state["approved_last"]})

key = "review"
levels = len(u.area_levels)
URL = [*url.area("area", "rv_area", levels, lambda i: db.get_area(area_id=i)), url.flag("flagged", "rv_flagged"),
       url.date("from", "rv_from"), url.date("to", "rv_to"), url.text("code", "rv_code"),
       url.flag("newest", "rv_newest")]
url.restore(URL, key)
with st.container(border=True):
    cols = st.columns(levels + 2)
    area_id = w.area_picker("rv_area", cols[:levels])
    date_from = cols[levels].date_input("Read on or after", value=None, format="YYYY-MM-DD", key="rv_from")
    date_to = cols[levels + 1].date_input("Read on or before", value=None, format="YYYY-MM-DD", key="rv_to")
    c5, c6, c7 = st.columns([3, 1, 1], vertical_alignment="bottom")
    account_code = c5.text_input(f"{w.word(capital=True)} code starts with", key="rv_code")
    flagged = c6.toggle("Flagged only", key="rv_flagged")
    newest = c7.toggle("Newest first", key="rv_newest", help="Oldest first by default: the longest wait on top.")

flt = ReadingFilter(area_id=area_id, date_from=date_from, date_to=date_to, flagged_only=flagged,
                    account_code=account_code.strip() or None, sort="date", descending=newest)
size = w.page_size(key)
offset = url.restored_offset(key, w.offset_for(key, (flt, size)))
page = db.list_pending_readings(flt, offset, size, actor=actor)
url.publish(URL, key, size)

# The page's rows keep the places they were first shown in: a decided reading leaves the pending
# list, but its row stays (saying what was done) until the filter or page changes. A reading that
# joins the page later (another reviewer decided one above it) is pinned below the others, so its
# own decision shows in its row too (it vanished before: found by the load test, issue 19); on a
# long day on one page the latest page-size decisions keep their rows (the toast said the others).
signature = (flt, offset, size)
pinned_sig, pinned = st.session_state.get(PINNED, (None, []))
if pinned_sig != signature:
    pinned = []
    st.session_state[DONE] = {}
    st.session_state[UNDO_REFUSED] = {}
done = st.session_state.get(DONE, {})
by_id = {rd.id: rd for rd in page.items}
rows = [i for i in pinned if i in by_id or i in done] + [rd.id for rd in page.items if rd.id not in pinned]
for old in [i for i in rows if i not in by_id][:-size]:
    rows.remove(old)
    done.pop(old, None)
    st.session_state.get(UNDO_REFUSED, {}).pop(old, None)
st.session_state[PINNED] = (signature, rows)

if not rows:
    st.info("No pending readings match these filters.", icon=":material/done_all:")
    st.stop()


def _has_photo(rd) -> bool:
    return bool(rd.photo_ref or rd.photo_url)


unflagged = [rd for rd in page.items if not rd.flags and rd.id not in done]
with_photo = [rd for rd in unflagged if _has_photo(rd)]
b1, b2 = st.columns([3, 2], vertical_alignment="center")
b1.button(f"Approve the {len(unflagged)} unflagged reading(s) on this page ...", icon=":material/done_all:",
          disabled=not unflagged, key="bulk_approve", on_click=lambda: st.session_state.update({CONFIRM: True}))
b2.caption(f"{len(with_photo)} of them with a photo.")
if st.session_state.get(CONFIRM) and unflagged:
    with st.container(border=True, key="bulk_confirm"):
        include = st.checkbox("Also approve the readings without a photo", key="bulk_no_photo")
        chosen = unflagged if include else with_photo
        st.markdown(f"**These {len(chosen)} reading(s) will be approved** (flagged readings are never approved in "
                    "bulk" + ("" if include else "; readings without a photo are left for a look") + "):")
        if chosen:
            st.dataframe([{w.word(): rd.account_code or "shared meter", "read on": rd.reading_date.isoformat(),
                           "reading": u.number(rd.reading_value), "used": w.qty(rd.consumption, rd.unit),
                           "photo": "yes" if _has_photo(rd) else "no", "#": rd.id} for rd in chosen],
                         hide_index=True, width="stretch", height=35 * (min(len(chosen), 10) + 1) + 3)
        k1, k2, _ = st.columns([1, 1, 2])
        k1.button(f"Approve these {len(chosen)}", type="primary", key="bulk_confirm_yes", disabled=not chosen,
                  on_click=_bulk, args=([rd.id for rd in chosen],), icon=":material/check:")
        k2.button("Cancel", key="bulk_confirm_no", on_click=lambda: st.session_state.pop(CONFIRM, None))


def _more_menu(rd) -> None:
    """A row's "More": units to bill, reject with a reason, the meter's history."""
    st.text_input("Monthly units to bill" + (f" ({rd.unit})" if rd.unit else ""), key=f"units_{rd.id}",
                  placeholder=f"{rd.consumption}" if rd.consumption is not None else "enter units",
                  help="Leave empty to bill the computed consumption; then Approve.")
    st.text_input("Reason to reject", key=f"reason_{rd.id}", placeholder="e.g. photo unreadable")
    st.button("Reject", key=f"reject_{rd.id}", on_click=_reject, args=(rd.id,), icon=":material/close:",
              width="stretch")
    history = [h for h in db.meter_history(rd.meter_id, limit=HISTORY + 1) if h.id != rd.id][:HISTORY]
    if history:
        st.markdown(w.markdown_table([{"date": h.reading_date.isoformat(), "reading": u.number(h.reading_value),
                                       "used": w.qty(h.consumption, h.unit or rd.unit), "status": h.status}
                                      for h in history]))
    else:
        st.caption("No earlier readings of this meter.")


first_open = next((i for i in rows if i in by_id and done.get(i, ("",))[0] != "success"), None)
refused = st.session_state.get(UNDO_REFUSED, {})
for reading_id in rows:
    with st.container(border=True, key=f"reading_{reading_id}"):
        if reading_id in done:
            kind, text = done[reading_id]
            if kind == "success":
                line = st.container(horizontal=True, vertical_alignment="center", gap="small")
                line.success(w.esc(text), width="stretch")
                last = reading_id == st.session_state.get(LAST)
                line.button("Undo", key=f"undo_{reading_id}", on_click=_undo, args=(reading_id,),
                            icon=":material/undo:", shortcut=UNDO_KEY if last else None,
                            help="Send the reading back to pending (while it is not billed).")
                if reading_id in refused:
                    st.error(w.esc(f"Not undone: {refused[reading_id]}"), icon=":material/block:")
                continue
            st.error(w.esc(text))
        rd = by_id.get(reading_id)
        if rd is None:
            continue
        # Horizontal containers, not columns: on a phone columns stack (a 300-pixel row); these stay
        # side by side: the thumbnail beside the reading, Approve and More on one line.
        top = st.container(horizontal=True, vertical_alignment="center", gap="small")
        photo_col = top.container(width=88)
        info_col = top.container(width="stretch")
        local = svc.photos.path_for(rd.photo_ref)
        if local:
            photo_col.image(str(local), caption="Meter photo", width=80)
        elif rd.photo_url:
            photo_col.image(rd.photo_url, caption="Meter photo", width=80)
        else:
            photo_col.caption(":material/no_photography: No photo")
        info_col.markdown(f"**{w.esc(rd.account_code or 'Shared meter')}** · "
                          + (f"{w.esc(rd.contact_name)} · " if rd.contact_name else "") + "meter "
                          f"{w.esc(rd.meter_number)} · read {rd.reading_date} by "
                          f"{w.esc(rd.submitted_by_name or 'import')} · #{rd.id}")
        info_col.markdown(f"Reading **{w.qty(rd.reading_value, rd.unit)}** · used **{w.qty(rd.consumption, rd.unit)}**"
                          + (f" · shared meter share {w.qty(rd.motor_share, rd.unit)}" if rd.motor_share is not None
                             else ""))
        for flag in rd.flags or []:
            info_col.warning(w.esc(flag.get("reason", flag.get("code"))), icon=":material/flag:")
        if rd.photo_ref:  # reused or stale photo (docs/trust.md): the other photo side by side
            for finding in db.photo_findings(rd.id, actor=actor):  # scoped: another area's photo is hidden
                info_col.warning(w.esc(finding.reason[:1].upper() + finding.reason[1:]) + ".",
                                 icon=":material/content_copy:" if finding.kind == "reused" else ":material/schedule:")
                other = svc.photos.path_for(finding.other_photo_ref)
                if other:
                    photo_col.image(str(other), width="stretch",
                                    caption=f"Earlier photo: {finding.other_account or finding.other_meter} on "
                                            f"{finding.other_date}")
        if rd.ai_opinion:  # advice only: the flags above decide nothing either, the reviewer does
            op = rd.ai_opinion
            info_col.caption(f":material/smart_toy: AI advice: {w.esc(op.get('verdict', '?'))}"
                             + (f" ({w.esc(op['confidence'])})" if op.get("confidence") is not None else "")
                             + (f": {w.esc(op['reason'])}" if op.get("reason") else ""))
        act_col = top.container(horizontal=True, width=260, gap="small")  # room for the key hint beside Approve
        first = rd.id == first_open
        act_col.button("Approve", key=f"approve_{rd.id}", on_click=_approve, args=(rd.id,),
                       type="primary" if first else "secondary", icon=":material/check:",
                       shortcut=APPROVE_KEY if first else None)
        # The menu is built only while it is open, or while a field of it holds text (so units typed
        # there still reach Approve after the menu closes): a page of closed menus was most of the
        # server's work for the inbox (docs/scale-and-benchmarks.md, "Where the time went").
        more = act_col.popover("More", icon=":material/more_horiz:", key=f"more_{rd.id}", on_change="rerun")
        if more.open or st.session_state.get(f"units_{rd.id}") or st.session_state.get(f"reason_{rd.id}"):
            with more:
                _more_menu(rd)
w.pager(key, page, "pending readings")
