"""The bill archive (issue 14, seed 003's plan): which bills leave the live tables, and when.

Live tables grow by a month of bills every month (300,000 at Suthra Punjab). Bills older than
ARCHIVE_AFTER_MONTHS (12, `ARCHIVE_AFTER_MONTHS` in the environment) move to archive tables of the same
shape (database/schema_archive.py), a bill month at a time, with their lines, payments, covered
readings, payment events, notifications and seals. A bill moves only when nothing live still needs it:

- it is settled: paid, carried forward (its balance is on a newer bill), cancelled or superseded. An
  open balance stays live, where payments, reminders and arrears find it;
- its account has a newer standing bill of the same service, not an estimate, inside the kept months.
  That bill is where the next bill starts counting (the last reading or usage day billed), so every
  unit stays billed exactly once; an account's last bill never leaves;
- no ticket names it, and no bill, payment or covered reading that stays live points at it (a
  re-issue and the bill it replaced move together or not at all).

The move is counted before and after (bills, lines, payments and their sums, the other rows) and
rolled back unless the archive holds exactly what left; the month's counts are kept live
(bill_archive_months), as are the per-month, per-area summary rows (bill_month_totals), so the dashboard
and reports still count archived months. Archived bills are found by PSID or account; a month is
restored whole, the same rows with the same ids, and the bill chain verifies across both.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from services.billing.periods import month_key, parse_month
from services.errors import ValidationError

ARCHIVE_AFTER_MONTHS = 12
MIN_ARCHIVE_AFTER_MONTHS = 3  # never the months still being paid, reminded and trued up
SETTLED_STATUSES = ("paid", "carried_forward", "cancelled", "superseded")


def first_kept_month(today: dt.date, after_months: int = ARCHIVE_AFTER_MONTHS) -> dt.date:
    """The first day of the oldest bill month that stays live: bills of earlier months may move."""
    if after_months < MIN_ARCHIVE_AFTER_MONTHS:
        raise ValidationError("months", f"must be at least {MIN_ARCHIVE_AFTER_MONTHS} (got {after_months}).",
                              f"Keep at least {MIN_ARCHIVE_AFTER_MONTHS} months of bills live.")
    index = today.year * 12 + today.month - 1 - after_months
    return dt.date(index // 12, index % 12 + 1, 1)


def archivable_month(month: str | dt.date, today: dt.date, after_months: int = ARCHIVE_AFTER_MONTHS) -> dt.date:
    """The month's first day, when its bills may move (it is older than the kept months)."""
    first, kept = parse_month(month), first_kept_month(today, after_months)
    if first >= kept:
        raise ValidationError("month", f"{month_key(first)} is within the last {after_months} months, which stay live.",
                              f"Choose a month before {month_key(kept)}.")
    return first


@dataclass(frozen=True)
class ArchiveCounts:
    """What a bill month's move carries, counted on one side (live before, archive after)."""
    bills: int = 0
    total_amount: Decimal = Decimal("0.00")
    amount_paid: Decimal = Decimal("0.00")
    lines: int = 0
    line_amount: Decimal = Decimal("0.00")
    payments: int = 0
    payment_amount: Decimal = Decimal("0.00")
    other_rows: int = 0  # covered readings, payment events, notifications, seals


@dataclass(frozen=True)
class ArchiveOutcome:
    month: str  # YYYY-MM
    moved: ArchiveCounts
    kept_live: int  # the month's bills that stay live (open, an account's latest, named by a ticket or a live row)
    dry_run: bool
    restored: bool = False


@dataclass(frozen=True)
class ArchivedMonth:
    """A bill_archive_months row: what an archived month holds."""
    month: str
    counts: ArchiveCounts
    kept_live: int
    archived_at: dt.datetime
    archived_by: str


@dataclass(frozen=True)
class ArchivedBill:
    id: int
    bill_number: str | None
    psid: str | None
    account_id: int
    account_code: str | None
    service: str
    billing_period_start: dt.date
    billing_period_end: dt.date
    due_date: dt.date
    total_amount: Decimal
    amount_paid: Decimal
    status: str


def after_months_from_env(environ) -> int:
    """ARCHIVE_AFTER_MONTHS from the environment (default 12), checked."""
    raw = (environ.get("ARCHIVE_AFTER_MONTHS") or str(ARCHIVE_AFTER_MONTHS)).strip()
    try:
        months = int(raw)
    except ValueError:
        raise ValidationError("ARCHIVE_AFTER_MONTHS", f"{raw!r} is not a whole number of months.",
                              f"Set it to {ARCHIVE_AFTER_MONTHS}, or another number of months to keep live.") from None
    first_kept_month(dt.date(2000, 1, 1), months)  # at least the minimum
    return months
