"""The bill run is resumable: a run stopped half-way (an injected failure between batches, or a
real process killed mid-run) is finished by the next run, with no duplicates and nothing lost;
a record left `running` is closed. Batches written by the bulk path read back like single bills."""
import dataclasses
import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
from decimal import Decimal as D
from pathlib import Path

import pytest

from services.errors import PeriodLockedError
from services.models import BillFilter, NewBill
from tests.backends import FACTORIES
from tests.factories import ADMIN, make_service, make_society
from tests.jobs.conftest import approve_october

d = dt.date
OCT = (d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 15))
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgresql"])
def storage(request, tmp_path):
    st = FACTORIES[request.param](request, tmp_path)
    yield st
    st.dispose()


@pytest.fixture
def db(storage):
    make_society(storage)
    db = make_service(storage, d(2026, 11, 22))
    approve_october(db, storage)
    return db


def october_bills(db):
    return db.list_bills(BillFilter(period_month="2026-10")).items


def test_injected_failure_between_batches_then_the_next_run_finishes(db, storage, monkeypatch):
    real = storage.insert_bill_batch
    calls = []

    def fails_on_second(bills, actor):
        calls.append(len(bills))
        if len(calls) == 2:
            raise RuntimeError("power cut between batches")
        return real(bills, actor)

    monkeypatch.setattr(storage, "insert_bill_batch", fails_on_second)
    with pytest.raises(RuntimeError, match="power cut"):
        db.generate_bills_for_month(*OCT, batch_size=1)
    monkeypatch.undo()
    failed = storage.list_bill_runs()[0]
    assert failed.status == "failed" and "power cut" in failed.error and failed.created_count == 1
    assert len(october_bills(db)) == 1
    again = db.generate_bills_for_month(*OCT, batch_size=1)
    assert (again.created, again.skipped) == (3, 1)
    bills = october_bills(db)
    assert len(bills) == 4 and len({b.account_id for b in bills}) == 4
    full = db.generate_bills_for_month(d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 15), dry_run=True)
    assert full.created == 0 and full.skipped == 4


KILLED_RUN = textwrap.dedent("""
    import sys, time, datetime as dt
    from services.storage.sql_backend import SqlStorage
    from tests.factories import make_service
    db = make_service(SqlStorage(sys.argv[1], create=False), dt.date(2026, 11, 22))
    def progress(done, created):
        print(f"batch {done} {created}", flush=True)
        time.sleep(30)  # the parent kills us here, between batches
    db.generate_bills_for_month("2026-10-01", "2026-10-31", "2026-11-15", batch_size=1, progress=progress)
""")


def test_a_killed_run_is_finished_by_the_next_and_its_record_closed(db, storage):
    url = storage.engine.url.render_as_string(hide_password=False)
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, url], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        line = proc.stdout.readline()
        assert line.startswith("batch 1 1"), (line, proc.stderr.read() if proc.poll() is not None else "")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    dead = storage.list_bill_runs()[0]
    assert dead.status == "running" and len(october_bills(db)) == 1
    assert dead.created_count == 1  # while it is still marked running, its record shows what it stored
    run = db.generate_bills_for_month(*OCT)
    assert (run.created, run.skipped, run.status) == (3, 1, "completed")
    bills = october_bills(db)
    assert len(bills) == 4 and len({b.account_id for b in bills}) == 4
    closed = next(r for r in storage.list_bill_runs() if r.id == dead.id)
    assert closed.status == "failed" and "abandoned" in closed.error and f"#{run.run_id}" in closed.error
    # Its record says what it really stored (it used to say 0), counted from the bills it wrote.
    stored = [b for b in bills if b.bill_run_id == dead.id]
    assert len(stored) == 1 and (closed.created_count, closed.total_amount) == (1, stored[0].total_amount)
    finished = next(r for r in storage.list_bill_runs() if r.id == run.run_id)
    assert (finished.created_count, run.created) == (3, 3)


def test_a_dry_run_leaves_running_records_alone(db, storage):
    run_id = storage.start_bill_run(*OCT, ADMIN)
    db.generate_bills_for_month(*OCT, dry_run=True)
    assert storage.list_bill_runs()[0].id == run_id and storage.list_bill_runs()[0].status == "running"


