"""Seeding a demo utility: what the three seedings share (scripts/seed_demo.py runs them).

The generators (services/demo/{society,municipal,water}.py) are pure; the seeding modules
(services/seeding/society.py, municipal.py, water.py) turn their records into bulk rows
through the storage contract (bulk_insert / lookup_ids / ensure_areas), so any backend can be
seeded. Bills are never written here: each month is billed by the REAL month run
(DatabaseService.generate_bills_for_month), then the month's payments are recorded as the
generators' payment behaviour says (full payments set-based with storage.settle_bills_in_full,
part payments one by one with DatabaseService.record_payment), so the next run carries what is
still open forward exactly as the core does for live data.

The calendar: a month's bill is issued on the utility's billing day of the following month and
falls due `due_days` after the period ends (services/accounts/utility.py). A payment dated after
"today" has not happened yet, so the newest bills are partly open; at the end every open bill past
its due date is marked overdue.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Callable

from services.accounts.roles import Actor
from services.billing.periods import BillingPeriod
from services.demo.common import PaymentPlan
from services.models import Bill, BillFilter

SEEDER = Actor(None, "seed_demo", "system")
CHUNK = 5000  # accounts generated and inserted at a time (memory stays flat at any size)
PAGE = 2000  # bills read at a time when recording a month's payments
CENT = Decimal("0.01")
ONE_DAY = dt.timedelta(days=1)

Say = Callable[[str], None]


def quiet(_msg: str) -> None:
    """A `say` that says nothing."""


@dataclass(frozen=True)
class BillMonth:
    """One billed month of the demo history: its period, when its bills were issued and fall due,
    and when the next month's bills were issued (a late payer pays before that)."""

    index: int  # 0 = the oldest billed month (the payment behaviour's month_index)
    period: BillingPeriod
    issued: dt.date
    due: dt.date
    next_issued: dt.date

    @property
    def month(self) -> str:
        return self.period.start.strftime("%Y-%m")


def _month_start(d: dt.date, add: int = 0) -> dt.date:
    k = d.year * 12 + d.month - 1 + add
    return dt.date(k // 12, k % 12 + 1, 1)


def bill_months(today: dt.date, months: int, billing_day: int, due_days: int) -> list[BillMonth]:
    """The `months` latest calendar months whose bills were issued by `today` (on `billing_day` of
    the month after), oldest first."""
    last = _month_start(today, -1)  # last month: issued this month, if the billing day has come
    if today.day < billing_day:
        last = _month_start(today, -2)
    out = []
    for k in range(months):
        start = _month_start(last, k - months + 1)
        period = BillingPeriod.for_month(start)
        issued = _month_start(start, 1).replace(day=billing_day)
        out.append(BillMonth(k, period, issued, period.end + dt.timedelta(days=due_days),
                             _month_start(start, 2).replace(day=billing_day)))
    return out


def after_locks(months: list[BillMonth], locked: list[str]) -> list[BillMonth]:
    """The months after the last locked one among them, numbered again from 0: no bill can be issued
    into a locked month (a fresh database locks 2025-11, seed 002's closed month), and a history
    with a hole in it would carry arrears across a month nobody was billed for."""
    last = max((i for i, m in enumerate(months) if m.month in set(locked)), default=-1)
    return [BillMonth(k, m.period, m.issued, m.due, m.next_issued) for k, m in enumerate(months[last + 1:])]


def pay_date(month: BillMonth, plan: PaymentPlan) -> dt.date:
    """When the payment of `plan` is made: relative to the due date, a late payer before the next
    bill is issued (after it, the balance would have been carried forward), never before the bill."""
    day = month.due + dt.timedelta(days=plan.days_after_due)
    if plan.behaviour == "late":
        day = min(day, month.next_issued - ONE_DAY)
    return max(day, month.issued)


def share_of(amount: Decimal, share: Decimal) -> Decimal:
    """The part of `amount` a part payment pays, rounded 2 places half-up (money's one rule)."""
    return (amount * share).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Collection:
    settled: int = 0  # bills paid in full
    part_paid: int = 0  # bills with a part payment
    not_yet: int = 0  # payments dated after today: not made yet


def collect(db, month: BillMonth, plan_for: Callable[[Bill, BillMonth], PaymentPlan | None],
            method_for: Callable[[PaymentPlan], tuple[str, str]], today: dt.date) -> Collection:
    """Record the payments of the month's bills (those issued by its run): full payments grouped by
    (date, method) and settled set-based, part payments one by one. `plan_for(bill, month)` is the
    generator's payment plan for the bill's account that month (None: nothing paid); `method_for(plan)` the
    payment method and reference."""
    full: dict[tuple[dt.date, str, str], list[int]] = defaultdict(list)
    part: list[tuple[int, Decimal, dt.date, str, str]] = []
    not_yet = 0
    flt = BillFilter(period_month=month.month)
    after = 0
    while True:
        page = db.storage.list_bills_after(flt, after, PAGE)
        for bill in page:
            plan = plan_for(bill, month)
            if plan is None or plan.share <= 0:
                continue
            day = pay_date(month, plan)
            if day > today:
                not_yet += 1
                continue
            method, reference = method_for(plan)
            if plan.share >= 1:
                full[(day, method, reference)].append(bill.id)
            else:
                amount = share_of(bill.total_amount, plan.share)
                if amount > 0:
                    part.append((bill.id, amount, day, method, reference))
        if len(page) < PAGE:
            break
        after = page[-1].id
    settled = 0
    for (day, method, reference), ids in sorted(full.items()):
        settled += db.storage.settle_bills_in_full(ids, paid_on=day, method=method, reference=reference,
                                                   actor=SEEDER)
    for bill_id, amount, day, method, reference in part:
        db.record_payment(bill_id, amount, paid_on=day, method=method, reference=reference, actor=SEEDER)
    return Collection(settled, len(part), not_yet)


def bill_history(db, months: list[BillMonth], *, plan_for: Callable[[Bill, BillMonth], PaymentPlan | None],
                 method_for: Callable[[PaymentPlan], tuple[str, str]], today: dt.date, say: Say = quiet,
                 before_run: Callable[[BillMonth], None] | None = None) -> None:
    """Bill each month with the real month run, then record its payments; finally mark what is
    past due overdue. `before_run(month)` prepares a month (e.g. connects the units surveyed by then).
    Months up to a locked one are left out (after_locks)."""
    kept = after_locks(months, db.storage.locked_months())
    if len(kept) < len(months):
        say(f"  {months[len(months) - len(kept) - 1].month} is locked: the history starts after it "
            f"({len(kept)} months)")
    for m in kept:
        if before_run is not None:
            before_run(m)
        s = db.generate_bills_for_month(m.period.start, m.period.end, m.due, actor=SEEDER)
        c = collect(db, m, plan_for, method_for, today)
        say(f"  bills {m.month}: {s.created:,} created, total {db.utility().money(s.total_amount)}; "
            f"{c.settled:,} paid in full, {c.part_paid:,} in part" + (f", {c.not_yet:,} not yet" if c.not_yet else ""))
    overdue = db.storage.mark_overdue(today, SEEDER)
    say(f"  bills past due marked overdue: {len(overdue):,}")


def area_rows(areas) -> list[dict]:
    """ensure_areas rows of the generators' DemoArea records (parents first)."""
    return [{"path": a.path, "name": a.name, "kind": a.kind, "sort_order": i} for i, a in enumerate(areas)]
