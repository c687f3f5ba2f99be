"""Water usage through the webhooks: POST /webhook/usage (days of usage or meter registers, all or
nothing, problems named rows[i].field, a repeat stores nothing) and a water meter's register on
POST /webhook/meter-reading (stored with the days it measured)."""
import datetime as dt
from decimal import Decimal as D

import pytest
from fastapi.testclient import TestClient

from services.accounts.api_auth import ApiAuthenticator
from services.api import create_app
from tests.api.conftest import TOKEN, build_svc
from tests.factories import make_water


@pytest.fixture
def water(storage, tmp_path):
    accounts = make_water(storage)["accounts"]  # July 2026
    return build_svc(storage, dt.date(2026, 11, 22), tmp_path), accounts


def client(svc, role: str) -> TestClient:
    auth = ApiAuthenticator(svc.db.storage, header_token=TOKEN, header_role=role)
    return TestClient(create_app(svc, authenticator=auth), headers={"Authorization": f"Bearer {TOKEN}"},
                      raise_server_exceptions=False)


def test_usage_rows_are_stored_once(water):
    svc, accounts = water
    api = client(svc, "field_engineer")
    rows = [{"customer": "HS0000001", "date": "2026-08-01", "usage_ccf": "0.40"},
            {"meter": "6100001", "date": "2026-08-01", "usage_ccf": "1.10"}]
    r = api.post("/webhook/usage", json={"rows": rows})
    assert r.status_code == 200, r.text
    assert (r.json()["stored"], r.json()["unchanged"], r.json()["customers"]) == (2, 0, 2)
    assert "2026-08" in r.json()["message"]  # detection ran for August
    r = api.post("/webhook/usage", json={"rows": rows})
    assert r.status_code == 200 and (r.json()["stored"], r.json()["unchanged"]) == (0, 2)
    assert "nothing new" in r.json()["message"]


def test_bad_rows_are_refused_whole_naming_the_row_and_field(water):
    svc, accounts = water
    api = client(svc, "field_engineer")
    r = api.post("/webhook/usage", json={"rows": [
        {"customer": "HS0000003", "date": "2026-08-01", "usage_ccf": "0.25"},
        {"customer": "HS0000001", "date": "2026-07-10", "usage_ccf": "0.90"},  # July 10 holds 0.50
        {"customer": "HS0000404", "date": "2026-08-01", "usage_ccf": "1"}]})
    assert r.status_code == 422
    fields = {f["field"] for f in r.json()["fields"]}
    assert fields == {"rows[1].usage_ccf", "rows[2].customer"}
    assert svc.db.storage.usage_days_present([accounts["HS0000003"]], dt.date(2026, 8, 1), dt.date(2026, 8, 1)) == set()
    assert client(svc, "support").post("/webhook/usage", json={"rows": [
        {"customer": "HS0000003", "date": "2026-08-01", "usage_ccf": "0.25"}]}).status_code == 403


def test_a_water_meter_reading_becomes_usage(water):
    svc, accounts = water
    api = client(svc, "field_engineer")
    first = api.post("/webhook/meter-reading", json={"meter_number": "6100002", "reading_value": "50.00",
                                                     "reading_date": "2026-08-01"})
    assert first.status_code == 200, first.text
    r = api.post("/webhook/meter-reading", json={"meter_number": "6100002", "reading_value": "52.00",
                                                 "reading_date": "2026-08-05"})
    assert r.status_code == 200 and r.json()["outcome"] == "stored"
    assert r.json()["reading"]["consumption"] == "2.00"
    got = svc.db.storage.list_daily_usage(accounts["HS0000003"], dt.date(2026, 8, 1), dt.date(2026, 8, 31))
    assert [(x.usage_date.day, x.quantity) for x in got] == [(2, D("0.50")), (3, D("0.50")), (4, D("0.50")), (5, D("0.50"))]
    again = api.post("/webhook/meter-reading", json={"meter_number": "6100002", "reading_value": "52.00",
                                                     "reading_date": "2026-08-05"})
    assert again.status_code == 200 and again.json()["reading"]["id"] == r.json()["reading"]["id"]
    assert "nothing new" in again.json()["message"]
