"""The month-end bill run (DatabaseService.generate_bills_for_month calls `run`).

Set-based on every backend: candidates are read a window of accounts at a time
(storage.bill_run_candidates), priced in memory with the same rules as a single bill
(services/billing/pricing.py: the plan of each account), and each batch is written in one unit of work
(storage.insert_bill_batch: sqlite3 executemany / PostgreSQL COPY on the SQL backend). While a
batch is being written, the next one is read and priced in a helper thread, so the database
and Python work at the same time.

Guarantees:
- refused whole, before anything is written, when the period touches a locked month;
- a flat's bill covers every approved reading since its last billed one, up to the latest
  approved reading in the period with no pending reading before it (services/billing/coverage.py); a
  flat whose reading in the period waits behind a pending one is counted as waiting for review;
- a flat already billed for the period is skipped and counted, so a run that stopped half-way
  (killed, crashed, a failed batch) is finished by running it again: no duplicates, nothing lost;
- a flat that changes while its batch is stored (a payment lands on a bill it carries forward)
  is priced again once with fresh arrears, or skipped and reported; the rest is stored;
- every run leaves a bill_runs record (created / skipped / refused counts, total, error); the
  created count and total are counted from the bills it stored, so a record left `running` by
  a run that died, closed as failed when the next run of the same period starts, says what it
  really created.
"""
from __future__ import annotations

import gc
import queue
import threading
from operator import attrgetter
from contextlib import contextmanager
from decimal import Decimal
from typing import Callable, Iterable, Iterator

from dataclasses import dataclass, replace

from services.billing import estimates
from services.billing.coverage import run_chain
from services.billing.periods import BillingPeriod, check_range_not_locked
from services.billing.pricing import PlanBook
from services.errors import ConfigurationError, PeriodLockedError
from services.models import BillRunSummary, NewBill, RunCandidate, quick

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class RunScope:
    """What one run bills: a period, of one service, priced by the stored plans, optionally in one area."""

    period: BillingPeriod
    due: object
    service: str
    source: str  # how the plan gets its quantity: readings, usage, none (services/billing/pricing.py)
    book: PlanBook
    area_id: int | None = None
    run_id: int | None = None
    number_series: str | None = None  # the bills' number series ("BC-2026"; database/bill_numbers.py)
    # Meter-read plans: bill an estimate to accounts with no reading in the period (services/billing/estimates.py)
    estimate: bool = False


@dataclass
class Batch:
    """One window of accounts: the candidates with what they are billed from, and (an estimating
    run) the accounts with no approved reading to bill, which may be estimated."""

    candidates: list[RunCandidate]
    to_estimate: list[RunCandidate]

    def __len__(self) -> int:
        return len(self.candidates) + len(self.to_estimate)


def _candidate_batches(storage, scope: RunScope, batch_size: int, after: int = 0,
                       limit: int | None = None) -> Iterator[Batch]:
    estimating = scope.estimate and scope.source in ("readings", "usage")
    while True:
        kw = dict(service=scope.service, area_id=scope.area_id, after_account_id=after, limit=limit or batch_size)
        batch, upper = storage.bill_run_candidates(scope.period.start, scope.period.end, source=scope.source, **kw)
        if upper is None:
            return
        others: list[RunCandidate] = []
        if estimating:  # the same window's accounts not billed for the period, every one
            every, _ = storage.bill_run_candidates(scope.period.start, scope.period.end, source="none", **kw)
            reading = {c.account_id for c in batch}
            others = [c for c in every if c.account_id not in reading]
        if batch or others:
            yield Batch(batch, others)
        if limit:
            return
        after = upper


@dataclass
class Priced:
    looked_at: int
    bills: list[NewBill]
    no_units: int = 0  # only meters' first readings
    waiting: int = 0  # an earlier reading is still pending review
    estimated: int = 0
    no_basis: int = 0  # no reading to bill and too little history to estimate


