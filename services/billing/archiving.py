"""Archiving bills (issue 14): the application steps over the storage contract's month moves, with
permissions, progress and the months to visit. The rules are in services/billing/archive.py."""
from __future__ import annotations

import datetime as dt
from typing import Callable

from services.accounts.roles import Actor, Permission, require
from services.billing.archive import ArchiveOutcome, first_kept_month


def archive_old_months(storage, today: dt.date, actor: Actor, *, after_months: int, dry_run: bool = False,
                       progress: Callable[[int, int, ArchiveOutcome], None] | None = None) -> list[ArchiveOutcome]:
    """Move every month before the kept ones, oldest first, one transaction per month (a month that
    fails leaves the ones before it moved and itself untouched)."""
    actor = require(actor, Permission.MANAGE_ARCHIVE)
    kept = first_kept_month(today, after_months)
    months = storage.bill_months_before(kept)
    out = []
    for i, month in enumerate(months, 1):
        outcome = storage.archive_bill_month(month, today, actor, after_months=after_months, dry_run=dry_run)
        out.append(outcome)
        if progress:
            progress(i, len(months), outcome)
    return out


def archive_month(storage, month: str, today: dt.date, actor: Actor, *, after_months: int,
                  dry_run: bool = False) -> ArchiveOutcome:
    actor = require(actor, Permission.MANAGE_ARCHIVE)
    return storage.archive_bill_month(month, today, actor, after_months=after_months, dry_run=dry_run)


def restore_month(storage, month: str, actor: Actor) -> ArchiveOutcome:
    actor = require(actor, Permission.MANAGE_ARCHIVE)
    return storage.restore_bill_month(month, actor)


def describe(o: ArchiveOutcome) -> str:
    c = o.moved
    verb = "restored" if o.restored else ("would move" if o.dry_run else "moved")
    return (f"{o.month}: {verb} {c.bills} bills (total {c.total_amount}, paid {c.amount_paid}), {c.lines} lines, "
            f"{c.payments} payments ({c.payment_amount}), {c.other_rows} other rows; {o.kept_live} bills of the month "
            "stay live")