def test_lock_refuses_the_whole_batch_before_anything_is_written(db, storage):
    storage.add_period_lock("2026-10", "closed", ADMIN)
    summary = db.generate_bills_for_month(*OCT)
    assert summary.status == "refused" and summary.refused == 4 and storage.count_bills_ending_in("2026-10") == 0
    priced = _priced(db)
    before = storage.table_counts(["bills", "audit_log"])
    with pytest.raises(PeriodLockedError):
        storage.insert_bill_batch(priced, ADMIN)  # a lock added after the candidates were read
    assert storage.table_counts(["bills", "audit_log"]) == before


def _priced(db, run_id=None) -> list[NewBill]:
    from services.billing.bill_run import Batch, RunScope, _price
    from services.billing.periods import BillingPeriod

    scope = RunScope(BillingPeriod(OCT[0], OCT[1]), OCT[2], "electricity", "readings", db.plan_book(), run_id=run_id)
    cands, _ = db.storage.bill_run_candidates(OCT[0], OCT[1], after_account_id=0, limit=100)
    return _price(Batch(cands, []), scope, db.storage).bills


def test_batch_skips_flats_billed_meanwhile_even_on_a_reissued_start(db, storage):
    priced = _priced(db)
    single = db.create_bill(priced[0].account_id, "2026-10-01", "2026-10-31", "2026-11-15", flat_units=5)
    reissue = db.create_bill(priced[1].account_id, "2026-10-01", "2026-10-31", "2026-11-15", flat_units=5)
    reissue = db.create_bill(priced[1].account_id, "2026-10-01", "2026-10-31", "2026-11-15", flat_units=6)
    assert reissue.billing_period_start == d(2026, 10, 2)
    res = storage.insert_bill_batch(priced, ADMIN)
    assert (res.created, res.skipped, res.stale) == (2, 2, ()) and res.total_amount == sum(nb.total_amount for nb in priced[2:])
    assert single.id in {b.id for b in october_bills(db)}


def test_a_payment_recorded_meanwhile_leaves_that_flat_out_of_the_batch(db, storage):
    """Its bill would carry money already paid: that flat is left out (stale, to be priced again),
    the rest of the batch is stored."""
    sep = db.create_bill("B17-FF", "2026-09-01", "2026-09-30", "2026-10-15", flat_units=100)
    priced = _priced(db)
    absorbing = next(nb for nb in priced if nb.carry_forward_bill_ids)
    assert absorbing.previous_outstanding == sep.total_amount
    db.record_payment(sep.id, "100", method="cash")  # after the candidates were read
    res = storage.insert_bill_batch(priced, ADMIN)
    assert (res.created, res.skipped, res.stale) == (3, 0, (sep.account_id,))
    assert all(b.account_id != sep.account_id for b in october_bills(db)) and db.get_bill(sep.id).status == "partially_paid"
    run = db.generate_bills_for_month(*OCT)  # read again: the arrears are what is still owed
    new = next(b for b in october_bills(db) if b.account_code == "B17-FF")
    assert run.created == 1 and new.previous_outstanding == sep.total_amount - D("100")
    assert db.get_bill(sep.id).status == "carried_forward" and db.get_bill(sep.id).carried_forward_to == new.id


def test_batch_rows_read_back_like_single_bills(db, storage):
    """Every stored column of a bill written by the bulk path equals the same bill written by
    insert_bill (ids, numbers, timestamps, period and the run/carry links aside)."""
    sep = db.create_bill("B17-FF", "2026-09-01", "2026-09-30", "2026-10-15", flat_units=D("100.25"))
    priced = [nb for nb in _priced(db) if nb.account_id == sep.account_id]
    storage.insert_bill_batch(priced, ADMIN)
    batch = next(b for b in october_bills(db) if b.account_id == sep.account_id)
    single = storage.insert_bill(dataclasses.replace(
        priced[0], billing_period_start=d(2026, 8, 1), billing_period_end=d(2026, 8, 31), due_date=d(2026, 9, 15),
        carry_forward_bill_ids=(), covered=()), ADMIN)  # its readings are the batch bill's already
    ignore = {"id", "created_at", "updated_at", "carried_forward_to", "billing_period_start", "billing_period_end",
              "due_date", "bill_number", "psid"}  # a PSID is made of the bill's id and period (checked below)
    for key, value in batch.as_dict().items():
        if key not in ignore:
            assert getattr(single, key) == value, key
    # Numbers: each its own, the next of the same series (the single bill was stored after the batch).
    assert single.bill_number == f"{batch.bill_number[:-6]}{int(batch.bill_number[-6:]) + 1:06d}"
    assert type(batch.total_amount) is D and batch.total_amount == priced[0].total_amount
    assert db.get_bill(sep.id).carried_forward_to == batch.id
    from services.billing.psid import make_psid

    assert batch.psid == make_psid(batch.id, batch.billing_period_end)
    assert single.psid == make_psid(single.id, single.billing_period_end)