def _price(batch: Batch, scope: RunScope, storage) -> Priced:
    """One batch priced: its candidates' bills (a bill covering readings deducts the account's open
    estimate), then the estimates of the accounts with no reading in the period."""
    start, end = scope.period.start, scope.period.end
    priced, missing, waiting = [], 0, 0
    entries = storage.estimate_entries([c.account_id for c in batch.candidates], scope.service) \
        if scope.source in ("readings", "usage") and batch.candidates else {}
    for c in batch.candidates:
        refs: dict = {}
        units = motor = trued = None
        if scope.source == "readings":
            cov, why = run_chain(list(c.tail), start, end)
            if cov is None:
                missing += why == "no_units"  # only meters' first readings: nothing to subtract from
                waiting += why == "waiting"  # an earlier reading is still pending review
                continue
            units, motor = cov.units, cov.motor_units
            refs = dict(last_reading_id=cov.last.reading_id, first_reading_id=cov.first.reading_id,
                        motor_reading_id=cov.last.motor_reading_id, covered=cov.rows())
            mine = entries.get(c.account_id)
            trued = estimates.true_up(units, estimates.open_estimate(mine, cov.last.reading_date)) if mine else None
            if trued is not None:
                units = trued.billed
        elif scope.source == "usage":
            units = c.usage.quantity
            # the days from the first unbilled one to the last with usage: a day after it is still open for
            # usage that comes late (a bill marks the days it charged billed; services/readings/usage.py)
            refs = dict(usage_from=c.usage.since or start, usage_to=c.usage.last_date)
            mine = entries.get(c.account_id)
            trued = estimates.true_up(units, estimates.open_estimate(mine, c.usage.last_date)) if mine else None
            if trued is not None:
                units = trued.billed
        p = scope.book.price(c.tariff_plan_id, period_start=start, period_end=end, previous_outstanding=c.outstanding,
                             account_code=c.account_code, category=c.category, account_type=c.account_type,
                             units=units, motor_units=motor)
        if trued is not None:
            unit = scope.book.plan(c.tariff_plan_id).plan.unit
            p = estimates.mark(p, trued.details(), estimates.true_up_label(trued, unit))
        priced.append(_new_bill(c, p, scope, refs))
    estimated, no_basis = _estimates(batch.to_estimate, scope, storage) if batch.to_estimate else ([], 0)
    if estimated:  # every batch is stored in account order (row locks taken in one order)
        priced = sorted(priced + estimated, key=attrgetter("account_id"))
    return Priced(len(batch), priced, missing, waiting, len(estimated), no_basis)


def _estimates(accounts: list[RunCandidate], scope: RunScope, storage) -> tuple[list[NewBill], int]:
    """Estimated bills of the accounts with no reading (or daily usage) in the period that have the
    history for one; (bills, accounts without that history). An account with a pending reading in the
    period waits."""
    start, end = scope.period.start, scope.period.end
    ids = [c.account_id for c in accounts]
    usage = scope.source == "usage"
    basis = storage.usage_estimate_basis(ids, start, end) if usage else storage.estimate_basis(ids, start, end)
    out, no_basis = [], 0
    for c in accounts:
        history, measured = basis.get(c.account_id, ([], False))
        if measured:
            continue  # a reading dated in the period (pending, or billed by another bill) or after it measures it
        e = estimates.estimate_usage(*history, start, end) if usage else estimates.estimate(history, start, end)
        if e is None:
            no_basis += 1
            continue
        p = scope.book.price(c.tariff_plan_id, period_start=start, period_end=end, previous_outstanding=c.outstanding,
                             account_code=c.account_code, category=c.category, account_type=c.account_type,
                             units=e.units, motor_units=ZERO)
        p = estimates.mark(p, e.details(), estimates.estimated_label(e, scope.book.plan(c.tariff_plan_id).plan.unit))
        out.append(_new_bill(c, p, scope, {}))
    return out, no_basis


def _new_bill(c: RunCandidate, p, scope: RunScope, refs: dict) -> NewBill:
    start, end = scope.period.start, scope.period.end
    return quick(  # NewBill without its frozen __init__ (services/models.quick: the run's hot path)
            NewBill, account_id=c.account_id, area_id=c.area_id, tariff_plan_version_id=p.tariff_plan_version_id,
            billing_period_start=start, billing_period_end=end, due_date=scope.due, service=scope.service,
            tariff_kind=p.tariff_kind, pricing_rule=p.pricing_rule, category=p.category, units=p.units,
            motor_units=p.motor_units, total_units=p.total_units, rate_per_unit=p.rate_per_unit,
            fixed_charge=p.fixed_charge, previous_outstanding=p.previous_outstanding, total_amount=p.total_amount,
            lines=p.lines, tariff_details=p.tariff_details, bill_run_id=scope.run_id,
            carry_forward_bill_ids=c.open_bill_ids, number_series=scope.number_series, **refs)


