"""Arrears and payment arithmetic (pure).

A flat owes the unpaid part of its open bills (pending, partially paid, overdue). When a new
bill carries that amount as previous_outstanding, the open bills it absorbed are marked
`carried_forward` (a payment status change), so the same rupee is never counted twice: the
next bill's default previous_outstanding only sees bills that are still open.
"""
from __future__ import annotations

from decimal import Decimal
from typing import Iterable

from database.schema import OPEN_BILL_STATUSES
from services.errors import ConflictError, ValidationError
from services.money import ZERO, parse_decimal


def outstanding(open_bills: Iterable[tuple[Decimal, Decimal]]) -> Decimal:
    """Sum of (total_amount - amount_paid) over open bills."""
    return sum((total - paid for total, paid in open_bills), ZERO)


def apply_payment(total_amount: Decimal, amount_paid: Decimal, status: str, amount) -> tuple[Decimal, str]:
    """Return (new amount_paid, new status) for a payment, or raise with a clear reason."""
    amt = parse_decimal(amount, "amount")
    if amt <= 0:
        raise ValidationError("amount", "must be more than zero.", "Enter the amount received.")
    if status == "carried_forward":
        raise ConflictError("This bill's balance was carried forward into a later bill; record the payment against that bill.")
    if status == "cancelled":
        raise ConflictError("This bill was cancelled; no payment can be recorded against it.")
    if status == "superseded":
        raise ConflictError("This bill was replaced by a re-issue (superseded); record the payment against the bill "
                            "that replaced it.")
    if status == "paid":
        raise ConflictError("This bill is already paid in full.")
    due = total_amount - amount_paid
    if amt > due:
        raise ValidationError("amount", f"{amt} is more than the {due} still due on this bill.",
                              f"Enter at most {due}; record any extra as a separate credit.")
    new_paid = amount_paid + amt
    if new_paid == total_amount:
        return new_paid, "paid"
    return new_paid, "partially_paid" if status != "overdue" else "overdue"


def is_open(status: str) -> bool:
    return status in OPEN_BILL_STATUSES
