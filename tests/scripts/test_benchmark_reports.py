"""scripts/benchmark_reports.py times every report as the head office and as the demo agent."""
import json

from scripts import benchmark_reports, seed_demo
from services.storage.sql_backend import SqlStorage
from tests.conftest import TODAY


def test_it_times_each_report_for_both_views(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    storage = SqlStorage(url)
    seed_demo.seed(storage, 200, TODAY, quiet=True, utility="municipal")
    storage.dispose()
    assert benchmark_reports.main(["--database-url", url, "--repeat", "1", "--today", TODAY.isoformat(), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["accounts"] == 200 and set(out) >= {"head office", "agent", "month", "bills"}
    assert set(out["agent"]) == set(out["head office"]) and len(out["agent"]) == 9
    assert {"consumer analytics per city/tehsil", "consumer analytics per union council",
            "staff performance"} <= set(out["agent"])  # issue 14's reports are timed too
    assert all(v >= 0 for v in out["agent"].values())