def _reprice(storage, scope: RunScope, account_id: int) -> list[NewBill]:
    """One account priced again from what the database holds now (its open bills changed meanwhile)."""
    for batch in _candidate_batches(storage, scope, 1, after=account_id - 1, limit=1):
        mine = Batch([c for c in batch.candidates if c.account_id == account_id],
                     [c for c in batch.to_estimate if c.account_id == account_id])
        return _price(mine, scope, storage).bills
    return []


def _store(storage, priced: list[NewBill], actor, scope: RunScope) -> tuple[int, int, Decimal, list[int]]:
    """Store a batch; an account that changed after it was priced (a payment recorded on one of the
    bills it carries, a single bill covering its reading) is priced again once and stored, or else
    left for the next run. Returns (created, skipped, total, accounts left out)."""
    res = storage.insert_bill_batch(priced, actor)
    created, skipped, total, changed = res.created, res.skipped, res.total_amount, []
    for account_id in res.stale:
        again = _reprice(storage, scope, account_id)
        if not again:
            skipped += 1  # billed meanwhile for the period, or nothing left to bill
            continue
        retry = storage.insert_bill_batch(again, actor)
        created, skipped, total = created + retry.created, skipped + retry.skipped, total + retry.total_amount
        changed += list(retry.stale)
    return created, skipped, total, changed


