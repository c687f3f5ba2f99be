"""Admin: bill one approved reading.

Shows the pricing lookup and the rule that applied, lets the admin confirm the monthly units
(seed 002: absolute units for the period, never subtracted again), the motor share and the
previous outstanding (default: what the flat still owes), previews the whole breakdown and
saves. A locked month is refused and a collision is stored as a separate re-issued bill; both
are said in a plain sentence.
"""
from __future__ import annotations

import datetime as dt

import streamlit as st

from services.errors import MeterlineError, PeriodLockedError
from services.models import ReadingFilter
from services.periods import BillingPeriod
from services.pricing_service import RULE_LABELS
from services.roles import Permission
from ui import widgets as w
from ui.common import page_guard, services, show_error

DUE_DAYS = 15
RESULT = "bill_reading_result"

actor = page_guard(Permission.CREATE_BILL)
svc = services()
db = svc.db

st.title(":material/receipt_long: Bill a reading")


def _reading_label(rd) -> str:
    return (f"{rd.flat_code} · read {rd.reading_date} · {w.kwh(rd.billable_units)} to bill · "
            f"{rd.owner_name or 'no owner'} · reading #{rd.id}")


def _save(reading_id: int) -> None:
    """Button callback: runs once per click, before the page is drawn again. Reads the inputs
    from the session so a value typed just before the click is the one billed."""
    ss = st.session_state
    start, end, due = ss[f"start_{reading_id}"], ss[f"end_{reading_id}"], ss[f"due_{reading_id}"]
    units, motor, prev = ss[f"units_{reading_id}"], ss[f"motor_{reading_id}"] or 0, ss[f"prev_{reading_id}"]
    current = db.get_reading(reading_id)
    if current.bill_id and not st.session_state.get(f"reissue_{reading_id}"):
        st.session_state[RESULT] = {"error": f"Reading #{reading_id} is already on bill #{current.bill_id}: nothing "
                                             "was stored. Tick 're-issue' to store a separate re-issued bill."}
        return
    try:
        bill = db.bill_reading(reading_id, start, end, due, flat_units=units, motor_units=motor,
                               previous_outstanding=prev, actor=actor)
    except PeriodLockedError as exc:
        st.session_state[RESULT] = {"error": f"Refused, nothing was stored: {exc}"}
        return
    except MeterlineError as exc:
        st.session_state[RESULT] = {"exc": exc}
        return
    report = svc.events.bill_created(bill, actor)
    st.session_state[RESULT] = {"bill": bill, "messages": list(report.messages),
                                "link": report.payment_link_url}
    st.query_params["reading"] = str(reading_id)  # keep showing this reading (a search would no longer list it)


def _show_result(result: dict) -> None:
    if "error" in result:
        st.error(result["error"], icon=":material/block:")
    elif "exc" in result:
        show_error(result["exc"])
    else:
        bill = result["bill"]
        if bill.reissue_of:
            st.warning(f"A bill for {bill.flat_code} already starts on that date (bill #{bill.reissue_of}). Nothing "
                       f"was overwritten: this bill was stored separately as bill #{bill.id}, starting "
                       f"{bill.billing_period_start}, and marked as a re-issue of bill #{bill.reissue_of}.",
                       icon=":material/call_split:")
        st.success(f"Saved bill #{bill.id} for {bill.flat_code}: {w.money(bill.total_amount)}, due {bill.due_date}.",
                   icon=":material/check_circle:")
        for m in result["messages"]:
            st.caption(w.esc(m))
        if result.get("link"):
            st.caption(f"Payment link: {result['link']}")
        st.page_link("ui/bills.py", label=f"Open bill #{bill.id}", icon=":material/open_in_new:",
                     query_params={"bill": bill.id})


def _stop() -> None:
    if result:
        _show_result(result)
    st.stop()


result = st.session_state.pop(RESULT, None)

# ---- which reading ------------------------------------------------------------------------
reading = None
asked = st.query_params.get("reading")
if asked and asked.isdigit():
    try:
        reading = db.get_reading(int(asked))
    except MeterlineError as exc:
        show_error(exc)
if reading is None:
    term = st.text_input("Flat code", key="br_flat", placeholder="e.g. B17-FF", icon=":material/search:",
                         help="Approved readings of matching flats that no bill references yet.")
    if not term.strip():
        st.info("Type a flat code, or open an approved reading from **Review readings**.", icon=":material/info:")
        _stop()
    found = db.list_readings(ReadingFilter(status="approved", unbilled_only=True, flat_code=term.strip(),
                                           flat_meters_only=True), 0, 50, actor=actor, with_total=False)
    if not found.items:
        st.warning("No approved, unbilled reading of a flat starting with that code. Approve it on Review readings.")
        _stop()
    reading = st.selectbox("Approved reading", found.items, format_func=_reading_label, key="br_pick")
