"""One bill: its lines (label, quantity, rate, amount) and total, the recomputation check, the
plan and version that priced it, what it covers (readings, daily usage, or a fixed fee), its
payments, and the payment form (full or partial); its PDF to download or email, and a receipt
per payment (ui/bill_documents.py). Drawn by ui/bills.py when the URL carries ?bill=<id>."""
from __future__ import annotations

from decimal import Decimal

import streamlit as st

from database.schema import OPEN_BILL_STATUSES
from services.database_service import PAYMENT_METHODS
from services.errors import MeterlineError
from services.billing.estimates import is_estimated
from services.models import BillLine
from services.money import round_money
from services.pricing_service import RULE_LABELS
from services.accounts.roles import Actor, Permission
from ui import bill_documents, widgets as w
from ui.common import services, show_error

PAID = "bill_payment_result"


def _estimate_note(bill) -> None:
    """An estimated bill, or the bill that trued estimates up (services/billing/estimates.py)."""
    est = (bill.tariff_details or {}).get("estimate")
    if not est:
        return
    unit = w.utility().quantity_unit or ""
    if est.get("estimated") and "season_factor" in est:  # daily usage (water)
        st.warning(f"**Estimated bill**: no usage this month. {est['daily']} {unit} a day: the average of "
                   f"{est['basis_days']} days of usage from {est['basis_from']} to {est['basis_to']} "
                   f"({est['basis_units']} {unit}), times {est['season_factor']} for the season (last year's step into "
                   f"this month), times {est['days']} days. The month's usage is still taken when it comes, and the "
                   "next bill trues it up.", icon=":material/query_stats:")
    elif est.get("estimated"):
        st.warning(f"**Estimated bill**: no reading this month. {est['daily']} {unit} a day, the average of the "
                   f"readings from {est['basis_from']} to {est['basis_to']} ({est['basis_units']} {unit} in "
                   f"{est['basis_days']} days), times {est['days']} days. The next actual reading trues it up.",
                   icon=":material/query_stats:")
    else:
        what = (f"the daily usage this bill covers ({bill.usage_from} to {bill.usage_to})" if bill.usage_from
                else "the readings this bill covers")
        st.info(f"**True-up of estimated bills**: {what} measured {est['actual_units']} {unit}; "
                f"{est['deducted_units']} {unit} of them were already billed on estimates, so it charges "
                f"{Decimal(est['actual_units']) - Decimal(est['deducted_units'])} {unit}.",
                icon=":material/rule:")


def _reading_block(col, title: str, rd) -> None:
    svc = services()
    col.markdown(f"**{title}** · reading #{rd.id}")
    col.caption(f"{w.qty(rd.reading_value, rd.unit)} on {rd.reading_date} · consumption {w.qty(rd.consumption, rd.unit)}"
                + (f" · units confirmed {w.qty(rd.approved_units, rd.unit)}" if rd.approved_units is not None else "")
                + f" · meter {w.esc(rd.meter_number)} · {rd.status}")
    local = svc.photos.path_for(rd.photo_ref)
    if local or rd.photo_url:
        col.image(str(local) if local else rd.photo_url, caption="Meter photo", width=220)


def _plan_text(bill) -> str:
    """The plan and version that priced the bill, with the date that version took effect."""
    if not bill.plan_code:
        return f"tariff: {w.plan_kind(bill.tariff_kind)}"
    stored = next((sp for sp in services().db.tariff_plans() if sp.plan.code == bill.plan_code), None)
    if stored is None or bill.plan_version is None:
        return f"tariff plan {w.esc(bill.plan_code)} version {bill.plan_version}"
    version = stored.plan.version(bill.plan_version)
    return (f"priced by {w.esc(stored.plan.name)} ({w.esc(bill.plan_code)}), version {version.version} in effect "
            f"from {version.effective_from}")


def _pay(bill_id: int, amount, paid_on, method: str, reference: str, full: bool, actor: Actor, nonce_key: str) -> None:
    db, events = services().db, services().events
    try:
        if full:
            result = db.mark_bill_paid(bill_id, paid_on=paid_on, method=method, reference=reference, actor=actor)
        else:
            result = db.record_payment(bill_id, amount, paid_on=paid_on, method=method, reference=reference,
                                       actor=actor)
    except MeterlineError as exc:
        show_error(exc)
        return
    report = events.payment_received(result, actor)
    st.session_state[PAID] = {"bill": bill_id, "payment": result.payment, "status": result.bill.status,
                              "messages": list(report.messages)}
    st.session_state[nonce_key] = st.session_state.get(nonce_key, 0) + 1  # fresh form: a double tap pays once
    st.rerun()


