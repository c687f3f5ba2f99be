"""Admin: bill one approved reading.

Shows the plan that prices it (for a flat-rate plan the rate, fixed charge and the rule that
applied), the readings the bill covers (every approved reading since the account's last billed
one, up to this one), lets the admin confirm the monthly units (seed 002: absolute units for the
period, never subtracted again; they become this reading's confirmed units), the shared-meter
share and the previous outstanding (default: what the account still owes), previews the bill's
lines (the quote's: BillQuote.priced.lines) and saves. The preview and Save come from the same
function (DatabaseService.quote_bill), so Save stores what the preview shows. A locked month is
refused; a bill for a period start the account already has, or a re-issue of a billed reading,
replaces the bill it re-issues (superseded, its payments credited); both are said in a plain
sentence. Shown in the navigation only for a utility that bills readings (ui/registry.py).
"""
from __future__ import annotations

import datetime as dt

import streamlit as st

from services.errors import MeterlineError, PeriodLockedError, ValidationError
from services.models import ReadingFilter
from services.billing.periods import BillingPeriod
from services.pricing_service import RULE_LABELS
from services.accounts.roles import Permission
from ui import widgets as w
from ui.common import page_guard, readable, services, show_error, utility

RESULT = "bill_reading_result"
PREV_KEY = "bill_reading_prev_key"  # the previous-outstanding input the page drew (it differs for a re-issue)
PREVIEWED = "bill_reading_previewed"  # (reading, total, credit) the preview showed

actor = page_guard(Permission.CREATE_BILL)
svc = services()
db = svc.db
u = utility()

st.title(":material/receipt_long: Bill a reading")


def _reading_label(rd) -> str:
    return (f"{rd.account_code} · read {rd.reading_date} · {w.qty(rd.billable_units, rd.unit)} to bill · "
            f"{rd.contact_name or 'no contact'} · reading #{rd.id}")


def _save(reading_id: int) -> None:
    """Button callback: runs once per click, before the page is drawn again. Reads the inputs
    from the session so a value typed just before the click is the one billed."""
    ss = st.session_state
    start, end, due = ss[f"start_{reading_id}"], ss[f"end_{reading_id}"], ss[f"due_{reading_id}"]
    units, motor, prev = ss[f"units_{reading_id}"], ss.get(f"motor_{reading_id}") or 0, ss[ss[PREV_KEY]]
    current = db.get_reading(reading_id)
    if current.bill_id and not st.session_state.get(f"reissue_{reading_id}"):
        st.session_state[RESULT] = {"error": f"Reading #{reading_id} is already on bill #{current.bill_id}: nothing "
                                             "was stored. Tick 're-issue' to store a separate re-issued bill."}
        return
    try:
        # What Save stores is what the preview showed: the same function, priced again now.
        now = db.quote_bill(current.account_id, units, motor, prev, reading_id=reading_id, billing_period_start=start,
                            billing_period_end=end)
        if (reading_id, now.total_amount, now.credit) != ss.get(PREVIEWED):
            st.session_state[RESULT] = {"error": "The bill changed since the preview (a payment or another bill was "
                                                 "recorded meanwhile): nothing was stored. Check the new preview and "
                                                 "save again."}
            return
        bill = db.bill_reading(reading_id, start, end, due, flat_units=units, motor_units=motor,
                               previous_outstanding=prev, actor=actor)
    except PeriodLockedError as exc:
        st.session_state[RESULT] = {"error": f"Refused, nothing was stored: {readable(exc)}"}
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
        st.success(f"Saved bill #{bill.id} for {bill.account_code}: {w.money(bill.total_amount)}, due {bill.due_date}"
                   + (f"; {w.money(bill.amount_paid)} credited, balance {w.money(bill.balance)}" if bill.amount_paid
                      else "") + ".", icon=":material/check_circle:")
        if bill.reissue_of:
            st.info(f"Bill #{bill.reissue_of} for {bill.account_code} was re-issued. Nothing was overwritten: this bill "
                    f"was stored separately as bill #{bill.id}, starting {bill.billing_period_start}, as a re-issue "
                    f"that replaces bill #{bill.reissue_of} (now superseded; what was paid on it is credited here).",
                    icon=":material/call_split:")
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
    term = st.text_input(f"{w.word(capital=True)} code", key="br_code", icon=":material/search:",
                         help=f"Approved readings of the {w.word(plural=True)} whose code starts with this that no "
                              "bill references yet.")
    if not term.strip():
        st.info(f"Type a {w.word()} code, or open an approved reading from **Review readings**.", icon=":material/info:")
        _stop()
    found = db.list_readings(ReadingFilter(status="approved", unbilled_only=True, account_code=term.strip(),
                                           account_meters_only=True), 0, 50, actor=actor, with_total=False)
    # A baseline (a new meter's start reading: nothing consumed yet) prices nothing: it is not offered.
    billable = [rd for rd in found.items if rd.billable_units is not None]
    if not billable:
        st.warning(f"No approved, unbilled reading of a {w.word()} whose code starts with that. Approve it on Review "
                   "readings." + (" (A new meter's first reading is its starting point: it is billed with the "
                                  "next reading.)" if found.items else ""))
        _stop()
    reading = st.selectbox("Approved reading", billable, format_func=_reading_label, key="br_pick")
