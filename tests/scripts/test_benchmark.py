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
    out = subprocess.run([sys.executable, "-m", "scripts.benchmark", "--flats", "200", "--json", "--repeat", "1",
                          "--per-bill-sample", "20"], cwd=ROOT, capture_output=True, text=True, timeout=600,
                         env={**os.environ, "PYTHONPATH": str(ROOT), "METERLINE_DOTENV": "0"})
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout)  # exactly one JSON object on stdout; progress goes to stderr
    assert result["flats"] == 200
    for backend in ("sqlite", "postgresql"):
        figures = result[backend]
        assert KEYS <= set(figures), (backend, figures)
        assert figures["bills"] == 200 and figures["per_bill_sample"] == 20
        assert set(figures["list_query_ms"]) >= {"pending_readings_page", "bills_page_filtered", "dashboard"}
        assert figures["peak_memory_mb"] > 0 and figures["run_vs_plain"] > 0


def test_help():
    out = subprocess.run([sys.executable, "-m", "scripts.benchmark", "--help"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0 and "--flats" in out.stdout and "--json" in out.stdout
