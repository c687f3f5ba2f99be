"""My bills (customer portal, issue 16): the anticipated next bill, the bill history (status, amount,
due date), and one bill (?bill=<id>): its lines, the PDF, how to pay, and "Why is my bill different?"
with the readings it was based on. Every read is the customer's own (CustomerPortal.view): another
account's bill id in the URL answers "not found", as for a bill that does not exist."""
from __future__ import annotations

import streamlit as st

from services.customers import insights
from services.errors import MeterlineError, NotFoundError
from services.field.models import CUSTOMER_TICKET_KINDS, TICKET_KINDS
from ui import widgets as w
from ui.common import services, show_error
from ui.portal_common import guard, pick_account, portal

actor = guard()
p = portal()
db = p.view(actor)


def _status(status: str) -> str:
    return f":{w.STATUS_COLOURS.get(status, 'gray')}-badge[{status.replace('_', ' ')}]"


def _anticipated(acct) -> None:
    try:
        a = insights.anticipate(db, acct, actor)
    except MeterlineError:
        a = None
    with st.container(border=True):
        st.markdown("**Your next bill (anticipated)**")
        if a is None:
            st.caption("Not enough history yet to anticipate your next bill.")
            return
        st.markdown(f"### {w.money(a.amount)}")
        if a.low != a.high:
            st.caption(f"Likely between {w.money(a.low)} and {w.money(a.high)} for {a.period_start:%B %Y}"
                       + (f" ({w.qty(a.quantity)} expected)" if a.quantity is not None else "") + ".")
        st.caption(w.esc(a.how))


def _readings(explanation) -> None:
    if not explanation.readings:
        return
    st.markdown("**The readings this bill was based on**")
    svc = services()
    for covered, rd in explanation.readings:
        st.caption(f"Meter read {w.qty(rd.reading_value, rd.unit)} on {rd.reading_date} · billed "
                   f"{w.qty(covered.units, rd.unit)}")
        local = svc.photos.path_for(rd.photo_ref)
        if local or rd.photo_url:
            st.image(str(local) if local else rd.photo_url, caption="Meter photo", width=280)


def _why(bill_id: int) -> None:
    x = insights.explain(db, bill_id, actor)
    st.subheader("Why is my bill different?")
    st.markdown(w.esc(x.summary))
    for c in x.comparisons:
        with st.container(border=True):
            st.markdown(f"**Compared with: {w.esc(c.label)}**")
            for point in c.points:
                st.markdown(f"- {w.esc(point)}")
    if x.this_bill:
        st.markdown("**On this bill**")
        for point in x.this_bill:
            st.markdown(f"- {w.esc(point)}")
    _readings(x)


def _pay(bill_id: int) -> None:
    info = p.payment(actor, bill_id)
    bill = info["bill"]
    if info["open"] <= 0 or bill.status in ("paid", "cancelled", "superseded", "carried_forward"):
        st.success("Nothing to pay on this bill.", icon=":material/check_circle:")
        return
    st.markdown(f"**To pay: {w.money(info['open'])}** by {w.date_text(bill.due_date)}")
    if info["url"]:
        st.link_button("Pay online", info["url"], icon=":material/credit_card:", type="primary", width="stretch")
    else:
        ref = f"PSID **{w.esc(bill.psid)}**" if bill.psid else f"bill number **{w.esc(bill.number)}**"
        st.info(f"Online payment is not set up. Pay at the office or your bank quoting your {ref} and your "
                f"{w.word()} **{w.esc(bill.account_code)}**.", icon=":material/account_balance:")


def _one_bill(bill_id: int) -> None:
    try:
        detail = p.bill(actor, bill_id)
    except NotFoundError:
        st.error("Bill not found. It may not be one of your bills.", icon=":material/search_off:")
        if st.button("Back to my bills", width="stretch"):
            st.query_params.clear()
            st.rerun()
        return
    bill = detail.bill
    if st.button("← All my bills", key="back", width="stretch"):
        st.query_params.clear()
        st.rerun()
    st.subheader(f"Bill {w.esc(bill.number)} · {bill.billing_period_start:%B %Y}")
    st.markdown(f"{_status(bill.status)} · due {w.date_text(bill.due_date)} · **{w.money(bill.total_amount)}**")
    w.lines_table(w.line_rows(detail.lines, bill.total_amount))
    try:
        pdf = p.bill_pdf(actor, bill.id)
        st.download_button("Download PDF", pdf.data, file_name=pdf.filename, mime=pdf.mime,
                           icon=":material/download:", width="stretch")
    except MeterlineError as exc:
        show_error(exc)
    _pay(bill.id)
    _why(bill.id)
    _report(bill)


def _report(bill) -> None:
    """A problem with this bill goes to the office as a ticket (issue 15); its answer shows on My bills."""
    with st.expander("Report a problem with this bill", icon=":material/report:"):
        with st.form("report", clear_on_submit=True, border=False):
            kind = st.selectbox("What is wrong?", CUSTOMER_TICKET_KINDS, format_func=TICKET_KINDS.get)
            text = st.text_area("Tell us what you see", max_chars=2000,
                                placeholder="For example: my meter showed 1520 on the 20th, the bill says 1580.")
            if st.form_submit_button("Send to the office", width="stretch"):
                try:
                    t = p.report_problem(actor, bill.id, kind, text)
                    st.success(f"Sent. Your problem is number {t.id}; the office will look at it and you will see "
                               "its answer on My bills.")
                except MeterlineError as exc:
                    show_error(exc)


def _tickets(acct) -> None:
    tickets = p.my_tickets(actor, acct.id, 5)
    if not tickets:
        return
    with st.expander(f"Problems you reported ({len(tickets)})", icon=":material/report:"):
        for t in tickets:
            answer = {"pending": "being looked at", "approved": "accepted", "rejected": "not accepted"}[t.status]
            st.markdown(f"**{w.esc(TICKET_KINDS.get(t.kind, t.kind))}** · {answer}"
                        + (f": {w.esc(t.review_reason)}" if t.review_reason else ""))


wanted = st.query_params.get("bill")
st.title("My bills")
if wanted:
    try:
        _one_bill(int(wanted))
    except ValueError:
        st.error("That is not a bill number.")
    st.stop()
acct = pick_account(actor)
if acct is None:
    st.stop()
st.caption(f"{w.word(capital=True)} **{w.esc(acct.code)}** · {w.esc(acct.name)}")
_anticipated(acct)
_tickets(acct)
page = p.bills(actor, acct.id, 0, 24)
if not page.items:
    st.info("No bills yet.")
for bill in page.items:
    with st.container(border=True):
        st.markdown(f"**{bill.billing_period_start:%B %Y}** · {_status(bill.status)}")
        st.markdown(f"{w.money(bill.total_amount)} · due {w.date_text(bill.due_date)}")
        if st.button("Open", key=f"open_{bill.id}", icon=":material/open_in_new:", width="stretch"):
            st.query_params["bill"] = str(bill.id)
            st.rerun()
