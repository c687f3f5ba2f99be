"""POST /webhook/meter-reading at the same moment (issue 11, item 2): identical posts get identical
responses (one reading, one bill), in one process (threads) and across two server processes, on
SQLite and PostgreSQL."""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import threading

import httpx
import pytest

from services.clock import today as app_today
from services.database_service import DatabaseService
from services.storage.sql_backend import SqlStorage
from tests.api.conftest import TOKEN, build_svc, make_client, seed_previous_reading
from tests.api.test_server import server_for  # noqa: F401
from tests.factories import ADMIN, make_society

URL = "/webhook/meter-reading"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def database_url(backend, request, tmp_path) -> str:
    if backend == "postgresql":
        return request.getfixturevalue("pg_server").fresh_url()
    return f"sqlite:///{tmp_path / 'api.db'}"


def at_once(calls):
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait()
        return call()

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


@pytest.mark.parametrize("backend", BACKENDS)
def test_ten_identical_posts_at_once_get_the_same_response(backend, request, tmp_path, today):
    storage = SqlStorage(database_url(backend, request, tmp_path))
    try:
        make_society(storage)
        svc = build_svc(storage, today, tmp_path)
        client = make_client(svc, role="field_engineer")
        seed_previous_reading(svc)
        body = {"meter_number": "19152159", "reading_value": "10150", "reading_date": "2026-11-20"}
        answers = at_once([lambda: client.post(URL, json=body)] * 10)
        assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
        first = answers[0].json()
        assert first["outcome"] == "billed" and first["bill"]["total_amount"] == "3274.00"
        assert [a.json() for a in answers] == [first] * 10
        counts = storage.table_counts(["readings", "bills"])
        assert counts == {"readings": 2, "bills": 1}
        assert len(svc.events.created) == 1
    finally:
        storage.dispose()


@pytest.mark.parametrize("backend", BACKENDS)
def test_identical_posts_to_two_server_processes_get_the_same_response(backend, request, tmp_path, server_for):  # noqa: F811
    """Two API processes on one database (replicas): the meter is held across processes (PostgreSQL
    advisory lock, SQLite lock file), so both answer with the one stored reading and its one bill."""
    url = database_url(backend, request, tmp_path)
    storage = SqlStorage(url)
    try:
        make_society(storage)
        day = app_today() - dt.timedelta(days=1)  # the servers run on the app's clock
        db = DatabaseService(storage)
        prev = db.insert_meter_reading(meter_number="19152159", reading_value="10000",
                                       reading_date=day - dt.timedelta(days=30), actor=ADMIN)
        db.approve_reading(prev.reading.id, actor=ADMIN)
        bases = [server_for(url), server_for(url)]
        body = {"meter_number": "19152159", "reading_value": "10150", "reading_date": day.isoformat()}
        headers = {"Authorization": f"Bearer {TOKEN}"}
        answers = at_once([lambda b=bases[i % 2]: httpx.post(f"{b}{URL}", json=body, headers=headers, timeout=60)
                           for i in range(10)])
        assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
        first = answers[0].json()
        assert first["outcome"] == "billed", first
        assert [a.json() for a in answers] == [first] * 10
        assert storage.table_counts(["readings", "bills"]) == {"readings": 2, "bills": 1}
    finally:
        storage.dispose()