else:
    if st.button("Choose another reading", icon=":material/arrow_back:", key="br_clear"):
        st.query_params.clear()
        st.rerun()

if reading.account_id is None:
    st.error(f"This is a shared meter's reading: bill the {w.word(plural=True)}' readings; the shared meter's share "
             f"goes on each {w.word()}'s bill.")
    _stop()
if reading.status != "approved":
    st.error(f"Reading #{reading.id} is {reading.status}: approve it on Review readings before billing.")
    _stop()

account = db.get_account(reading.account_id)
unit = reading.unit or u.quantity_unit
with st.container(border=True):
    c1, c2 = st.columns([2, 1])
    c1.markdown(f"**{w.esc(account.code)}** · {w.esc(account.category or '')} · {w.esc(account.area_name or '')} · "
                f"{w.esc(account.contact_name or 'no contact')}  \nReading #{reading.id}: "
                f"{w.qty(reading.reading_value, unit)} on {reading.reading_date} · consumption "
                f"{w.qty(reading.consumption, unit)}"
                + (f" · units confirmed at review {w.qty(reading.approved_units, unit)}"
                   if reading.approved_units is not None else ""))
    local = svc.photos.path_for(reading.photo_ref)
    if local or reading.photo_url:
        c2.image(str(local) if local else reading.photo_url, caption="Meter photo", width=220)
just_saved = bool(result and result.get("bill") and result["bill"].id == reading.bill_id)
if reading.bill_id and just_saved:
    _stop()  # the green "Saved bill #..." says it all: no yellow "already on bill" above it
if reading.bill_id:
    st.warning(f"Reading #{reading.id} is already on bill #{reading.bill_id}.", icon=":material/warning:")
    st.checkbox("Re-issue: store a new bill that replaces that one (it is kept, marked superseded; what was paid "
                "on it is credited to the new bill)", key=f"reissue_{reading.id}")
    if not st.session_state.get(f"reissue_{reading.id}"):
        if not result:  # a just-saved bill's result carries its own link
            st.page_link("ui/bills.py", label=f"Open bill #{reading.bill_id}", icon=":material/open_in_new:",
                         query_params={"bill": reading.bill_id})
        _stop()  # nothing to price until a re-issue is asked for

# ---- inputs -------------------------------------------------------------------------------
rid = reading.id
billed_on = db.get_bill(reading.bill_id) if reading.bill_id else None
month = BillingPeriod.for_month(reading.reading_date)
# A re-issue keeps the period of the bill it replaces (its first start, before any re-issue moved it).
first_start = month.start
if billed_on is not None:
    first_start = billed_on.billing_period_start
    while True:  # back along the re-issues to the period start the bill was first given
        earlier = db.get_bill(billed_on.reissue_of) if billed_on.reissue_of else None
        if earlier is None or earlier.billing_period_end != billed_on.billing_period_end:
            break
        first_start, billed_on = earlier.billing_period_start, earlier
c1, c2, c3 = st.columns(3)
start = c1.date_input("Billing period start", value=first_start, format="YYYY-MM-DD", key=f"start_{rid}")
end = c2.date_input("Billing period end", value=month.end if billed_on is None else billed_on.billing_period_end,
                    format="YYYY-MM-DD", key=f"end_{rid}")
due = c3.date_input("Due date", value=month.end + dt.timedelta(days=u.due_days) if billed_on is None
                    else billed_on.due_date, format="YYYY-MM-DD", key=f"due_{rid}")

# What this bill would be with every default (the readings it covers, re-issue or not, arrears).
try:
    plain = db.quote_bill(account.id, reading_id=rid, billing_period_start=start, billing_period_end=end)
except ValidationError as exc:
    if exc.field != "units":
        show_error(exc)
        _stop()
    plain = None  # only a meter's first reading (a baseline): the admin enters the units
except MeterlineError as exc:  # e.g. an earlier reading still pending review: named, with the fix
    show_error(exc)
    _stop()
