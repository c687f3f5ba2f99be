"""The alerts customers opted into (customer portal, issue 16): bill ready, due-date reminder,
high usage and possible leak.

Only customers who switched the alert on (customer_preferences) and are linked to the account get it
(storage.customers_opted_in: one query per batch of accounts). Each alert is first claimed in
customer_alerts_sent under the unique (user, kind, ref), ref being "bill:<id>" or "anomaly:<id>";
only the caller whose claim wins sends, so an alert goes out at most once whatever runs it again (a
second month run, the daily job twice, two replicas). Claim-then-send: a crash between the two loses
that one alert rather than doubling it. Sent through services/customers/messenger.py to the
account's e-mail or phone on file, every attempt a row in the notifications log (kind
`customer_alert`).

Where they are sent from:
- bill ready: NotifyingEvents.bill_created (the month run's job, a single bill, the API's ingest) and
  run_bills_ready after a month run from the app, the API or scripts/run_bills.py;
- due-date reminder: the scheduled job `customer_due_reminders` (services/jobs/definitions.py),
  CUSTOMER_REMINDER_DAYS_BEFORE (3) days before the due date, for bills still open;
- high usage / leak: after anomaly detection (the month run's detect_after_run and the daily
  `usage_anomalies` job): high usage for the methods zscore, robust and high_read, leak for
  continuous_flow.
"""
from __future__ import annotations

import logging
from collections import Counter
from typing import Iterable

from services.customers.messenger import CustomerMessenger
from services.integrations.messages import format_money
from services.models import Bill, UsageAnomaly

log = logging.getLogger(__name__)

KIND = "customer_alert"
ANOMALY_ALERTS = {"zscore": "high_usage_alert", "robust": "high_usage_alert", "high_read": "high_usage_alert",
                  "continuous_flow": "leak_alert"}
OPEN_STATUSES = ("pending", "partially_paid", "overdue")
PAGE = 500


class CustomerAlerts:
    def __init__(self, storage, notifier=None, *, utility_name: str = "", messenger: CustomerMessenger | None = None):
        self.storage = storage
        self.utility_name = utility_name or "Your utility"
        self.messenger = messenger or CustomerMessenger(storage, notifier)

    @classmethod
    def of(cls, svc) -> "CustomerAlerts":
        try:
            name = svc.db.utility().name
        except Exception:  # noqa: BLE001 - a missing settings row must not stop an alert
            name = ""
        notifier = getattr(getattr(svc, "events", None), "notifier", None)  # None: the offline placeholder
        return cls(svc.db.storage, notifier, utility_name=name)

    # ---- the three kinds ------------------------------------------------------------------------
    def bills_ready(self, bills: Iterable[Bill]) -> Counter:
        issued = [b for b in bills if b.status not in ("cancelled", "superseded")]
        return self._send_all("bill_ready", [(b.account_id, f"bill:{b.id}", b) for b in issued], self._bill_ready_text)

    def run_bills_ready(self, db, run_id: int | None, actor) -> Counter:
        """Bill-ready alerts for the bills a month run stored, a page at a time (one opt-in query a page).
        Called after a run from the app, the API or scripts/run_bills.py; the job goes through bill_created."""
        from services.models import BillFilter

        out: Counter = Counter()
        if run_id is None:
            return out
        page: list = []
        for bill in db.iter_bills(BillFilter(bill_run_id=run_id), actor=actor, page_size=PAGE):
            page.append(bill)
            if len(page) == PAGE:
                out.update(self.bills_ready(page))
                page = []
        out.update(self.bills_ready(page))
        return out

    def due_reminders(self, bills: Iterable[Bill]) -> Counter:
        open_bills = [b for b in bills if b.status in OPEN_STATUSES and b.balance > 0]
        return self._send_all("due_reminder", [(b.account_id, f"bill:{b.id}", b) for b in open_bills], self._due_text)

    def anomalies(self, found: Iterable[UsageAnomaly]) -> Counter:
        out: Counter = Counter()
        by_kind: dict[str, list] = {}
        for a in found:
            kind = ANOMALY_ALERTS.get(a.method)
            if kind is not None:
                by_kind.setdefault(kind, []).append((a.account_id, f"anomaly:{a.id}", a))
        for kind, items in by_kind.items():
            out.update(self._send_all(kind, items, self._usage_text))
        return out

    # ---- sending --------------------------------------------------------------------------------
    def _send_all(self, kind: str, items: list[tuple[int, str, object]], text_of) -> Counter:
        counts: Counter = Counter()
        if not items:
            return counts
        users_of: dict[int, list[int]] = {}
        for user_id, account_id in self.storage.customers_opted_in(kind, [a for a, _, _ in items]):
            users_of.setdefault(account_id, []).append(user_id)
        accounts: dict[int, object] = {}
        for account_id, ref, thing in items:
            for user_id in users_of.get(account_id, ()):
                if not self.storage.claim_customer_alert(user_id, kind, ref, account_id):
                    counts["already_sent"] += 1
                    continue
                acct = accounts.get(account_id) or self.storage.get_account(account_id=account_id)
                accounts[account_id] = acct
                subject, text = text_of(kind, acct, thing)
                try:
                    row = self.messenger.send(KIND, self._recipient(acct), subject, text,
                                              contact_id=getattr(acct, "contact_id", None))
                    counts[f"{kind}_{row.status}"] += 1
                except Exception:  # noqa: BLE001 - one customer's message must not stop the others
                    log.exception("customer alert %s %s for user %s failed", kind, ref, user_id)
                    counts[f"{kind}_failed"] += 1
        return counts

    def _recipient(self, acct) -> str | None:
        """The account's e-mail or phone on file: the first a provider can reach, else the first on file."""
        options = [v for v in (getattr(acct, "contact_email", None), getattr(acct, "contact_phone", None)) if v]
        for value in options:
            if self.messenger.channel_for(value) != "log":
                return value
        return options[0] if options else None

    # ---- wording --------------------------------------------------------------------------------
    def _bill_ready_text(self, kind, acct, bill: Bill) -> tuple[str, str]:
        return (f"{self.utility_name}: your bill for {acct.code} is ready",
                f"{self.utility_name}: your bill for {acct.code} ({bill.billing_period_start:%B %Y}) is ready: "
                f"{format_money(bill.total_amount)}, due {bill.due_date:%d %b %Y}. See it in the customer portal.")

    def _due_text(self, kind, acct, bill: Bill) -> tuple[str, str]:
        return (f"{self.utility_name}: your bill for {acct.code} is due {bill.due_date:%d %b %Y}",
                f"{self.utility_name}: a reminder that {format_money(bill.balance)} on your bill for {acct.code} "
                f"({bill.billing_period_start:%B %Y}) is due on {bill.due_date:%d %b %Y}.")

    def _usage_text(self, kind, acct, a: UsageAnomaly) -> tuple[str, str]:
        if kind == "leak_alert":
            what = (f"water use at {acct.code} did not drop to zero on {a.usage_date:%d %b %Y}: there may be a "
                    "leak. Please check taps, tanks and pipes.")
            return f"{self.utility_name}: possible leak at {acct.code}", f"{self.utility_name}: {what}"
        what = (f"usage at {acct.code} on {a.usage_date:%d %b %Y} was {a.usage}, well above your usual"
                + (f" (about {a.baseline})." if a.baseline is not None else "."))
        return f"{self.utility_name}: high usage at {acct.code}", f"{self.utility_name}: {what}"
