"""scripts.anomaly_report on a small seeded water demo (shares per method and month, the planted
anomalies each method finds) and scripts.forecast_backtest (the forecast beats seasonal-naive)."""
import datetime as dt

from scripts import anomaly_report, forecast_backtest, seed_demo
from services.demo import water as w
from services.pricing_service import PricingService
from services.seeding.water import anomaly_months, usage_end
from services.storage.sql_backend import SqlStorage

TODAY = dt.date(2026, 11, 22)


def test_anomaly_report_prints_shares_and_planted_found(tmp_path, monkeypatch):
    n = 60  # customer index 6 has usage planted on its closed account
    st = SqlStorage(f"sqlite:///{tmp_path / 'water.db'}")
    assert seed_demo.seed(st, n, TODAY, PricingService(), quiet=True, utility="water")
    planted = w.planted_anomalies(n, end=usage_end(TODAY))
    assert [(p.index, p.kind) for p in planted] == [(6, "inactive_usage")]
    monkeypatch.setattr("services.clock.today", lambda: TODAY)
    lines = []
    result = anomaly_report.report(st, out=lines.append)
    text = "\n".join(lines)
    assert "Share of customers flagged per month (60 customers)" in text
    assert set(result["shares"]) == set(anomaly_months(TODAY))  # every month detected, with or without flags
    assert result["planted"] == 1 and result["found"]["inactive_usage"] == 1 and result["found"]["zero_usage"] == 0
    counts = {c.method: 0 for c in st.anomaly_counts(dt.date(2000, 1, 1), TODAY)}
    for c in st.anomaly_counts(dt.date(2000, 1, 1), TODAY):
        counts[c.method] += c.accounts
    assert result["flags"] == {m: counts.get(m, 0) for m in result["flags"]}
    st.dispose()


def test_forecast_backtest_beats_seasonal_naive(capsys):
    # 200 customers: with a few dozen, one industrial customer's month can outweigh the rest
    assert forecast_backtest.main(["--customers", "200", "--today", "2026-11-22"]) == 0
    out = capsys.readouterr().out
    assert "The forecast beats seasonal-naive" in out and "coverage" in out
    r = forecast_backtest.backtest(200, TODAY)
    assert r["overall"].mase < 1 and r["overall"].cases == 3 * sum(1 for c in w.customers(200) if c.is_active)
