"""Operations review a usage anomaly (filtered list, chart with the band, outcome recorded and
audited); Support change a customer's phone on the customer page; neither opens the other's page."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.accounts.roles import SYSTEM
from services.models import AnomalyFilter
from services.storage.sql_backend import SqlStorage
from tests.ui.seeded import plain, signed_in
from tests.ui.utilities import last_month, water_url  # noqa: F401

PAGE = "ui/anomalies.py"


@pytest.fixture
def flagged_url(water_url):
    """The water test utility with 60 days of varying history before last month for HS-100001, whose
    last month (0.50 CCF a day) then stands out; detection run for last month."""
    st = SqlStorage(water_url)
    acct = st.get_account(code="HS-100001")
    period = last_month()
    st.bulk_insert("daily_usage", [
        {"account_id": acct.id, "usage_date": period.start - dt.timedelta(days=i), "quantity": D("0.10") + D(i % 3) / 20,
         "source": "import"} for i in range(1, 61)])
    from services.database_service import DatabaseService

    found = DatabaseService(st).detect_usage_anomalies(period.start, period.end, actor=SYSTEM)
    assert found["zscore"] == found["continuous_flow"] == 1
    st.dispose()
    return water_url


def test_operations_review_an_anomaly(flagged_url, monkeypatch, tmp_path):
    st = SqlStorage(flagged_url)
    at = signed_in(flagged_url, monkeypatch, tmp_path, "operations", PAGE)
    assert not at.exception and "Usage anomalies" in at.title[0].value
    rows = at.dataframe[0].value.to_dict("records")
    assert {r["customer"] for r in rows} == {"HS-100001"} and {r["status"] for r in rows} == {"open"}
    assert any("band" in plain(c.value) for c in at.caption)
    at.selectbox(key="an_method").set_value("zscore").run()
    chosen = at.selectbox(key="an_open").value
    assert chosen.method == "zscore"
    at.selectbox(key="an_outcome").set_value("leak_confirmed")
    at.text_input(key="an_note").input("toilet cistern leaking")
    next(b for b in at.button if "Record review" in b.label).click()
    at.run()
    assert not at.exception
    assert any("reviewed: leak confirmed" in s.value for s in at.success)
    done = st.get_anomaly(chosen.id)
    assert (done.status, done.outcome, done.reviewed_by_name, done.review_note) == \
        ("reviewed", "leak_confirmed", "operations", "toilet cistern leaking")
    assert st.list_audit(action_prefix="anomaly.review").items[0].actor_name == "operations"
    assert st.list_anomalies(AnomalyFilter(status="open", method="zscore")).total == 0


def test_support_changes_a_phone_and_cannot_review_anomalies(flagged_url, monkeypatch, tmp_path):
    st = SqlStorage(flagged_url)
    at = signed_in(flagged_url, monkeypatch, tmp_path, "support", "ui/accounts.py")
    at.selectbox(key="ac_open").set_value(next(a for a in at.selectbox(key="ac_open").options
                                               if a.startswith("HS-100002")))
    next(b for b in at.button if b.key == "ac_open_btn").click()
    at.run()
    at.text_input(key="ct_phone").input("(415) 555-0199")
    next(b for b in at.button if "Save contact" in b.label).click()
    at.run()
    assert not at.exception and any("Contact of HS-100002 saved" in s.value for s in at.success)
    assert st.get_account(code="HS-100002").contact_phone == "(415) 555-0199"
    entry = st.list_audit(action_prefix="contact.update").items[0]
    assert entry.actor_name == "support" and entry.details["phone"] == {"old": "+14155550102", "new": "(415) 555-0199"}
    at.text_input(key="ct_phone").input("call me")
    next(b for b in at.button if "Save contact" in b.label).click()
    at.run()
    assert any("is not a phone number" in e.value for e in at.error)
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in Support's navigation
        at.switch_page(PAGE)


def test_the_customer_page_shows_usage_by_month_and_anomalies(flagged_url, monkeypatch, tmp_path):
    at = signed_in(flagged_url, monkeypatch, tmp_path, "operations", "ui/accounts.py")
    at.selectbox(key="ac_open").set_value(next(a for a in at.selectbox(key="ac_open").options
                                               if a.startswith("HS-100001")))
    next(b for b in at.button if b.key == "ac_open_btn").click()
    at.run()
    assert not at.exception
    assert "Usage" in [h.value for h in at.subheader]
    frames = [f.value.to_dict("records") for f in at.dataframe]
    months = next(f for f in frames if f and "zero days" in f[0])
    assert months[0]["month"] == f"{last_month().start:%Y-%m}"
    anomalies = next(f for f in frames if f and "method" in f[0])
    assert {r["method"] for r in anomalies} == {"2-sigma (mean + k sd)", "continuous flow"}
    # the anticipated bill of the next period, priced by the plan (services/billing/anticipated.py)
    assert any("Anticipated bill for" in plain(m.value) for m in at.markdown), [m.value for m in at.markdown]
