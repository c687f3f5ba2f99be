"""Two replicas against one real PostgreSQL, each with its own engine, starting the same job (or
the same bill run) at the same moment: the work is done once."""
import datetime as dt
import threading

import pytest

from services.jobs.definitions import run_job
from services.models import BillFilter
from services.storage.sql_backend import SqlStorage
from tests.factories import make_society
from tests.jobs.conftest import approve_october, at, build_services

pytestmark = pytest.mark.postgres


def replicas(pg_server, tmp_path, n=2):
    url = pg_server.fresh_url()
    first = SqlStorage(url)
    make_society(first)
    svcs = [build_services(first, dt.date(2026, 11, 1), tmp_path / "r0")]
    for i in range(1, n):
        svcs.append(build_services(SqlStorage(url, create=False), dt.date(2026, 11, 1),
                                   tmp_path / f"r{i}"))
    return svcs


def at_once(fns):
    """Run the callables in threads released together; return their results (or exceptions)."""
    gate = threading.Barrier(len(fns))
    out = [None] * len(fns)

    def go(i, fn):
        gate.wait()
        try:
            out[i] = fn()
        except Exception as exc:  # returned, so the test shows it
            out[i] = exc

    threads = [threading.Thread(target=go, args=(i, fn)) for i, fn in enumerate(fns)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return out


def test_two_schedulers_fire_the_monthly_run_at_once_and_it_runs_once(pg_server, tmp_path):
    a, b = replicas(pg_server, tmp_path)
    approve_october(a.db, a.db.storage)
    results = at_once([lambda: run_job(a, "monthly_bills", now=at(2026, 11, 1, 2, 0)),
                       lambda: run_job(b, "monthly_bills", now=at(2026, 11, 1, 2, 0))])
    assert not any(isinstance(r, Exception) for r in results), results
    ran = [r for r in results if r is not None]
    assert len(ran) == 1 and ran[0].status == "completed" and ran[0].counts["created"] == 4
    assert len(a.db.list_bills(BillFilter(period_month="2026-10")).items) == 4
    assert len(a.events.created) + len(b.events.created) == 4  # each new bill notified once
    assert len(a.db.storage.list_job_runs(job_id="monthly_bills")) == 1
    for svc in (a, b):
        svc.db.storage.dispose()


def test_daily_jobs_race_for_many_days_and_each_day_runs_once(pg_server, tmp_path):
    a, b = replicas(pg_server, tmp_path)
    for day in range(1, 11):
        results = at_once([lambda: run_job(a, "overdue_marking", now=at(2026, 11, day, 11, 0)),
                           lambda: run_job(b, "overdue_marking", now=at(2026, 11, day, 11, 0))])
        assert not any(isinstance(r, Exception) for r in results), results
        assert sum(r is not None for r in results) == 1, day
    keys = sorted(r.run_key for r in a.db.storage.list_job_runs(job_id="overdue_marking", limit=50))
    assert keys == [f"2026-11-{day:02d}" for day in range(1, 11)]
    for svc in (a, b):
        svc.db.storage.dispose()


def test_two_bill_runs_of_one_period_at_once_create_each_bill_once(pg_server, tmp_path):
    a, b = replicas(pg_server, tmp_path)
    approve_october(a.db, a.db.storage)
    period = ("2026-10-01", "2026-10-31", "2026-11-15")
    results = at_once([lambda: a.db.generate_bills_for_month(*period, batch_size=1),
                       lambda: b.db.generate_bills_for_month(*period, batch_size=1)])
    assert not any(isinstance(r, Exception) for r in results), results
    assert sum(r.created for r in results) == 4
    bills = a.db.list_bills(BillFilter(period_month="2026-10")).items
    assert len(bills) == 4 and len({x.account_id for x in bills}) == 4
    for svc in (a, b):
        svc.db.storage.dispose()
