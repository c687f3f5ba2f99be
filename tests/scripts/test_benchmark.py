"""The benchmark script runs at a tiny size and prints its figures (no timing is asserted)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"bill_run_rows_per_s", "plain_insert_rows_per_s", "per_bill_rows_per_s", "run_vs_plain", "run_vs_per_bill",
        "peak_memory_mb", "list_query_ms"}


@pytest.mark.postgres
def test_tiny_benchmark_prints_one_json_object_with_every_key():
    out = subprocess.run([sys.executable, "-m", "scripts.benchmark", "--accounts", "200", "--json", "--repeat", "1",
                          "--per-bill-sample", "20"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "METERLINE_DOTENV": "0"})
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)  # exactly one JSON object on stdout; progress goes to stderr
    assert result["accounts"] == 200
    for backend in ("sqlite", "postgresql"):
        figures = result[backend]
        assert KEYS <= set(figures), (backend, figures)
        assert figures["bills"] == 200 and figures["per_bill_sample"] == 20
        assert set(figures["list_query_ms"]) >= {"pending_readings_page", "bills_page_filtered", "dashboard"}
        assert figures["peak_memory_mb"] > 0 and figures["run_vs_plain"] > 0


def test_help():
    out = subprocess.run([sys.executable, "-m", "scripts.benchmark", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "--accounts" in out.stdout and "--json" in out.stdout


def test_bench_society_loads_a_synthetic_society_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'synthetic.db'}"
    cmd = [sys.executable, "-m", "scripts.bench_society", "--accounts", "40", "--database-url", url]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "METERLINE_DOTENV": "0"}
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    from services.storage.sql_backend import SqlStorage
    st = SqlStorage(url, create=False)
    counts = st.table_counts(["accounts", "readings", "bills"])
    st.dispose()
    assert counts == {"accounts": 40, "readings": 120, "bills": 40}
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, env=env)
    assert again.returncode == 1 and "already has accounts" in again.stderr  # never loads on top of data


def test_bench_society_help():
    out = subprocess.run([sys.executable, "-m", "scripts.bench_society", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "--accounts" in out.stdout and "--database-url" in out.stdout