def prefetch(items: Iterable, depth: int = 1) -> Iterator:
    """Yield `items`, computed one step ahead in a helper thread (the database driver releases
    the GIL while it works). Errors of the helper are raised here; stopping early stops it."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                q.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            for item in items:
                if not put((True, item)):
                    return
            put((True, done))
        except BaseException as exc:  # handed to the consumer
            put((False, exc))

    t = threading.Thread(target=work, name="bill-run-prefetch", daemon=True)
    t.start()
    try:
        while True:
            ok, item = q.get()
            if not ok:
                raise item
            if item is done:
                return
            yield item
    finally:
        stop.set()
        t.join(timeout=30)


def _may_prefetch(storage) -> bool:
    """An in-memory SQLite database gives each thread its own connection, hence its own (empty)
    database: the helper thread would find no candidates there."""
    engine = getattr(storage, "engine", None)
    return not (engine is not None and engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:"))


_gc_pausers = 0  # runs of this process now pausing the collector
_gc_was_enabled = True  # the collector's state when the first of them began
_gc_lock = threading.Lock()


@contextmanager
def cyclic_gc_paused():
    """Python's cyclic garbage collector off while a run prices and stores its batches (reference
    counting still frees every object the run drops). The run makes millions of short-lived
    objects, each batch keeps thousands alive, and the collector kept walking them: 30% of a
    50,000-bill run's CPU (docs/scale-and-benchmarks.md). Process-wide, so counted: the collector
    comes back when the last run of this process ends, as it was before the first."""
    global _gc_pausers, _gc_was_enabled
    with _gc_lock:
        _gc_pausers += 1
        if _gc_pausers == 1:
            _gc_was_enabled = gc.isenabled()
            gc.disable()
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pausers -= 1
            if _gc_pausers == 0 and _gc_was_enabled:
                gc.enable()


def detect_alongside(db, period: BillingPeriod, actor) -> threading.Thread | None:
    """The period's anomaly detection (db.detect_after_run) started in a thread to run while the
    bills are stored, on a database that takes concurrent writers (PostgreSQL): it reads the usage,
    which a run never changes, and writes only anomalies, so its findings are the same as after the
    run, and the database works on it with the core the run leaves idle. None elsewhere (SQLite has
    one writer at a time): the caller detects after the run. The caller joins the thread."""
    if getattr(db.storage, "dialect", None) != "postgresql":
        return None
    t = threading.Thread(target=db.detect_after_run, args=(period.start, period.end, actor),
                         name="detect-alongside-run", daemon=True)
    t.start()
    return t


def close_abandoned_runs(storage, period: BillingPeriod, new_run_id: int) -> list[int]:
    """Runs of this period still marked running (their process died) are closed as failed. Their
    created count and total are counted from the bills they stored."""
    closed = []
    for old in storage.list_bill_runs(limit=100):
        if old.id != new_run_id and old.status == "running" and \
                (old.billing_period_start, old.billing_period_end) == (period.start, period.end):
            storage.finish_bill_run(
                old.id, status="failed", skipped=old.skipped_count, refused=old.refused_count,
                error=f"abandoned: it stopped before finishing (no finish recorded); run #{new_run_id} of the same "
                      "period finished the rest, skipping the accounts it had billed")
            closed.append(old.id)
    return closed


def run(db, period: BillingPeriod, due, *, dry_run: bool, actor, batch_size: int,
        progress: Callable[[int, int], None] | None, area_id: int | None = None,
        on_batch: Callable[[list[NewBill]], None] | None = None, estimate: bool = False) -> BillRunSummary:
    storage = db.storage
    utility = db.utility()
    book = db.plan_book()
    plan = next((sp for sp in book.plans.values() if sp.plan.service == utility.service), None)
    if plan is None:
        raise ConfigurationError(f"No {utility.service} tariff plan is stored; set the utility up first.")
    scope = RunScope(period, due, utility.service, book.source(plan.id), book, area_id,
                     number_series=db.bill_number_series(), estimate=estimate)
    count = dict(service=scope.service, source=scope.source, area_id=area_id)
    skipped = storage.count_run_skips(period.start, period.end, **count)
    try:
        check_range_not_locked(period.start, period.end, storage.locked_months())
    except PeriodLockedError as exc:
        refused = sum(len(batch) for batch in _candidate_batches(storage, scope, batch_size))
        run_id = None
        if not dry_run:
            run_id = storage.start_bill_run(period.start, period.end, due, actor, service=scope.service,
                                            area_id=area_id)
            storage.finish_bill_run(run_id, status="refused", skipped=skipped, refused=refused, error=str(exc))
        return BillRunSummary(period.start, period.end, due, dry_run, 0, skipped, refused, 0, ZERO, run_id,
                              "refused", str(exc))
    run_id = None
    if not dry_run:
        run_id = storage.start_bill_run(period.start, period.end, due, actor, service=scope.service, area_id=area_id)
        close_abandoned_runs(storage, period, run_id)
        scope = replace(scope, run_id=run_id)
    created = missing = waiting = done = estimated = no_basis = 0
    changed: list[int] = []
    total = ZERO
    batches = (_price(batch, scope, storage) for batch in _candidate_batches(storage, scope, batch_size))
    if not dry_run:  # encoded for storing in the helper thread too (Storage.prepare_bill_batch)
        batches = (replace(b, bills=storage.prepare_bill_batch(b.bills)) for b in batches)
    try:
        with cyclic_gc_paused():
            for b in (prefetch(batches) if _may_prefetch(storage) else batches):
                looked_at, priced = b.looked_at, b.bills
                missing += b.no_units
                waiting += b.waiting
                estimated += b.estimated
                no_basis += b.no_basis
                if on_batch:  # the run's manifest (services/billing/manifest.py) sees every priced batch
                    on_batch(priced)
                if dry_run:
                    created += len(priced)
                    total += sum((nb.total_amount for nb in priced), ZERO)
                else:
                    n, late_skips, amount, left_out = _store(storage, priced, actor, scope)
                    created += n
                    skipped += late_skips
                    total += amount
                    changed += left_out
                done += looked_at
                if progress:
                    progress(done, created)
    except BaseException as exc:
        if run_id is not None:
            storage.finish_bill_run(run_id, status="failed", skipped=skipped, refused=0,
                                    error=f"{exc.__class__.__name__}: {exc}")
        raise
    if run_id is not None:
        storage.finish_bill_run(run_id, status="completed", skipped=skipped, refused=0,
                                error=_changed_note(changed) if changed else None)
        created, total = storage.bill_run_totals(run_id)  # what it stored, counted from the bills
    label = utility.account_label_plural
    measure = "usage" if scope.source == "usage" else "reading"
    verb = "would create" if dry_run else "created"
    msg = (f"{verb} {created} bill(s) totalling {utility.money(total)}; {skipped} {label} already billed for the period"
           + (f"; {missing} approved reading(s) have no units (a meter's first reading)" if missing else "")
           + (f"; {waiting} {label} wait for review: an earlier reading is still pending (review it, then run "
              "again)" if waiting else "")
           + (f"; {estimated} of them estimated (no {measure} in the period)" if estimated else "")
           + (f"; {no_basis} {label} with no {measure} in the period have too little history to estimate"
              if no_basis else "")
           + (f"; {_changed_note(changed)}" if changed else "") + ".")
    return BillRunSummary(period.start, period.end, due, dry_run, created, skipped, 0, missing, total, run_id,
                          "completed", msg, waiting, tuple(changed), estimated, no_basis)


def _changed_note(changed: list[int]) -> str:
    ids = ", ".join(f"#{i}" for i in changed[:20]) + (" ..." if len(changed) > 20 else "")
    return (f"{len(changed)} account(s) changed while being billed (a payment was recorded on their open bills) and "
            f"were skipped: account id(s) {ids}; run again to bill them")
