"""scripts/bench_dashboard: gives a small synthetic utility a year of bills and prints the dashboard's
figures as one JSON object (no timing is asserted); the copied months keep the summary rows exact."""
import json

from scripts import bench_dashboard, bench_data
from services.storage.sql_backend import SqlStorage

MS = {"whole dashboard", "period figures (pending readings, overdue)", "arrears aging", "12 months' collection",
      "consumption chart"}


def test_a_year_of_bills_and_the_dashboards_figures(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'big.db'}"
    st = SqlStorage(url)
    bench_data.build(st, 200, "society", say=lambda *_: None)
    st.dispose()
    assert bench_dashboard.main(["--database-url", url, "--history-months", "12", "--repeat", "1", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert out["bills"] == 200 * 12 and out["payments"] >= 200 * 11 and out["period"] == "2026-09"
    assert set(out["ms"]) == MS and all(v > 0 for v in out["ms"].values())
    st = SqlStorage(url)
    assert st.billing_checks()["totals_mismatch"][0] == 0  # the copies went through the triggers
    months = st.monthly_consumption([f"2025-{m:02d}" for m in (9, 10, 11, 12)])
    assert months["2025-11"] == 0 and months["2025-10"] == months["2025-12"] > 0  # the locked month: skipped
    st.dispose()