owed = db.account_outstanding(account.id)
replaces = plain.replaces if plain else None
default_units = plain.coverage.units if plain else None
default_motor = plain.coverage.motor_units if plain else (reading.motor_share or 0)
default_prev = plain.priced.previous_outstanding if plain else owed
plan = db.plan_book().plan(db.service_connection(account).tariff_plan_id).plan
shared = plan.kind == "flat_rate"  # only a flat-rate plan bills a share of a shared meter (the water motor)
c1, c2, c3 = st.columns(3)
per = f" ({unit})" if unit else ""
units = c1.text_input(f"Monthly units{per}", value="" if default_units is None else str(default_units),
                      key=f"units_{rid}",
                      help="Absolute units for the period, used as given (no subtraction). They cover every reading "
                           f"since the {w.word()}'s last bill; a different figure becomes this reading's confirmed units.")
motor = c2.text_input(f"Shared meter units{per}", value=str(default_motor), key=f"motor_{rid}",
                      help=f"This {w.word()}'s share of a shared meter (the water motor), billed at the same rate.") \
    if shared else None
prev_key = f"prev_{rid}" if replaces is None else f"prev_{rid}_reissue_{replaces.id}"
st.session_state[PREV_KEY] = prev_key
prev = c3.text_input(f"Previous outstanding ({w.currency_symbol()})", value=str(default_prev), key=prev_key,
                     help=(f"What {account.code} still owes on open bills: {w.money(owed)}. Keep it to carry those "
                           "bills forward into this one, or enter 0 to leave them open.") if replaces is None else
                     (f"A re-issue carries the arrears bill #{replaces.id} carried: {w.money(default_prev)}."))

if plain is None and not (units or "").strip():  # nothing to price yet: say what to do, not an error before input
    st.info(f"Reading #{rid} is the meter's first reading: nothing was consumed before it. Enter the monthly units "
            "to bill for the period, or bill the meter's next reading instead.", icon=":material/edit:")
    _stop()
try:
    quote = db.quote_bill(account.id, units, motor or 0, prev, reading_id=rid, billing_period_start=start,
                          billing_period_end=end)
except MeterlineError as exc:
    show_error(exc)
    _stop()

priced = quote.priced
version = plan.version(priced.quote.plan_version)
st.subheader("Pricing")
st.caption(f"{w.esc(plan.name)} ({w.esc(plan.code)}), version {version.version} in effect from "
           f"{version.effective_from}: the version in effect on the period's end date.")
if priced.tariff_kind == "flat_rate":
    c1, c2, c3 = st.columns(3)
    c1.metric("Rate per unit", w.rate(priced.rate_per_unit))
    c2.metric("Fixed charge", w.money(priced.fixed_charge))
    c3.caption("Rule that applied")
    c3.markdown(f"**{RULE_LABELS.get(priced.pricing_rule, priced.pricing_rule)}**")  # a sentence, too long for a metric

if quote.coverage is not None:
    cov = quote.coverage
    st.caption(f"This bill covers {w.plural(len(cov.readings), 'reading')} since the {w.word()}'s last billed one: "
               + ", ".join(f"#{c.reading_id} of {c.reading_date} ({w.qty(c.units, unit)})" for c in cov.readings)
               + (f". Reading #{cov.last.reading_id}'s confirmed units become {w.qty(quote.confirm_units, unit)}."
                  if quote.confirm_units is not None else "."))
if quote.replaces is not None:
    r = quote.replaces
    st.warning(f"Saving re-issues bill #{r.id} ({w.money(r.total_amount)}, {r.status.replace('_', ' ')}): it is kept, "
               f"marked superseded, and this bill replaces it. Its arrears ({w.money(r.previous_outstanding)}) move here"
               + (f"; the {w.money(quote.credit)} paid on it is credited to this bill" if quote.credit else "") + ".",
               icon=":material/call_split:")

st.subheader("Preview")
extra = [(f"Credit from bill #{quote.replaces.id}", -quote.credit), ("Balance due", quote.balance)] if quote.credit else []
w.lines_table(w.line_rows(priced.lines, priced.total_amount, extra))
st.session_state[PREVIEWED] = (rid, priced.total_amount, quote.credit)
if quote.carry_forward_bill_ids:
    st.caption(f"Open bill(s) {', '.join('#' + str(i) for i in quote.carry_forward_bill_ids)} will be carried "
               "forward into this bill.")
elif owed and quote.replaces is None and priced.previous_outstanding != owed:
    st.caption(f"The {w.word()} owes {w.money(owed)} on open bills; they stay open because the previous outstanding "
               "entered is 0.")
st.button("Save bill", type="primary", icon=":material/save:", key="save_bill", on_click=_save, args=(rid,))
if result:
    _show_result(result)  # under the button that was pressed
