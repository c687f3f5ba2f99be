"""The load test runs short (a real streamlit server, sessions over Streamlit's websocket protocol, a
real Chromium alongside) and reports every key with zero errors. No timing is asserted."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.load_client import new_forwarded_address
from scripts.load_test import StickyBalancer, kinds_for, pct

ROOT = Path(__file__).resolve().parents[2]
FIGURES = {"count", "errors", "conflicts", "p50_ms", "p95_ms", "p99_ms"}
SERVER = {"processes", "cpu_seconds", "wall_seconds", "cpu_percent_of_one_core", "baseline_rss_mb", "peak_rss_mb",
          "rss_per_session_mb"}


def _run(*args: str) -> dict:
    out = subprocess.run([sys.executable, "-m", "scripts.load_test", "--json", "--think", "1", "2", *args], cwd=ROOT,
                         capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "METERLINE_DOTENV": "0"})
    last = out.stdout.strip().splitlines()[-1]
    report = json.loads(last)  # one JSON object on the last line; the table goes to stderr
    assert out.returncode == 0, (report["error_samples"], report["browser_check"], out.stderr[-3000:])
    return report


def _assert_report(report: dict, sessions: int) -> None:
    assert report["sessions"] == sessions and sum(report["mix"].values()) == sessions
    assert FIGURES <= set(report["overall"]) and FIGURES <= set(report["first_page_load"])
    assert SERVER <= set(report["server"])
    assert report["errors_total"] == 0 and report["overall"]["errors"] == 0, report["error_samples"]
    assert report["first_page_load"]["count"] == sessions  # every session signed in, each with its own user
    assert report["overall"]["count"] > 0 and report["overall"]["p95_ms"] is not None
    assert all(FIGURES <= set(f) for f in report["actions"].values())
    assert report["server"]["peak_rss_mb"] >= report["server"]["baseline_rss_mb"] > 0
    assert len(report["load_average_before"]) == 3


def test_a_short_run_reports_every_figure_with_no_errors_and_the_browser_agrees():
    report = _run("--sessions", "3", "--seconds", "20", "--browsers", "1", "--ramp", "2")
    _assert_report(report, 3)
    assert report["mix"] == {"engineer": 1, "reviewer": 1, "admin": 1}
    assert {"engineer_search", "engineer_submit"} <= set(report["actions"])  # a reading with a photo went in
    assert report["photo_upload"]["count"] >= 1 and report["photo_upload"]["errors"] == 0
    check = report["browser_check"]
    assert check["sessions"] == 1 and not check["errors"] and not check["mismatches"]


@pytest.mark.postgres
def test_two_server_processes_behind_the_sticky_balancer_on_postgresql(pg_server, tmp_path):
    from scripts import seed_demo
    from services.storage.sql_backend import SqlStorage

    url = pg_server.fresh_url()
    seed_demo.seed(SqlStorage(url), 40, quiet=True)
    report = _run("--sessions", "5", "--seconds", "20", "--browsers", "0", "--servers", "2", "--ramp", "2",
                  "--database-url", url)
    _assert_report(report, 5)
    assert report["database"] == "postgresql" and report["server"]["processes"] == 2
    assert all(n > 0 for n in report["balancer_connections"])  # both processes served sessions


def test_the_mix_is_forty_thirty_thirty():
    assert kinds_for(50).count("engineer") == 20 and kinds_for(50).count("reviewer") == 15
    assert kinds_for(50).count("admin") == 15
    assert sorted(kinds_for(3)) == ["admin", "engineer", "reviewer"] and len(kinds_for(7)) == 7


def test_percentiles_are_nearest_rank():
    values = [i / 1000 for i in range(1, 101)]  # 1..100 ms
    assert (pct(values, 50), pct(values, 95), pct(values, 99)) == (50.0, 95.0, 99.0)
    assert pct([], 95) is None and pct([0.2], 99) == 200.0


def test_the_balancer_keeps_a_client_on_one_process():
    lb = StickyBalancer(["http://127.0.0.1:1", "http://127.0.0.1:2"])
    head = b"GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: %s\r\n\r\n"
    picks = {a: lb.pick(head % a.encode(), "127.0.0.1") for a in map(new_forwarded_address, range(1, 9))}
    assert set(picks.values()) == {0, 1}  # clients spread over both
    assert all(lb.pick(head % a.encode(), "127.0.0.9") == i for a, i in picks.items())  # and stay put
