"""Bulk operations over a filtered selection (issue 14): mark open bills paid, and activate or
deactivate consumer units. Each shows a preview of exactly what changes, needs a reason, changes
everything in one set-based statement per chunk, and writes an audit entry with who, the count, the
filter and the reason. Selections are read through the actor's scope (a manager changes only their
areas) and capped at MAX_SELECTION (narrow the filter for more)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from services.accounts.roles import Permission, require
from services.errors import ValidationError
from services.models import AccountFilter, BillFilter

MAX_SELECTION = 5000
OPEN = ("pending", "partially_paid", "overdue")


@dataclass(frozen=True)
class Preview:
    ids: tuple[int, ...]
    sample: list          # the first rows, to show
    count: int
    amount: Decimal = Decimal("0.00")  # bills: the balances that would be paid
    too_many: bool = False


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if len(text) < 5:
        raise ValidationError("reason", "is required (5 characters at least).",
                              "Say why, e.g. 'bank confirmed collection, letter 2026-11-20'.")
    return text[:200]


def preview_bills_paid(db, flt: BillFilter, actor) -> Preview:
    """The open bills of the filter that would be marked paid (their balances recorded as payments)."""
    require(actor, Permission.BULK_UPDATE)
    flt = BillFilter(**{**flt.__dict__, "statuses": OPEN})
    bills, after = [], 0
    while len(bills) <= MAX_SELECTION:
        chunk = db.for_actor(actor).storage.list_bills_after(flt, after, 1000)
        if not chunk:
            break
        bills += [b for b in chunk if b.balance > 0]
        after = chunk[-1].id
    too_many = len(bills) > MAX_SELECTION
    bills = bills[:MAX_SELECTION]
    return Preview(tuple(b.id for b in bills), bills[:20], len(bills), sum((b.balance for b in bills), Decimal("0.00")),
                   too_many)


def mark_bills_paid(db, flt: BillFilter, paid_on: dt.date, reason: str, actor) -> int:
    """Record the full balance of every open bill of the filter as paid on `paid_on`; returns how many."""
    actor = require(actor, Permission.BULK_UPDATE)
    why = _reason(reason)
    if paid_on > db.today():
        raise ValidationError("paid_on", f"{paid_on} is in the future.", "Use the date the money was received.")
    pv = preview_bills_paid(db, flt, actor)
    if pv.too_many:
        raise ValidationError("filter", f"selects more than {MAX_SELECTION:,} bills.", "Narrow the filter.")
    if not pv.ids:
        return 0
    return db.for_actor(actor).storage.settle_bills_in_full(list(pv.ids), paid_on=paid_on, method="cash",
                                                           reference=f"bulk: {why}", actor=actor)


def preview_accounts_active(db, flt: AccountFilter, active: bool, actor) -> Preview:
    """The units of the filter whose active flag would change to `active`."""
    require(actor, Permission.BULK_UPDATE)
    flt = AccountFilter(**{**flt.__dict__, "is_active": not active})
    view = db.for_actor(actor).storage
    first = view.list_accounts(flt, 0, MAX_SELECTION + 1)
    items = first.items
    too_many = len(items) > MAX_SELECTION
    items = items[:MAX_SELECTION]
    return Preview(tuple(a.id for a in items), items[:20], len(items), too_many=too_many)


def set_accounts_active(db, flt: AccountFilter, active: bool, reason: str, actor) -> int:
    actor = require(actor, Permission.BULK_UPDATE)
    why = _reason(reason)
    pv = preview_accounts_active(db, flt, active, actor)
    if pv.too_many:
        raise ValidationError("filter", f"selects more than {MAX_SELECTION:,} units.", "Narrow the filter.")
    if not pv.ids:
        return 0
    return db.for_actor(actor).storage.set_accounts_active(list(pv.ids), active, why, actor)
