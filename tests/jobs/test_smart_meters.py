"""Smart-meter collection against a local HTTP server: readings stored through the same
validation as any other, duplicates ignored, bad rows counted with reasons, nothing half-written."""
import datetime as dt
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from services.jobs.definitions import run_job
from services.models import ReadingFilter
from tests.jobs.conftest import at, build_services


class MeterEndpoint:
    """A loopback smart-meter service: answers GET with whatever the test set."""

    def __init__(self):
        self.status, self.body, self.requests = 200, "[]", []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                endpoint.requests.append({"path": self.path, "authorization": self.headers.get("Authorization")})
                data = endpoint.body.encode()
                self.send_response(endpoint.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/readings?key=secret-in-query"

    def answer(self, rows, status=200):
        self.status, self.body = status, rows if isinstance(rows, str) else json.dumps(rows)


@pytest.fixture
def endpoint(monkeypatch):
    ep = MeterEndpoint()
    monkeypatch.setenv("SMART_METER_URL", ep.url)
    yield ep
    ep.server.shutdown()


@pytest.fixture
def svc(storage, society, tmp_path):
    return build_services(storage, dt.date(2026, 11, 22), tmp_path)


def smart_readings(storage):
    return [r for r in storage.list_readings(ReadingFilter(status=None), 0, 100).items if r.source == "smart"]


def collect(svc, day=22):
    return run_job(svc, "smart_meter_collection", now=at(2026, 11, day, 8, 0))


GOOD = [
    {"meter_number": "19152159", "reading": 1000, "timestamp": "2026-10-20T06:00:00+05:30"},
    {"meter_number": "19152159", "reading": "1150.5", "timestamp": "2026-11-20T06:00:00+05:30"},
    {"meter_number": 19150001, "reading": 2000.25, "timestamp": 1795200000},  # Unix seconds: 2026-11-21 00:10 IST
]


def test_readings_are_stored_through_validation_as_smart(svc, storage, endpoint):
    endpoint.answer(GOOD)
    run = collect(svc)
    assert run.status == "completed", run.error
    assert {k: run.counts[k] for k in ("received", "stored", "duplicates", "bad")} == \
        {"received": 3, "stored": 3, "duplicates": 0, "bad": 0}
    got = {(r.meter_number, r.reading_date): r for r in smart_readings(storage)}
    later = got[("19152159", dt.date(2026, 11, 20))]
    assert later.consumption == 150.5 and later.status == "pending"  # against the earlier one, like any reading
    assert got[("19150001", dt.date(2026, 11, 21))].reading_value == 2000.25


def test_the_same_readings_again_are_duplicates_and_store_nothing(svc, storage, endpoint):
    endpoint.answer(GOOD)
    collect(svc, 22)
    before = storage.table_counts(["readings", "audit_log"])
    again = collect(svc, 29)
    assert again.counts["stored"] == 0 and again.counts["duplicates"] == 3
    assert storage.table_counts(["readings", "audit_log"]) == before


def test_bad_rows_are_counted_with_reasons_and_the_rest_stored(svc, storage, endpoint):
    endpoint.answer([
        {"meter_number": "19152159", "reading": 1000, "timestamp": "2026-11-01"},
        {"meter_number": "19152159", "reading": 900, "timestamp": "2026-11-15"},  # below the previous reading
        {"meter_number": "99999999", "reading": 10, "timestamp": "2026-11-15"},  # unknown meter
        {"meter_number": "19150001", "reading": "abc", "timestamp": "2026-11-15"},
        {"meter_number": "19150002", "reading": -5, "timestamp": "2026-11-15"},
        {"meter_number": "19150003", "reading": 5, "timestamp": "yesterday"},
        {"reading": 5, "timestamp": "2026-11-15"},
        "not an object",
        {"meter_number": "19150003", "reading": 5, "timestamp": "2026-12-30"},  # in the future
        {"meter_number": "19150003", "reading": 7, "timestamp": "2026-11-16T10:00:00Z"},
    ])
    run = collect(svc)
    assert run.status == "completed"
    assert run.counts["stored"] == 2 and run.counts["bad"] == 8 and len(run.counts["problems"]) == 8
    reasons = " | ".join(p["reason"] for p in run.counts["problems"])
    for word in ("reading_value", "meter", "timestamp", "meter_number", "row", "reading_date"):
        assert word in reasons, word
    assert {p["row"] for p in run.counts["problems"]} == {2, 3, 4, 5, 6, 7, 8, 9}
    stored = {(r.meter_number, r.reading_value) for r in smart_readings(storage)}
    assert stored == {("19152159", 1000), ("19150003", 7)}


def test_two_readings_of_a_meter_on_one_day_keep_the_later(svc, storage, endpoint):
    endpoint.answer([
        {"meter_number": "19152159", "reading": 1010, "timestamp": "2026-11-20T18:00:00+05:30"},
        {"meter_number": "19152159", "reading": 1000, "timestamp": "2026-11-20T06:00:00+05:30"},
    ])
    run = collect(svc)
    assert run.counts["stored"] == 1 and run.counts["superseded"] == 1
    assert [r.reading_value for r in smart_readings(storage)] == [1010]


def test_a_failing_endpoint_fails_the_run_and_stores_nothing(svc, storage, endpoint, monkeypatch):
    monkeypatch.setenv("SMART_METER_TOKEN", "tok-123")
    endpoint.answer({"error": "down"}, status=500)
    run = collect(svc)
    assert run.status == "failed" and "HTTP 500" in run.error and "secret-in-query" not in run.error
    assert endpoint.requests[0]["authorization"] == "Bearer tok-123"
    assert smart_readings(storage) == []
    endpoint.answer({"readings": []})  # a JSON object, not a list; the failed run may run again
    run = collect(svc)
    assert run.status == "failed" and "not a list" in run.error
    endpoint.answer("<html>")
    assert "did not answer JSON" in collect(svc).error


def test_unreachable_endpoint(svc, monkeypatch):
    monkeypatch.setenv("SMART_METER_URL", "http://127.0.0.1:9/nothing-listens-here")
    monkeypatch.setenv("SMART_METER_TIMEOUT_S", "2")
    run = collect(svc)
    assert run.status == "failed" and "Could not reach" in run.error


def test_not_configured_is_not_a_failure(svc):
    run = collect(svc)
    assert run.status == "completed" and "SMART_METER_URL is not set" in run.counts["note"]
