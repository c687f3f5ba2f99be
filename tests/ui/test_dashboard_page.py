"""Admin dashboard: the month's figures match the database; two charts by month."""
from services.demo import society as demo
from services.clock import today as app_today
from services.database_service import DatabaseService
from services.billing.periods import month_key
from tests.ui.seeded import seeded_template, seeded_url, signed_in, storage_for  # noqa: F401
from ui import widgets as w

PAGE = "ui/dashboard.py"
BILLED = month_key(demo.reading_dates(app_today())[-2])


def test_figures_and_charts(seeded_url, monkeypatch, tmp_path):
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    assert not at.exception
    at.selectbox(key="dash_month").set_value(BILLED).run()
    expected = DatabaseService(storage_for(seeded_url)).dashboard(BILLED)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[f"Billed in {BILLED}"] == w.money(expected.billed) and expected.bill_count == 320
    assert metrics[f"Collected in {BILLED}"] == w.money(expected.collected)
    assert metrics["Collection rate"] == f"{expected.collection_rate}%"
    assert metrics["Outstanding now"] == w.money(expected.outstanding)
    assert metrics["Readings pending review"] == f"{expected.pending_readings:,}" and expected.pending_readings > 300
    assert metrics["Overdue bills"] == f"{expected.overdue_count:,}"
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    assert '"Consumption billed by month (kWh)"' in charts[0].proto.spec
    assert BILLED in charts[1].proto.spec and '"Collected"' in charts[1].proto.spec


def test_month_without_bills_has_no_rate(seeded_url, monkeypatch, tmp_path):
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.selectbox(key="dash_month").set_value(at.selectbox(key="dash_month").options[-1]).run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Collection rate"] == "-" and metrics[next(k for k in metrics if k.startswith("Billed in"))] == "₹0.00"
