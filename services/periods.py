"""Billing periods and period locks (pure).

A lock is a month ("2025-11"). Rule: no bill may be inserted whose billing_period_end falls
in a locked month; a bulk generation whose period touches a locked month is refused whole.
The same rule is enforced by a database trigger (database/triggers.py).
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


def check_bill_not_locked(billing_period_end: dt.date, locked_months: Iterable[str]) -> None:
    """Single bill: refused when its end date falls in a locked month."""
    m = month_key(billing_period_end)
    if m in set(locked_months):
        raise PeriodLockedError(m)


def check_range_not_locked(start: dt.date, end: dt.date, locked_months: Iterable[str]) -> None:
    """Bulk generation: refused whole when any month of the period is locked."""
    locked = set(locked_months)
    touched = [m for m in months_between(start, end) if m in locked]
    if touched:
        raise PeriodLockedError(
            touched[0],
            f"Billing period {start} to {end} touches locked month {', '.join(touched)}: "
            "the whole run was refused and nothing was written. Choose a period outside the locked month.",
        )


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
