"""Billing periods and period locks (pure).

A lock is a month ("2025-11"). Rule: no bill may be inserted whose period touches a locked
month (any day from billing_period_start to billing_period_end in it; seed 002's rule, "no bill
ends in a locked month", is the special case of the last day), and a bulk generation whose
period touches a locked month is refused whole. "Touches" rather than "contains the whole
month": a bill from 2025-11-20 to 2025-12-19 would charge consumption of a closed month just as
surely as one that spans it, and it is the rule the month run already had. The same rule is
enforced by a database trigger (database/triggers.py, database/supabase/*.sql).
"""
from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from typing import Iterable

from services.errors import PeriodLockedError, ValidationError


@dataclass(frozen=True)
class BillingPeriod:
    start: dt.date
    end: dt.date

    def __post_init__(self):
        if self.end < self.start:
            raise ValidationError("billing_period_end", f"{self.end} is before the period start {self.start}.",
                                  "Pick an end date on or after the start date.")

    @classmethod
    def for_month(cls, month: str | dt.date) -> "BillingPeriod":
        first, last = month_bounds(month)
        return cls(first, last)

    def months(self) -> list[str]:
        return months_between(self.start, self.end)


def month_key(d: dt.date) -> str:
    return f"{d.year:04d}-{d.month:02d}"


def parse_month(month: str | dt.date) -> dt.date:
    if isinstance(month, dt.date):
        return month.replace(day=1)
    try:
        return dt.datetime.strptime(month.strip(), "%Y-%m").date()
    except (ValueError, AttributeError):
        raise ValidationError("month", f"'{month}' is not a month.", "Use the form YYYY-MM, e.g. 2025-11.") from None


def month_bounds(month: str | dt.date) -> tuple[dt.date, dt.date]:
    first = parse_month(month)
    last = first.replace(day=calendar.monthrange(first.year, first.month)[1])
    return first, last


def previous_month(d: dt.date) -> str:
    first = d.replace(day=1)
    return month_key(first - dt.timedelta(days=1))


def months_between(start: dt.date, end: dt.date) -> list[str]:
    out, cur = [], start.replace(day=1)
    while cur <= end:
        out.append(month_key(cur))
        cur = (cur.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


def locked_months_touched(start: dt.date, end: dt.date, locked_months: Iterable[str]) -> list[str]:
    """The locked months that share at least one day with the period start..end."""
    locked = set(locked_months)
    return [m for m in months_between(start, end) if m in locked]


def check_bill_not_locked(billing_period_start: dt.date, billing_period_end: dt.date,
                          locked_months: Iterable[str]) -> None:
    """Single bill: refused when any day of its period falls in a locked month."""
    touched = locked_months_touched(billing_period_start, billing_period_end, locked_months)
    if touched:
        m = touched[0]
        raise PeriodLockedError(m, (
            f"Billing period {m} is locked: no bill may end in {m} or cover any day of it (this one runs "
            f"{billing_period_start} to {billing_period_end}). Choose a period outside the locked month."))


def check_range_not_locked(start: dt.date, end: dt.date, locked_months: Iterable[str]) -> None:
    """Bulk generation: refused whole when any month of the period is locked."""
    touched = locked_months_touched(start, end, locked_months)
    if touched:
        raise PeriodLockedError(
            touched[0],
            f"Billing period {start} to {end} touches locked month {', '.join(touched)}: "
            "the whole run was refused and nothing was written. Choose a period outside the locked month.",
        )


LOCK_REASON_MIN, LOCK_REASON_MAX = 5, 500


def validate_new_lock(month: str | dt.date, reason: str | None, today: dt.date) -> tuple[str, str]:
    """A new lock: (month key, reason). The month must have begun (a lock is never removed, so a
    mistyped future month would close it for good); the reason says why, for the audit log."""
    first = parse_month(month)
    if first > today.replace(day=1):
        raise ValidationError("month", f"{month_key(first)} has not begun yet.",
                              "Lock a month once it has begun (usually after its bills are issued); a lock "
                              "cannot be removed.")
    text = " ".join((reason or "").split())
    if len(text) < LOCK_REASON_MIN:
        raise ValidationError("reason", f"is required (at least {LOCK_REASON_MIN} characters).",
                              "Say why the month is closed, e.g. 'books audited by the committee'.")
    if len(text) > LOCK_REASON_MAX:
        raise ValidationError("reason", f"is longer than {LOCK_REASON_MAX} characters.", "Shorten it.")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise ValidationError("reason", "contains control characters.", "Type the reason as plain text.")
    return month_key(first), text


def next_free_period_start(start: dt.date, end: dt.date, taken: Iterable[dt.date]) -> dt.date | None:
    """No-overwrite rule: the first billing_period_start >= start, <= end, not already taken.

    Returns None when every day up to the period end is taken.
    """
    taken_set = set(taken)
    d = start
    while d <= end:
        if d not in taken_set:
            return d
        d += dt.timedelta(days=1)
    return None
