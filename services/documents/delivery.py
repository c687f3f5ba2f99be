"""Sending a bill: its PDF by email (SMTP, services/integrations/email.py), once.

Every send is a row in the notifications log (kind `bill_document`, channel `email`). The row is
claimed before anything goes out (Storage.claim_notification: a partial unique index), so a
bill goes to the same channel once, however many people or processes press "Email" at the same
moment; a second press finds it taken and says when it went. `resend=True` sends again on
purpose: a new row pointing at the last one (`resend_of`). A send that fails (the SMTP server
down, after bounded retries with backoff) is a `failed` row with the error, and does not block
the next try. Not configured, or no email address on file: a `skipped` row saying what to fix.

Used by the bill page (ui/bill_view.py), POST /api/bills/{id}/send (services/api/routes_bills.py)
and the bills list's bulk action; `Services.bill_sender` holds one (services/container.py).
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Callable

from services.accounts.roles import Actor, Permission, require
from services.clock import utcnow
from services.documents.content import day
from services.documents.service import BillDocuments
from services.errors import ConflictError, NotFoundError, ValidationError
from services.integrations.channels import RetryPolicy
from services.integrations.email import Attachment, SmtpMailer, SmtpSettings, valid_address
from services.models import Bill, Notification

log = logging.getLogger(__name__)

KIND = "bill_document"  # the bill itself: from the bill page, the bills list's bulk action, the API
REMINDER = "reminder"  # the scheduled reminder job's email (the PDF again, worded as a reminder): once per bill too
EMAIL_KINDS = (KIND, REMINDER)
CHANNELS = ("email",)
NOT_SENT = ("cancelled", "superseded")  # a cancelled bill is not owed; a superseded one has a replacement


@dataclass(frozen=True)
class SendOutcome:
    notification: Notification
    already_sent: bool = False  # an earlier send (this row) stands; nothing went out now

    @property
    def message(self) -> str:
        n = self.notification
        if self.already_sent:
            when = f" on {n.sent_at:%d %b %Y %H:%M} UTC" if n.sent_at else " (a send is in progress)"
            return (f"Already emailed to {n.recipient}{when}. Use 'Email again' to send it once more.")
        if n.status == "sent":
            return f"Emailed to {n.recipient} with the PDF attached."
        if n.status == "skipped":
            return f"Not emailed: {n.error}"
        return f"The email to {n.recipient} failed after {n.attempts} attempt(s): {n.error}"


def email_text(bill: Bill, utility, kind: str = KIND) -> tuple[str, str]:
    """(subject, body) of a bill's email: the facts printed on its PDF, nothing else."""
    subject = (f"{utility.name}: bill {bill.number} for {utility.account_label} {bill.account_code}, "
               f"{utility.money(bill.total_amount)} due {day(bill.due_date)}")
    first = (f"Your {utility.service} bill {bill.number} for {utility.account_label} {bill.account_code} "
             f"({day(bill.billing_period_start)} to {day(bill.billing_period_end)}) is attached as a PDF.")
    if kind == REMINDER:
        subject = f"Reminder: {subject}"
        first = (f"A reminder that {utility.money(max(bill.balance, 0))} of your {utility.service} bill "
                 f"{bill.number} is due on {day(bill.due_date)}. The bill is attached as a PDF.")
    body = [f"Dear {bill.contact_name or 'customer'},", "", first, "",
            f"Total: {utility.money(bill.total_amount)}",
            f"Balance due: {utility.money(max(bill.balance, 0))} by {day(bill.due_date)}"]
    if bill.payment_link_url:
        body += ["", f"Pay online: {bill.payment_link_url}"]
    body += ["", utility.name]
    return subject, "\n".join(body)


