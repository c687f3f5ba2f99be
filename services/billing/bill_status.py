"""Manual bill status changes (pure): which changes an admin may make, and what is stored.

A bill's status normally follows from its payments (pending -> partially_paid -> paid), the
overdue job and the next bill (carried_forward). A manual change is for what those cannot
see, and it never edits an amount:

| from \\ to          | pending                 | overdue          | cancelled        | paid              |
| ------------------ | ----------------------- | ---------------- | ---------------- | ----------------- |
| pending            | (no change)             | yes, once due    | yes, if unpaid   | records a payment |
| partially_paid     | (no change)             | yes, once due    | no: has payments | records a payment |
| overdue            | yes (part paid stays    | (no change)      | yes, if unpaid   | records a payment |
|                    | partially_paid)         |                  |                  |                   |
| paid               | yes: reopen, with an    | no               | no               | (no change)       |
|                    | admin's reason          |                  |                  |                   |
| carried_forward    | no: its balance lives in the later bill                                  |
| cancelled          | no: cancelled is final; issue a new bill                                 |
| superseded         | no: a re-issue replaced it; change the bill that replaced it             |

A bill that carries arrears (previous_outstanding > 0) is not cancelled by hand: the bills it
absorbed are carried forward into it, so cancelling it would drop their money. Re-issue it instead.

`paid` is not a label: it records a payment of the remaining balance (so amount_paid always
matches the status). `partially_paid`, `carried_forward` and `superseded` cannot be set by hand:
they follow from payments, from the next bill and from a re-issue.

Locked months stay locked: a bill whose billing period ends in a locked month keeps its
status (no reopen, cancel or overdue by hand). Money that arrives for it is still recorded
(`paid`, a Stripe payment): a payment is a new fact, not an edit of the closed month.

Every manual change needs a reason (stored in audit_log with who and when); the permission is
checked by DatabaseService.change_bill_status.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from database.schema import BILL_STATUSES
from services.errors import ConflictError, PeriodLockedError, ValidationError
from services.models import Bill
from services.billing.periods import month_key

MANUAL_STATUSES = ("pending", "overdue", "cancelled", "paid")
MIN_REASON_LENGTH = 5


@dataclass(frozen=True)
class StatusChange:
    action: str  # "none" (already so), "set" (store `status`), "pay" (record a payment of the balance)
    status: str
    reason: str | None = None


def decide_status_change(bill: Bill, target: str, reason: str | None, *, locked_months: Iterable[str],
                         today: dt.date) -> StatusChange:
    """What a manual change of `bill` to `target` does, or the error saying why it may not."""
    target = (target or "").strip()
    if target not in BILL_STATUSES:
        raise ValidationError("status", f"'{target}' is not a bill status.", f"Use one of {', '.join(MANUAL_STATUSES)}.")
    if target == "partially_paid":
        raise ValidationError("status", "partially_paid follows from the payments recorded and cannot be set by hand.",
                              "Record the payment instead; status paid records the whole remaining balance.")
    if target == "carried_forward":
        raise ValidationError("status", "a bill is carried forward only when the flat's next bill absorbs its balance.",
                              "Create the flat's next bill; its previous outstanding takes this balance.")
    if target == "superseded":
        raise ValidationError("status", "a bill is superseded only when a re-issue replaces it.",
                              "Re-issue the bill (Bill a reading, tick Re-issue); the replacement supersedes it.")
    reason = (reason or "").strip() or None
    if target == bill.status or (target == "pending" and bill.status == "partially_paid"):
        return StatusChange("none", bill.status, reason)
    if bill.status == "carried_forward":
        raise ConflictError(f"Bill {bill.id}'s balance was carried forward into bill {bill.carried_forward_to}; "
                            "its status stays carried_forward. Change or pay that bill instead.")
    if bill.status == "cancelled":
        raise ConflictError(f"Bill {bill.id} is cancelled, and a cancelled bill stays cancelled. Issue a new bill instead.")
    if bill.status == "superseded":
        raise ConflictError(f"Bill {bill.id} was replaced by bill {bill.superseded_by} (a re-issue) and stays as it was. "
                            "Change or pay that bill instead.")
    if target == "paid":
        return StatusChange("pay", "paid", reason)
    month = month_key(bill.billing_period_end)
    if month in set(locked_months):
        raise PeriodLockedError(month, f"Billing period {month} is locked: bill {bill.id} keeps its status "
                                       f"({bill.status}). Payments for it can still be recorded.")
    if reason is None or len(reason) < MIN_REASON_LENGTH:
        raise ValidationError("reason", "is required for a manual status change (at least "
                                        f"{MIN_REASON_LENGTH} characters).",
                              "Say why, e.g. 'cheque 104233 bounced' or 'flat vacant, bill raised in error'.")
    if bill.status == "paid":
        if target == "pending":
            return StatusChange("set", "pending", reason)  # reopen; amount_paid is kept as recorded
        raise ConflictError(f"Bill {bill.id} is paid; a paid bill can only be reopened (status pending, with a reason).")
    # bill.status is open: pending, partially_paid or overdue.
    if target == "pending":
        return StatusChange("set", "partially_paid" if bill.amount_paid > 0 else "pending", reason)
    if target == "overdue":
        if bill.due_date >= today:
            raise ConflictError(f"Bill {bill.id} is due on {bill.due_date}; it can be marked overdue from the day after.")
        return StatusChange("set", "overdue", reason)
    # target == "cancelled"
    if bill.amount_paid > 0:
        raise ConflictError(f"Bill {bill.id} has {bill.amount_paid} paid against it; a bill with payments cannot be "
                            "cancelled. Record the rest of the payment, or ask the flat owner about a credit.")
    if bill.previous_outstanding > 0:
        raise ConflictError(f"Bill {bill.id} carries {bill.previous_outstanding} of arrears from earlier bills; "
                            "cancelling it would drop that money. Re-issue it with the right units instead.")
    return StatusChange("set", "cancelled", reason)
