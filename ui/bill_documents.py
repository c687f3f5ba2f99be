"""On the bill page: the bill's PDF to download, the form that emails it (to the owner's address
on file or one typed here; once, unless "send again" is ticked), and a receipt PDF per payment.
The PDF is rendered only when the download is pressed (a callable: nothing is built on every
rerun). Sending goes through Services.sender() (services/documents/delivery.py), so every send is
a row in the notifications log."""
from __future__ import annotations

import streamlit as st

from services.accounts.roles import Actor, Permission
from services.documents.delivery import NOT_SENT
from services.documents.service import BillDocuments, bill_filename
from services.errors import MeterlineError
from ui import widgets as w
from ui.common import services, show_error

SENT = "bill_send_result"


def _send(bill_id: int, to: str, resend: bool, actor: Actor) -> None:
    try:
        out = services().sender().send_bill(bill_id, actor=actor, resend=resend, to=to.strip() or None)
    except MeterlineError as exc:
        show_error(exc)
        return
    st.session_state[SENT] = {"bill": bill_id, "status": out.notification.status, "already": out.already_sent,
                              "message": out.message}
    key = f"email_nonce_{bill_id}"
    st.session_state[key] = st.session_state.get(key, 0) + 1  # a fresh form: "Send again" unticked
    st.rerun()


def render(bill, actor: Actor) -> None:
    svc = services()
    st.subheader("Bill document")
    c1, c2 = st.columns([1, 2])
    c1.download_button("Download PDF", data=lambda: BillDocuments(svc.db).bill_pdf(bill.id, actor).data,
                       file_name=bill_filename(bill), mime="application/pdf", icon=":material/picture_as_pdf:",
                       on_click="ignore", key=f"bill_pdf_{bill.id}", width="stretch")
    sender = svc.sender()
    last = sender.last_send(bill.id)
    if last is not None:
        c2.caption(f"Emailed to {w.esc(last.recipient)}"
                   + (f" on {w.date_text(last.sent_at)}" if last.sent_at else " (sending)") + ".")
    done = st.session_state.pop(SENT, None)
    if done and done["bill"] == bill.id:
        shown = st.success if done["status"] == "sent" and not done["already"] else (
            st.info if done["already"] else st.warning)
        shown(w.esc(done["message"]), icon=":material/mail:")
    if bill.status in NOT_SENT or not actor.can(Permission.VIEW_BILLS):
        if bill.status in NOT_SENT:
            st.caption(f"A {bill.status} bill is not emailed.")
        return
    reason = sender.missing()
    if reason:
        from services.integrations.wording import in_words

        st.caption(f"Email: {w.esc(in_words(reason, 'Email'))}")  # the settings to make are on System status
        return
    with st.form(f"email_{bill.id}_{st.session_state.get(f'email_nonce_{bill.id}', 0)}", border=False):
        f1, f2 = st.columns([3, 1], vertical_alignment="bottom")
        to = f1.text_input("Email to", value=bill.contact_email or (last.recipient if last else "") or "", placeholder="name@example.com",
                           help="The owner's address on file; another address sends there instead.")
        again = f1.checkbox("Send again", value=False, help="This bill was emailed already; tick to send it once more.") \
            if last is not None else False
        go = f2.form_submit_button("Email PDF", icon=":material/send:", width="stretch")
    if go:
        _send(bill.id, to, again, actor)


def receipts(bill, payments, actor: Actor) -> None:
    """A receipt PDF for one of the bill's payments (credits from a replaced bill are not receipts)."""
    paid = [p for p in payments if not p.credit_from_bill]
    if not paid:
        return
    db = services().db
    c1, c2 = st.columns([3, 1], vertical_alignment="bottom")
    chosen = c1.selectbox("Receipt for", paid, key=f"receipt_pick_{bill.id}",
                          format_func=lambda p: f"{p.paid_on} · {w.money(p.amount)} · {p.method.replace('_', ' ')}")
    c2.download_button("Receipt PDF", data=lambda: BillDocuments(db).receipt_pdf(bill.id, chosen.id, actor).data,
                       file_name=f"receipt-R-{chosen.id:06d}.pdf", mime="application/pdf",
                       icon=":material/download:", on_click="ignore", key=f"receipt_pdf_{bill.id}", width="stretch")
