"""One account's history as one timeline (issue 18): readings (with photos), bills, payments,
notifications and the audit log entries of the account and its bills, newest first.

Each kind is a small reader in KINDS: it returns at most `limit` of the account's newest items of
that kind, read from the database with that limit (no kind is loaded whole), through the actor's
storage, so an area-limited user's reads are filtered as every read is. A page of the timeline at
offset o asks each kind for its newest o + n items and merges them; an account has hundreds of
items, not millions. Another kind (tickets, visits) is one more entry in KINDS.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Callable

from services.accounts.roles import Actor, Permission, require
from services.errors import MeterlineError, PermissionDeniedError
from services.models import Account, BillFilter, ReadingFilter


@dataclass(frozen=True)
class TimelineItem:
    when: dt.datetime  # UTC
    kind: str  # a key of KINDS
    title: str
    detail: str = ""
    bill_id: int | None = None  # opens the bill
    reading_id: int | None = None
    photo_ref: str | None = None
    photo_url: str | None = None


@dataclass(frozen=True)
class TimelinePage:
    items: list[TimelineItem]
    offset: int
    limit: int
    has_next: bool
    left_out: tuple[str, ...] = ()  # kinds this user may not read (the audit log for area-limited staff)


def _at(day: dt.date | dt.datetime | None) -> dt.datetime:
    if isinstance(day, dt.datetime):
        return day if day.tzinfo else day.replace(tzinfo=dt.timezone.utc)
    return dt.datetime.combine(day or dt.date.min, dt.time(), dt.timezone.utc)


def _bills(db, acct: Account, limit: int):
    return db.storage.list_bills(BillFilter(account_id=acct.id, sort="period"), 0, limit, with_total=False).items


def _readings(db, acct: Account, limit: int) -> list[TimelineItem]:
    page = db.storage.list_readings(ReadingFilter(status=None, account_id=acct.id, sort="date"), 0, limit,
                                    with_total=False)
    return [TimelineItem(_at(r.reading_date), "reading", f"Reading {r.reading_value} ({r.status})",
                         f"used {r.consumption if r.consumption is not None else '-'}"
                         f" · by {r.submitted_by_name or 'import'}", reading_id=r.id, photo_ref=r.photo_ref,
                         photo_url=r.photo_url)
            for r in page.items]


def _bill_items(db, acct: Account, limit: int) -> list[TimelineItem]:
    # Business dates, not row times (an import or a seed stores months of history in one minute): a
    # bill at its period's end, a payment on the day it was paid.
    return [TimelineItem(_at(b.billing_period_end), "bill", f"Bill {b.number}",
                         f"{b.billing_period_start} to {b.billing_period_end} · {b.status.replace('_', ' ')}",
                         bill_id=b.id) for b in _bills(db, acct, limit)]


def _payments(db, acct: Account, limit: int) -> list[TimelineItem]:
    out = []
    for b in _bills(db, acct, limit):  # a payment is on a bill: the newest bills hold the newest payments
        out += [TimelineItem(_at(p.paid_on), "payment", f"Payment on {b.number}",
                             f"{p.method} · paid on {p.paid_on} · recorded by {p.recorded_by_name}", bill_id=b.id)
                for p in db.storage.list_payments(b.id)]
    return out


def _notifications(db, acct: Account, limit: int) -> list[TimelineItem]:
    out = []
    for b in _bills(db, acct, limit):
        out += [TimelineItem(_at(n.created_at), "notification", f"{n.kind.replace('_', ' ')} by {n.channel}",
                             f"{n.status} · {n.recipient or ''}", bill_id=b.id)
                for n in db.storage.list_notifications(bill_id=b.id, limit=limit).items]
    return out


def _audit(db, acct: Account, limit: int) -> list[TimelineItem]:
    entries = list(db.storage.list_audit(entity_type="account", entity_id=str(acct.id), limit=limit).items)
    for b in _bills(db, acct, limit):
        entries += db.storage.list_audit(entity_type="bill", entity_id=str(b.id), limit=limit).items
    return [TimelineItem(_at(e.occurred_at), "audit", f"{e.action} by {e.actor_name}",
                         f"{e.entity_type} {e.entity_id}") for e in entries]


def _visits(db, acct: Account, limit: int) -> list[TimelineItem]:
    from services.field.models import VISIT_OUTCOMES, VisitFilter

    page = db.storage.list_visits(VisitFilter(account_id=acct.id), 0, limit, with_total=False)
    return [TimelineItem(_at(v.visited_at), "visit", f"Visit: {VISIT_OUTCOMES.get(v.outcome, v.outcome)} ({v.status})",
                         f"by {v.agent_name}" + (" · flagged: far from the unit" if v.flagged else ""),
                         photo_ref=v.photo_ref, photo_url=v.photo_url)
            for v in page.items]


def _tickets(db, acct: Account, limit: int) -> list[TimelineItem]:
    from services.field.models import TICKET_KINDS, TicketFilter

    page = db.storage.list_tickets(TicketFilter(status=None, account_id=acct.id, oldest_first=False), 0, limit,
                                   with_total=False)
    return [TimelineItem(_at(t.raised_at), "ticket", f"Ticket: {TICKET_KINDS.get(t.kind, t.kind)} ({t.status})",
                         f"raised by {t.raised_by_name}", bill_id=t.bill_id) for t in page.items]


# The kinds, in the order their items come when two happen at the same moment.
KINDS: dict[str, Callable[[object, Account, int], list[TimelineItem]]] = {
    "reading": _readings,
    "bill": _bill_items,
    "payment": _payments,
    "notification": _notifications,
    "visit": _visits,
    "ticket": _tickets,
    "audit": _audit,
}
LABELS = {"reading": "Reading", "bill": "Bill", "payment": "Payment", "notification": "Notification",
          "visit": "Field visit", "ticket": "Ticket", "audit": "Who did what"}


def account_timeline(db, acct: Account, offset: int = 0, limit: int = 20, *, actor: Actor | None = None,
                     kinds: tuple[str, ...] | None = None) -> TimelinePage:
    require(actor, Permission.VIEW_BILLS)
    wanted = offset + limit
    merged: list[TimelineItem] = []
    left_out = []
    full = False
    order = {k: i for i, k in enumerate(KINDS)}
    for kind, read in KINDS.items():
        if kinds is not None and kind not in kinds:
            continue
        try:
            got = read(db, acct, wanted)
        except (PermissionDeniedError, MeterlineError):
            left_out.append(kind)
            continue
        full = full or len(got) >= wanted
        merged += got
    merged.sort(key=lambda i: (i.when, -order[i.kind]), reverse=True)
    return TimelinePage(merged[offset:wanted], offset, limit, full or len(merged) > wanted, tuple(left_out))
