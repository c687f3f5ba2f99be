"""The follow-ups of billing events: payment link, then notifications.

The bill is already stored when an event arrives; nothing here may undo or block that. A
payment-link provider that fails, a channel that is down or even a notification row that
cannot be written ends as a line in the report (and a `failed` row where one can be written),
never as an exception out of the event.
"""
from __future__ import annotations

import logging

from services.integrations.base import EventReport
from services.integrations.messages import bill_values, payment_values
from services.integrations.wording import in_words
from services.integrations.notifications import Notifier
from services.models import Bill, PaymentResult
from services.accounts.roles import SYSTEM, Actor

log = logging.getLogger(__name__)


class NotifyingEvents:
    """The real BillingEvents. Holds the Services so it always uses the payment-link provider
    currently wired (the Stripe wiring may run after this one)."""

    def __init__(self, svc, notifier: Notifier):
        self.svc = svc
        self.notifier = notifier

    @property
    def storage(self):
        return self.svc.db.storage

    # ---- events -------------------------------------------------------------------------------
    def bill_created(self, bill: Bill, actor: Actor) -> EventReport:
        report = EventReport()
        try:
            bill = self._fresh(bill)  # a link made by the caller in the meantime is not made twice
            bill = self._ensure_link(bill, actor, report)
            self._notify("bill_created", bill, bill_values(bill, bill.payment_link_url), report)
        except Exception as exc:
            self._crashed("bill_created", bill, exc, report)
        self._customer_alerts(bill, report)
        return report

    def _customer_alerts(self, bill: Bill, report: EventReport) -> None:
        """The portal's bill-ready alert to the customers of this account who opted in (once per bill)."""
        from services.customers.alerts import CustomerAlerts

        try:
            sent = CustomerAlerts.of(self.svc).bills_ready([self._fresh(bill)])
        except Exception as exc:
            log.exception("customer bill-ready alerts for bill %s failed", getattr(bill, "id", None))
            report.messages.append(f"Customer alerts could not be completed ({exc.__class__.__name__}); the bill is stored.")
            return
        n = sum(v for k, v in sent.items() if k != "already_sent")
        if n:
            report.messages.append(f"Bill-ready alert: {n} portal customer(s) who opted in.")

    def payment_received(self, result: PaymentResult, actor: Actor) -> EventReport:
        report = EventReport(payment_link_url=result.bill.payment_link_url)
        if not result.applied:
            # A replayed payment (same external id) changed nothing, so it gets no second thank-you.
            report.messages.append("This payment was already recorded; no confirmation was sent again.")
            return report
        try:
            self._notify("payment_received", result.bill, payment_values(result), report)
        except Exception as exc:
            self._crashed("payment_received", result.bill, exc, report)
        return report

    def payment_reminder(self, bill: Bill) -> EventReport:
        report = EventReport()
        try:
            bill = self._fresh(bill)
            if bill.balance <= 0 or bill.status not in ("pending", "partially_paid", "overdue"):
                report.messages.append(f"Bill {bill.id} is {bill.status} with nothing to pay: no reminder sent.")
                return report
            bill = self._ensure_link(bill, SYSTEM, report)
            self._notify("reminder", bill, bill_values(bill, bill.payment_link_url), report)
        except Exception as exc:
            self._crashed("reminder", bill, exc, report)
        return report

    def bill_overdue(self, bill: Bill) -> EventReport:
        """Sent once per bill: overdue_notified_at is checked fresh and set after sending."""
        report = EventReport()
        try:
            bill = self._fresh(bill)
            if bill.overdue_notified_at is not None:
                report.messages.append(f"Bill {bill.id}: the overdue notice was already sent.")
                return report
            if bill.balance <= 0:
                report.messages.append(f"Bill {bill.id} has nothing left to pay: no overdue notice.")
                return report
            bill = self._ensure_link(bill, SYSTEM, report)
            self._notify("overdue", bill, bill_values(bill, bill.payment_link_url), report)
            # Marked even when a channel failed: the failed row is resent by an admin, not by the next run.
            self.storage.mark_overdue_notified([bill.id])
        except Exception as exc:
            self._crashed("overdue", bill, exc, report)
        return report

    # ---- helpers ------------------------------------------------------------------------------
    def _fresh(self, bill: Bill) -> Bill:
        return self.storage.get_bill(bill.id) or bill

    def _ensure_link(self, bill: Bill, actor: Actor, report: EventReport) -> Bill:
        """Create and store a payment link for an unpaid bill that has none."""
        if bill.payment_link_url or bill.balance <= 0:
            report.payment_link_url = bill.payment_link_url
            return bill
        provider = self.svc.payment_links
        try:
            link = provider.create_payment_link(bill)
        except Exception as exc:
            log.warning("payment link for bill %s failed: %s", bill.id, exc)
            report.messages.append(f"The payment link could not be created ({exc.__class__.__name__}); "
                                   "the bill is stored and can be paid by hand.")
            return bill
        if link is None:
            report.messages.append("Online payment is not set up: the bill is stored and can be paid by hand.")
            return bill
        self.storage.set_payment_link(bill.id, link.link_id, link.url, actor)
        report.payment_link_url = link.url
        return self.storage.get_bill(bill.id) or bill

    def _notify(self, kind: str, bill: Bill, values: dict[str, str], report: EventReport) -> None:
        links = getattr(self.svc, "bill_links", None)
        if links is not None and kind != "payment_received" and bill is not None and "pay" in values:
            # The channels carry text only: the bill's PDF goes as a signed link (services/documents/links.py).
            values = {**values, "pay": f"{values['pay']} Your bill (PDF): {links.url(bill.id)}"}
        rows, composed = self.notifier.notify(kind, bill, values)
        report.notifications.extend(rows)
        if composed.note:
            report.messages.append(composed.note)
        for row in rows:
            label = self.notifier.channels[row.channel].label
            if row.status == "sent":
                report.messages.append(f"{label}: sent.")
            elif row.status == "skipped":  # the stored row keeps the detail (SMTP_HOST ...) for the admin
                report.messages.append(f"{label}: not sent. {in_words(row.error, label)}")
            else:
                report.messages.append(f"{label}: failed ({row.error}). An admin can resend it from Notifications.")

    def _crashed(self, kind: str, bill: Bill, exc: Exception, report: EventReport) -> None:
        log.exception("%s follow-ups for bill %s failed", kind, getattr(bill, "id", None))
        report.messages.append(f"Notifications could not be completed ({exc.__class__.__name__}); the bill is stored.")
