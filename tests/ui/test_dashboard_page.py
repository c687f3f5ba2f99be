"""Admin dashboard (issue 18): opens on the last billed month; every figure from one service function
(services/reports/dashboard.py) with the collection rate defined as collected / due on the
month's bills (never above 100%); aging buckets; no stale cache; each figure links to its list."""
import datetime as dt
from decimal import Decimal

from services.demo import society as demo
from services.clock import today as app_today
from services.database_service import DatabaseService
from services.billing.periods import month_key
from services.models import BillFilter
from services.reports import dashboard as report
from tests.ui.seeded import seeded_template, seeded_url, signed_in, storage_for  # noqa: F401
from ui import widgets as w

PAGE = "ui/dashboard.py"
BILLED = month_key(demo.reading_dates(app_today())[-2])


def _metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def test_opens_on_last_billed_month_with_defined_rate_and_aging(seeded_url, monkeypatch, tmp_path):
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    assert not at.exception
    assert at.selectbox(key="dash_month").value == BILLED  # not the empty current month
    db = DatabaseService(storage_for(seeded_url))
    fig = report.dashboard_figures(db, BILLED)
    rows = db.storage.collection_report(BILLED, True)
    due, collected = sum(r.due for r in rows), sum(r.collected for r in rows)
    assert fig.period.due == due and fig.period.collected == collected and fig.period.bills == 320
    assert fig.period.collection_rate == (collected * 100 / due).quantize(Decimal("0.1")) <= 100
    m = _metrics(at)
    assert m[f"Billed for {BILLED}"] == w.money(fig.period.billed)
    assert m[f"Collected on {BILLED}'s bills"] == w.money(collected)
    assert m["Collection rate"] == f"{fig.period.collection_rate}%"
    assert m["Outstanding now"] == w.money(sum(fig.aging.values()))
    assert "collected / due" in " ".join(c.value for c in at.caption)
    aging = at.dataframe[0].value
    assert list(aging["age"])[:2] == ["not yet due", "0-30 days"] and list(aging["age"])[-1] == "total"
    # The chart's bars for the month are the figures above.
    spec = at.get("plotly_chart")[1].proto.spec
    assert BILLED in spec and str(float(collected)) in spec.replace(".0,", ",")
    links = {link.proto.label: link.proto.page for link in at.get("page_link")}
    assert any(label.endswith("bills") for label in links)


def test_a_payment_shows_at_once(seeded_url, monkeypatch, tmp_path):
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    before = _metrics(at)[f"Collected on {BILLED}'s bills"]
    db = DatabaseService(storage_for(seeded_url))
    bill = next(b for b in db.storage.list_bills(BillFilter(period_month=BILLED, statuses=("pending", "overdue", "partially_paid")), 0, 5).items)
    db.record_payment(bill.id, amount=Decimal("100"), paid_on=app_today(), method="cash", reference=None)
    at.run()
    after = _metrics(at)[f"Collected on {BILLED}'s bills"]
    assert after != before  # no hour-old cache


def test_month_without_bills_has_no_rate(seeded_url, monkeypatch, tmp_path):
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.selectbox(key="dash_month").set_value(at.selectbox(key="dash_month").options[-1]).run()
    metrics = _metrics(at)
    assert metrics["Collection rate"] == "-" and metrics[next(k for k in metrics if k.startswith("Billed for"))] == "₹0.00"