else:
    if st.button("Choose another reading", icon=":material/arrow_back:", key="br_clear"):
        st.query_params.clear()
        st.rerun()

if reading.flat_id is None:
    st.error("This is a shared-motor meter's reading: bill the flats' readings; the motor share goes on each flat's bill.")
    _stop()
if reading.status != "approved":
    st.error(f"Reading #{reading.id} is {reading.status}: approve it on Review readings before billing.")
    _stop()

flat = db.get_flat(reading.flat_id)
with st.container(border=True):
    c1, c2 = st.columns([2, 1])
    c1.markdown(f"**{w.esc(flat.code)}** · {w.esc(flat.flat_type or '')} · {w.esc(flat.floor_name or '')} · owner "
                f"{w.esc(flat.owner_name or '-')}  \nReading #{reading.id}: {w.kwh(reading.reading_value)} on "
                f"{reading.reading_date} · consumption {w.kwh(reading.consumption)}"
                + (f" · units confirmed at review {w.kwh(reading.approved_units)}" if reading.approved_units is not None else ""))
    local = svc.photos.path_for(reading.photo_ref)
    if local or reading.photo_url:
        c2.image(str(local) if local else reading.photo_url, caption="Meter photo", width=220)
if reading.bill_id:
    st.warning(f"Reading #{reading.id} is already on bill #{reading.bill_id}.", icon=":material/warning:")
    st.checkbox("Re-issue: store another bill for this reading (the first bill is kept)", key=f"reissue_{reading.id}")
    if not st.session_state.get(f"reissue_{reading.id}"):
        if not result:  # a just-saved bill's result carries its own link
            st.page_link("ui/bills.py", label=f"Open bill #{reading.bill_id}", icon=":material/open_in_new:",
                         query_params={"bill": reading.bill_id})
        _stop()  # nothing to price until a re-issue is asked for

# ---- inputs -------------------------------------------------------------------------------
month = BillingPeriod.for_month(reading.reading_date)
rid = reading.id
c1, c2, c3 = st.columns(3)
start = c1.date_input("Billing period start", value=month.start, format="YYYY-MM-DD", key=f"start_{rid}")
end = c2.date_input("Billing period end", value=month.end, format="YYYY-MM-DD", key=f"end_{rid}")
due = c3.date_input("Due date", value=month.end + dt.timedelta(days=DUE_DAYS), format="YYYY-MM-DD", key=f"due_{rid}")
owed = db.flat_outstanding(flat.id)
default_units = reading.billable_units
c1, c2, c3 = st.columns(3)
units = c1.text_input("Monthly units (kWh)", value="" if default_units is None else str(default_units), key=f"units_{rid}",
                      help="Absolute units for the period, used as given (no subtraction).")
motor = c2.text_input("Motor share (kWh)", value=str(reading.motor_share or 0), key=f"motor_{rid}")
prev = c3.text_input("Previous outstanding (₹)", value=str(owed), key=f"prev_{rid}",
                     help=f"What {flat.code} still owes on open bills: {w.money(owed)}. Those bills are carried "
                          "forward into this one only when you keep exactly that amount.")

try:
    quote = db.quote_bill(flat.id, units, motor or 0, prev)
except MeterlineError as exc:
    show_error(exc)
    _stop()

p, bd = quote.pricing, quote.breakdown
st.subheader("Pricing")
c1, c2, c3 = st.columns(3)
c1.metric("Rate per unit", f"₹{w.num(p.rate_per_unit)}")
c2.metric("Fixed charge", w.money(p.fixed_charge))
c3.caption("Rule that applied")
c3.markdown(f"**{RULE_LABELS.get(p.rule, p.rule)}**")  # a sentence, too long for a metric
st.caption(f"How it was decided: {w.esc(p.explanation)}")

st.subheader("Preview")
rows = [
    ("Flat units", w.kwh(bd.flat_units)), ("Motor share", w.kwh(bd.motor_units)), ("Total units", w.kwh(bd.total_units)),
    (f"Energy charge ({bd.total_units} x {w.num(bd.rate_per_unit)})", w.money(bd.energy_charge_display)),
    ("Fixed charge", w.money(bd.fixed_charge)), ("Previous outstanding", w.money(bd.previous_outstanding)),
    ("Total", w.money(bd.total_amount)),
]
st.dataframe([{"line": a, "amount": b} for a, b in rows], hide_index=True, width="stretch")
if quote.carry_forward_bill_ids:
    st.caption(f"Open bill(s) {', '.join('#' + str(i) for i in quote.carry_forward_bill_ids)} will be carried "
               "forward into this bill.")
elif owed and bd.previous_outstanding != owed:
    st.caption(f"The flat owes {w.money(owed)} on open bills; they stay open because the previous outstanding "
               "entered differs.")
st.button("Save bill", type="primary", icon=":material/save:", key="save_bill", on_click=_save, args=(rid,))
if result:
    _show_result(result)  # under the button that was pressed