def render(bill_id: int, actor: Actor) -> None:
    db = services().db
    if st.button("All bills", icon=":material/arrow_back:", key="back_to_bills"):
        del st.query_params["bill"]  # only the bill: the list's filters, sort and page stay in the URL
        st.rerun()
    try:
        detail = db.bill_detail(bill_id, actor=actor)
    except MeterlineError as exc:
        show_error(exc)
        return
    bill = detail.bill
    st.title(f":material/receipt: Bill {bill.number}")  # letters, digits and dashes: nothing to escape
    st.markdown(f"Bill #{bill.id} · **{w.esc(bill.account_code)}** · {w.esc(bill.contact_name or 'no contact')} · "
                f"{w.esc(bill.area_path or '')} · {bill.billing_period_start} to {bill.billing_period_end} · due "
                f"{bill.due_date} {w.badge(bill.status)}")

    c = st.columns(2) + st.columns(2)  # two to a row: a whole amount is never cut short
    c[0].metric("Total", w.money(bill.total_amount))
    c[1].metric("Paid", w.money(bill.amount_paid))
    # A superseded bill owes nothing itself: its replacement carries the charge (and its payments as a credit).
    c[2].metric("Balance", w.money(bill.balance) if bill.status != "superseded" else f"see #{bill.superseded_by}")
    c[3].metric("Due", bill.due_date.isoformat())
    if bill.psid:  # the payment id a bank collects the bill by (services/billing/psid.py)
        from services.billing.psid import pretty

        expired = bill.status == "superseded" or bill.carried_forward_to
        st.markdown(f"**PSID** `{pretty(bill.psid)}`" + (
            " · expired: pay the bill that replaced this one" if expired else " · pay at any bank or 1Link channel"))

    _estimate_note(bill)
    bill_documents.render(bill, actor)

    st.subheader("Bill lines")
    if detail.lines:
        w.lines_table(w.line_rows(detail.lines, bill.total_amount))
    else:  # a bill stored before bills had lines: its columns are its lines
        unit = w.utility().quantity_unit
        w.lines_table(w.line_rows([
            BillLine(1, "energy", "Usage", round_money(bill.energy_charge), bill.total_units, unit, bill.rate_per_unit),
            BillLine(2, "fixed", "Fixed charge", bill.fixed_charge),
            BillLine(3, "arrears", "Previous outstanding", bill.previous_outstanding)], bill.total_amount))
    if detail.arithmetic_ok:
        st.success(f"Recomputed from the stored inputs and plan version: {w.money(detail.recomputed_total)}, the same "
                   "as the stored total, line by line.", icon=":material/verified:")
    elif detail.recomputed_total == bill.total_amount:
        st.error(f"Recomputed from the stored inputs: the total {w.money(detail.recomputed_total)} agrees, but the "
                 "stored lines differ from the lines those inputs give. Do not send this bill; report it.",
                 icon=":material/error:")
    else:
        st.error(f"Recomputed from the stored inputs: {w.money(detail.recomputed_total)}, but the stored total is "
                 f"{w.money(bill.total_amount)}. Do not send this bill; report it.", icon=":material/error:")
    facts = [_plan_text(bill)]
    if bill.tariff_kind == "flat_rate":
        facts.append(f"pricing: {RULE_LABELS.get(bill.pricing_rule, bill.pricing_rule)}")
    if bill.category:
        facts.append(f"category: {w.esc(bill.category)}")
    facts.append(f"created by {w.esc(bill.created_by_name)} on {w.date_text(bill.created_at)}")
    if bill.reissue_of:
        facts.append(f"re-issue replacing bill #{bill.reissue_of}")
    if bill.superseded_by:
        facts.append(f"replaced by bill #{bill.superseded_by} (a re-issue): its amounts stand as issued, but it no "
                     "longer counts")
    if bill.carried_forward_to:
        facts.append(f"balance carried forward to bill #{bill.carried_forward_to}")
    if bill.bill_run_id:
        facts.append(f"bill run #{bill.bill_run_id}")
    st.caption(" · ".join(facts))
    if bill.payment_link_url:
        st.caption(f"Payment link: {bill.payment_link_url}")

    if detail.covered or detail.last_reading or detail.motor_reading:
        st.subheader("Readings")
        if detail.covered:
            st.caption(f"This bill covers {w.plural(len(detail.covered), 'reading')}: every approved reading since the "
                       f"{w.word()}'s previous bill, up to the one billed.")
            st.dataframe([{"reading": f"#{c.reading_id}", "date": rd.reading_date.isoformat(),
                           "units": w.qty(c.units, rd.unit), "shared meter": w.qty(c.motor_units, rd.unit),
                           "status": rd.status} for c, rd in detail.covered], hide_index=True, width="stretch")
        cols = st.columns(2)
        if detail.last_reading:
            _reading_block(cols[0], f"{w.word(capital=True)} reading", detail.last_reading)
        if detail.motor_reading:
            _reading_block(cols[1], "Shared meter reading", detail.motor_reading)
    elif bill.usage_from:
        st.subheader("Usage")
        st.caption(f"Daily usage from {bill.usage_from} to {bill.usage_to}: {w.qty(bill.units)}.")
    elif w.utility().quantity_unit is None:
        st.caption(f"A fixed fee: nothing is metered for a {w.word()}.")
    elif is_estimated(bill.tariff_details):
        st.caption("Estimated: this bill covers no reading (see above).")
    else:
        st.caption("This bill was entered without a stored reading.")

    st.subheader("Payments")
    if detail.payments:
        st.dataframe([{"paid on": p.paid_on.isoformat(), "amount": w.money(p.amount),
                       "method": p.method if not p.credit_from_bill else f"credit from bill #{p.credit_from_bill}",
                       "reference": p.reference or "", "recorded by": p.recorded_by_name}
                      for p in detail.payments], hide_index=True, width="stretch")
        bill_documents.receipts(bill, detail.payments, actor)
    else:
        st.caption("No payments yet.")
    done = st.session_state.pop(PAID, None)
    if done and done["bill"] == bill.id:  # next to the payments and the form that was just used
        pmt = done["payment"]
        st.success(f"Recorded {w.money(pmt.amount)} by {pmt.method.replace('_', ' ')} on {pmt.paid_on}: the bill is "
                   f"now {done['status'].replace('_', ' ')}.", icon=":material/payments:")
        for m in done["messages"]:
            st.caption(w.esc(m))

    if bill.status not in OPEN_BILL_STATUSES or not actor.can(Permission.RECORD_PAYMENT):
        if bill.status == "carried_forward":
            st.info(f"Record payments against bill #{bill.carried_forward_to}, which carries this balance.")
        elif bill.status == "superseded":
            st.info(f"Bill #{bill.superseded_by} replaced this bill: record payments against it (what was paid here "
                    "was credited to it).")
        return
    nonce_key = f"pay_nonce_{bill.id}"
    nonce = st.session_state.get(nonce_key, 0)
    today = db.today()
    with st.form(f"pay_{bill.id}_{nonce}"):
        st.markdown(f"**Record a payment** (balance {w.money(bill.balance)}; a smaller amount is a part payment)")
        c1, c2 = st.columns(2)
        amount = c1.text_input(f"Amount ({w.currency_symbol()})", value=str(bill.balance))
        paid_on = c2.date_input("Paid on", value=today, max_value=today, format="YYYY-MM-DD")
        methods = [m for m in PAYMENT_METHODS if m != "stripe"]  # Stripe payments arrive by webhook
        method = c1.selectbox("Method", methods, format_func=lambda m: m.replace("_", " "))
        reference = c2.text_input("Reference", placeholder="Receipt, cheque or transfer reference")
        b1, b2 = st.columns(2)
        part = b1.form_submit_button("Record payment", icon=":material/payments:", width="stretch")
        full = b2.form_submit_button(f"Mark paid in full ({w.money(bill.balance)})", type="primary",
                                     icon=":material/done_all:", width="stretch")
    if part or full:
        _pay(bill.id, amount, paid_on, method, reference, full, actor, nonce_key)