def test_a_flat_billed_between_the_check_and_the_insert_is_retried_and_skipped(db, storage, monkeypatch):
    """Another writer (a replica's run, a single bill) wins the unique (flat, start) key after this
    batch looked: the batch is rolled back whole and tried again, skipping that flat."""
    from services.storage import sql_bill_runs

    priced = _priced(db)
    db.create_bill(priced[0].account_id, "2026-10-01", "2026-10-31", "2026-11-15", flat_units=5)
    real, looks = sql_bill_runs._not_yet_billed, []

    def stale_first_look(st, conn, bills):
        looks.append(1)
        return list(bills) if len(looks) == 1 else real(st, conn, bills)

    monkeypatch.setattr(sql_bill_runs, "_not_yet_billed", stale_first_look)
    res = storage.insert_bill_batch(priced, ADMIN)
    assert (res.created, res.skipped, len(looks)) == (3, 1, 2)
    assert len(october_bills(db)) == 4


def test_an_in_memory_database_is_billed_too():
    """sqlite:// gives each thread its own database: the run reads in its own thread there."""
    from services.storage.sql_backend import SqlStorage

    st = SqlStorage("sqlite://")
    make_society(st)
    db = make_service(st, d(2026, 11, 22))
    approve_october(db, st)
    assert db.generate_bills_for_month(*OCT).created == 4


@pytest.mark.postgres
def test_an_undo_racing_the_batch_waits_for_it_and_is_then_refused(db, storage, monkeypatch):
    """PostgreSQL, READ COMMITTED: the batch checks its readings and holds them (FOR SHARE) until it
    commits. An undo arriving after the check waits on that hold; once the bill is stored the undo
    sees the bill and is refused. Without the hold both commit: a bill covering a pending reading."""
    if storage.dialect != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite's run holds the write lock")
    import threading
    import time

    import sqlalchemy as sa

    from services.errors import MeterlineError
    from services.storage import sql_bill_runs

    priced = _priced(db)
    reading_id = priced[0].covered[-1].reading_id
    real, outcome = sql_bill_runs._still_as_priced, {}

    def undo():
        try:
            outcome["undone"] = db.undo_review(reading_id, actor=ADMIN).status
        except MeterlineError as exc:
            outcome["refused"] = str(exc)

    def checked_then_undo_arrives(st, conn, fresh):
        kept = real(st, conn, fresh)
        t = threading.Thread(target=undo)
        t.start()
        outcome["thread"] = t
        # Until the undo waits on a lock, or has finished (up to 60 s: a loaded machine is slow to
        # start a thread and connect); the probe has an engine of its own, outside the run's pool.
        probe_engine = sa.create_engine(storage.engine.url, poolclass=sa.pool.NullPool)
        with probe_engine.connect() as probe:
            deadline = time.monotonic() + 60
            while True:
                seen = probe.execute(sa.text(
                    "SELECT state, wait_event_type, wait_event, left(query, 60) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()")).all()
                waiting = any(row[1] == "Lock" for row in seen)
                if waiting or not t.is_alive() or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
        probe_engine.dispose()
        outcome["waited"], outcome["sessions"] = waiting, seen
        return kept

    monkeypatch.setattr(sql_bill_runs, "_still_as_priced", checked_then_undo_arrives)
    res = storage.insert_bill_batch(priced, ADMIN)
    outcome["thread"].join(30)
    assert res.created == 4 and outcome["waited"], outcome
    assert "refused" in outcome and "undone" not in outcome, outcome
    assert storage.get_reading(reading_id).status == "approved"