class BillSender:
    def __init__(self, db, mailer: SmtpMailer | None = None, *, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.db = db
        self.mailer = mailer or SmtpMailer(SmtpSettings())
        self.policy = policy or RetryPolicy()
        self.sleep = sleep

    @property
    def storage(self):
        return self.db.storage

    def missing(self) -> str | None:
        return self.mailer.missing()

    def last_send(self, bill_id: int, kind: str = KIND) -> Notification | None:
        """The newest email of this bill that went out or is going out (None: never)."""
        rows = self.storage.list_notifications(bill_id=bill_id, kind=kind, offset=0, limit=50).items
        return next((n for n in rows if n.channel == "email" and n.status in ("pending", "sent")), None)

    def send_bill(self, bill_id: int, channel: str = "email", *, actor: Actor, resend: bool = False,
                  to: str | None = None, kind: str = KIND, _resend_of: int | None = None) -> SendOutcome:
        """Email bill `bill_id` with its PDF attached to its owner (or `to`), once per bill and kind
        unless `resend`."""
        actor = require(actor, Permission.VIEW_BILLS)
        if kind not in EMAIL_KINDS:
            raise ValueError(f"unknown bill email kind {kind!r}")
        if channel not in CHANNELS:
            raise ValidationError("channel", f"'{channel}' cannot carry a bill's PDF.",
                                  f"Use one of {', '.join(CHANNELS)}; WhatsApp and Discord messages link to the bill.")
        bill = self.db.get_bill(bill_id)
        if bill.status in NOT_SENT:
            where = f" Send bill #{bill.superseded_by}, which replaced it." if bill.superseded_by else ""
            raise ConflictError(f"Bill {bill.number} is {bill.status}; it is not sent.{where}")
        recipient = (to or bill.contact_email or "").strip() or None
        if to is not None and not valid_address(to):
            raise ValidationError("to", f"'{to}' is not an email address.", "Enter an address like name@example.com.")
        u = self.db.utility()
        subject, body = email_text(bill, u, kind)
        base = {"kind": kind, "channel": channel, "message": subject, "bill_id": bill.id,
                "contact_id": bill.contact_id, "recipient": recipient}
        reason = self.mailer.missing()
        if reason is None and not valid_address(recipient):
            reason = (f"{bill.contact_name or 'The owner'} has no email address on file"
                      + (f" ('{recipient}' is not one)" if recipient else "") + "; add one to the owner's record.")
        if reason is not None:
            row = self.storage.insert_notification({**base, "status": "skipped", "error": reason, "attempts": 0})
            return SendOutcome(row)
        previous = self.last_send(bill.id, kind)
        if resend and previous is not None:
            base["resend_of"] = previous.id
        elif _resend_of is not None:  # a failed row resent: goes unless the bill was emailed since
            if previous is not None:
                return SendOutcome(previous, already_sent=True)
            base["resend_of"] = _resend_of
        row = self.storage.claim_notification(base)
        if row is None:  # sent (or being sent) already, and no resend asked for
            return SendOutcome(self.last_send(bill.id, kind) or previous, already_sent=True)
        try:
            pdf = BillDocuments(self.db).bill_pdf(bill.id, actor)
            msg = self.mailer.message(recipient, subject, body, (Attachment(pdf.filename, pdf.data),))
            result = self.mailer.send(msg, self.policy, self.sleep)
        except Exception as exc:  # a bug or an odd answer: the row says so, nothing is left pending
            log.exception("emailing bill %s crashed", bill.id)
            row = self.storage.update_notification(row.id, {"status": "failed", "attempts": 1,
                                                            "error": self.mailer.redact(f"{exc.__class__.__name__}: {exc}")[:500]})
        else:
            if result.ok:
                row = self.storage.update_notification(row.id, {"status": "sent", "attempts": result.attempts,
                                                                "provider_message_id": result.provider_message_id,
                                                                "sent_at": utcnow()})
            else:
                row = self.storage.update_notification(row.id, {"status": "failed", "attempts": result.attempts,
                                                                "error": result.error})
        self.storage.write_audit(actor, "bill.send", "bill", bill.id,
                                 {"channel": channel, "status": row.status, "notification": row.id,
                                  "resend_of": row.resend_of})
        return SendOutcome(row)


    def resend_failed(self, notification_id: int, actor: Actor) -> Notification:
        """The Notifications page's Resend for a failed email of a bill: the bill's PDF again, to the
        same address, as a new row pointing at the failed one. Nothing goes out (and that row is
        returned) when the bill has since been emailed."""
        actor = require(actor, Permission.MANAGE_NOTIFICATIONS)
        original = self.storage.get_notification(notification_id)
        if original is None:
            raise NotFoundError(f"Notification {notification_id} does not exist.")
        if original.channel != "email" or original.kind not in EMAIL_KINDS or not original.bill_id:
            raise ConflictError(f"Notification {notification_id} is not an email of a bill.")
        if original.status != "failed":
            raise ConflictError(f"Notification {notification_id} is {original.status}; only failed ones can be resent.")
        out = self.send_bill(original.bill_id, actor=actor, kind=original.kind, to=original.recipient,
                             _resend_of=original.id)
        return out.notification

    def send_many(self, bills, *, actor: Actor, progress: Callable[[int], None] | None = None) -> dict[str, int]:
        """Email each of `bills` (an iterable, read as it goes) to its owner, once each: counts by outcome
        (sent, failed, skipped, already_sent, not_sent for cancelled or superseded bills)."""
        counts: dict[str, int] = {}
        for i, bill in enumerate(bills, 1):
            if bill.status in NOT_SENT:
                key = "not_sent"
            else:
                out = self.send_bill(bill.id, actor=actor)
                key = "already_sent" if out.already_sent else out.notification.status
            counts[key] = counts.get(key, 0) + 1
            if progress:
                progress(i)
        return counts


def make_sender(db, settings: SmtpSettings | None = None, *, policy: RetryPolicy | None = None,
                sleep: Callable[[float], None] = time.sleep) -> BillSender:
    settings = settings or SmtpSettings.from_env()
    return BillSender(db, SmtpMailer(settings), policy=policy, sleep=sleep)
