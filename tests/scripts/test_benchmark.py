"""The benchmark script runs at a tiny size for each kind of utility and prints its figures (no timing is
asserted); the synthetic data it bills is consistent."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts import verify_billing

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"bill_run_rows_per_s", "plain_insert_rows_per_s", "per_bill_rows_per_s", "run_vs_plain", "run_vs_per_bill",
        "peak_memory_mb", "list_query_ms", "bills", "bill_lines", "per_bill_sample", "bill_run_cpu_seconds",
        "plain_insert_cpu_seconds", "detection_seconds", "detection_alongside", "run_without_detection_vs_plain"}
LIST_QUERIES = {"bills_page_filtered", "bills_page_leaf_area", "bills_page_search", "dashboard"}
LINES_PER_BILL = {"society": 2, "municipal": 1, "water": 3}  # at least: energy + fixed; the fee; tier 1 + two fees


@pytest.mark.postgres
@pytest.mark.parametrize("utility", ["society", "municipal", "water"])
def test_tiny_benchmark_prints_one_json_object_with_every_key(utility):
    out = subprocess.run([sys.executable, "-m", "scripts.benchmark", "--utility", utility, "--accounts", "200",
                          "--json", "--repeat", "1", "--per-bill-sample", "20"], cwd=ROOT, capture_output=True,
                         text=True, timeout=600, env={**os.environ, "PYTHONPATH": str(ROOT), "METERLINE_DOTENV": "0"})
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)  # exactly one JSON object on stdout; progress goes to stderr
    assert result["accounts"] == 200 and result["utility"] == utility
    for backend in ("sqlite", "postgresql"):
        figures = result[backend]
        assert KEYS <= set(figures), (backend, figures)
        assert 0 < figures["bills"] <= 200 and figures["per_bill_sample"] == 20
        assert figures["bill_lines"] >= LINES_PER_BILL[utility] * figures["bills"]
        expected = LIST_QUERIES | ({"pending_readings_page", "pending_readings_block_page"} if utility == "society"
                                   else set())
        assert set(figures["list_query_ms"]) == expected
        assert figures["peak_memory_mb"] > 0 and figures["run_vs_plain"] > 0 and figures["run_vs_per_bill"] > 0
        # The water run ends with its anomaly detection, timed on its own (the other kinds only look up
        # their plan's kind there).
        assert figures["detection_seconds"] > 0 if utility == "water" else figures["detection_seconds"] < 1
        # SQLite detects after the bills (the run without it is compared too); PostgreSQL alongside them.
        assert figures["detection_alongside"] == (backend == "postgresql")
        if backend == "sqlite":
            assert figures["run_without_detection_vs_plain"] <= figures["run_vs_plain"]
        else:
            assert figures["run_without_detection_vs_plain"] is None


def test_help():
    out = subprocess.run([sys.executable, "-m", "scripts.benchmark", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "--accounts" in out.stdout and "--json" in out.stdout and "--utility" in out.stdout


def test_bench_society_loads_a_synthetic_society_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'synthetic.db'}"
    cmd = [sys.executable, "-m", "scripts.bench_society", "--accounts", "40", "--database-url", url]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "METERLINE_DOTENV": "0"}
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    from services.storage.sql_backend import SqlStorage
    st = SqlStorage(url, create=False)
    counts = st.table_counts(["accounts", "readings", "bills"])
    ok, report = verify_billing.verify(st)  # the synthetic data is consistent data
    st.dispose()
    assert counts == {"accounts": 40, "readings": 120, "bills": 40}
    assert ok, report
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert again.returncode == 1 and "already has accounts" in again.stderr  # never loads on top of data


@pytest.mark.parametrize("utility", ["municipal", "water"])
def test_bench_data_loads_the_other_utilities(tmp_path, utility):
    """Accounts from the demo generators, last month's bills (with lines) for the open ones, and for
    water the daily usage from the billed month's first day to the day before the benchmark's today."""
    from scripts.bench_data import build
    from services.storage.sql_backend import SqlStorage

    st = SqlStorage(f"sqlite:///{tmp_path / 'synthetic.db'}")
    build(st, 60, utility, say=lambda _m: None)
    counts = st.table_counts(["accounts", "service_connections", "bills", "bill_lines", "meters", "daily_usage",
                              "usage_day_index"])
    detected = [a.details["period_start"] for a in st.list_audit(action_prefix="usage.detect", limit=10).items]
    ok, report = verify_billing.verify(st)
    template = st.utility_settings_row()["template"]
    st.dispose()
    assert template == utility and ok, report
    assert counts["accounts"] == 60 and 50 <= counts["bills"] < 60 and counts["bill_lines"] >= counts["bills"]
    if utility == "water":
        assert counts["meters"] == counts["service_connections"] == 60 and counts["daily_usage"] == 60 * 52
        # As its imports leave it: each imported month detected, the day index built.
        assert sorted(detected) == ["2026-10-01", "2026-11-01"] and counts["usage_day_index"] > 0
    else:
        assert counts["meters"] == counts["daily_usage"] == 0 and counts["service_connections"] < 60  # mosques


def test_bench_society_help():
    out = subprocess.run([sys.executable, "-m", "scripts.bench_society", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "--accounts" in out.stdout and "--database-url" in out.stdout
