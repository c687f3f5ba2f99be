"""The water usage endpoints: anomalies (Operations and admins only), a customer's usage by day and
by month, the forecast and the analytics; 403 before anything is told, 404 for no such customer."""
import datetime as dt
from decimal import Decimal as D

import pytest
from fastapi.testclient import TestClient

from services.accounts.api_auth import ApiAuthenticator
from services.accounts.roles import SYSTEM
from services.api import create_app
from services.readings.anomalies import DetectionParams
from tests.api.conftest import TOKEN, build_svc
from tests.factories import make_water


@pytest.fixture
def water_svc(storage, tmp_path):
    accounts = make_water(storage, dt.date(2025, 7, 1), 500)["accounts"]  # to 2026-11-12
    svc = build_svc(storage, dt.date(2026, 11, 22), tmp_path)
    svc.db.detect_usage_anomalies(dt.date(2026, 11, 1), dt.date(2026, 11, 12),
                                  DetectionParams(methods=("high_read",)), actor=SYSTEM)
    return svc, accounts


def client(svc, role: str) -> TestClient:
    auth = ApiAuthenticator(svc.db.storage, header_token=TOKEN, header_role=role)
    return TestClient(create_app(svc, authenticator=auth), headers={"Authorization": f"Bearer {TOKEN}"})


def test_usage_by_day_and_month_forecast_and_analytics(water_svc):
    svc, accounts = water_svc
    a = accounts["HS0000002"]  # 1.0 CCF every day
    api = client(svc, "support")
    r = api.get(f"/api/customers/{a}/usage", params={"start": "2026-11-01", "end": "2026-11-30"})
    assert r.status_code == 200 and len(r.json()["days"]) == 12 and r.json()["days"][0] == {"date": "2026-11-01",
                                                                                          "usage": "1.00"}
    r = api.get(f"/api/customers/{a}/usage", params={"start": "2026-09-01", "end": "2026-10-31",
                                                     "granularity": "monthly"})
    assert [(m["month"], m["usage"]) for m in r.json()["months"]] == [("2026-09", "30.00"), ("2026-10", "31.00")]
    r = api.get(f"/api/usage/forecast/{a}")
    body = r.json()
    assert r.status_code == 200 and body["method"] == "seasonal_regression" and body["period_start"] == "2026-11-01"
    assert D(body["measured"]) == D("12.00") and body["measured_days"] == 12 and abs(D(body["expected"]) - 30) < 1
    r = api.get(f"/api/usage/analytics/{a}")
    body = r.json()
    assert r.status_code == 200 and body["latest_month"] == "2026-10" and D(body["trend_percent"]) == D("0.0")  # Aug-Oct 92 days = May-Jul 92 days
    assert body["same_month_last_year"]["month"] == "2025-10" and body["same_month_last_year"]["usage"] == "31.00"
    assert body["average_monthly"] == "30.46"  # 396 days in the 13 full months 2025-10 .. 2026-10
    assert api.get("/api/usage/forecast/999999").status_code == 404
    assert api.get("/api/customers/999999/usage").status_code == 404
    bad = api.get(f"/api/customers/{a}/usage", params={"start": "2026-11-30", "end": "2026-11-01"})
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "start"


def test_anomalies_for_operations_only(water_svc):
    svc, accounts = water_svc
    assert client(svc, "support").get("/api/usage/anomalies").status_code == 403
    assert client(svc, "billing").get("/api/usage/anomalies").status_code == 403
    assert client(svc, "field_engineer").get(f"/api/usage/forecast/{accounts['HS0000001']}").status_code == 403
    r = client(svc, "operations").get("/api/usage/anomalies", params={"status": "all", "method": "high_read"})
    assert r.status_code == 200 and r.json()["total"] == 0 and r.json()["items"] == []
    assert client(svc, "operations").get("/api/usage/anomalies", params={"method": "nope"}).status_code == 422


def test_the_anticipated_bill(water_svc):
    svc, accounts = water_svc
    a = accounts["HS0000002"]
    api = client(svc, "support")
    r = api.get(f"/api/customers/{a}/forecast")
    body = r.json()
    assert r.status_code == 200 and body["period_start"] == "2026-11-01" and body["plan_code"]
    assert D(body["amount_low"]) <= D(body["amount"]) <= D(body["amount_high"])
    assert sum(D(x["amount"]) for x in body["lines"]) == D(body["amount"])
    assert D(body["amount"]) == svc.db.anticipated_bill(a, actor=SYSTEM).amount
    assert api.get("/api/customers/999999/forecast").status_code == 404
    assert client(svc, "field_engineer").get(f"/api/customers/{a}/forecast").status_code == 403
