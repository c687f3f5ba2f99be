"""Bills, scheduler and health endpoints; authentication on everything but /health and /webhook/stripe."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from tests.api.conftest import TOKEN, make_bill, make_client, seed_previous_reading
from services.models import BillFilter
from tests.factories import ADMIN

PROTECTED = [
    ("POST", "/webhook/meter-reading", {"meter_number": "19152159", "reading_value": "1"}),
    ("GET", "/api/bills/1", None),
    ("GET", "/api/bills/customer/1", None),
    ("PUT", "/api/bills/1/status", {"status": "paid"}),
    ("GET", "/api/scheduler/status", None),
    ("POST", "/api/scheduler/jobs/overdue_marking/run", None),
]


@pytest.mark.parametrize("header", [None, "", "Bearer", f"Basic {TOKEN}", "Bearer wrong-token",
                                    f"Bearer {TOKEN}x", "Bearer a.b.c"])
def test_every_protected_endpoint_needs_a_valid_token(svc, header):
    make_bill(svc)
    client = make_client(svc)
    before = svc.db.storage.table_counts(["readings", "payments", "job_runs", "audit_log"])
    for method, url, body in PROTECTED:
        headers = {"Authorization": header} if header is not None else {}
        if header is None:
            client.headers.pop("Authorization", None)
        r = client.request(method, url, json=body, headers=headers)
        assert r.status_code == 401, (method, url, header, r.text)
        assert r.json()["error"] == "authentication_required" and r.headers["www-authenticate"] == "Bearer"
    assert svc.db.storage.table_counts(["readings", "payments", "job_runs", "audit_log"]) == before


def test_api_refuses_everyone_when_no_authentication_is_configured(svc):
    from fastapi.testclient import TestClient

    from services.api import create_app
    from services.accounts.api_auth import ApiAuthenticator

    client = TestClient(create_app(svc, authenticator=ApiAuthenticator(svc.db.storage)))
    r = client.get("/api/bills/1", headers={"Authorization": "Bearer anything-at-all-0123456789abcdef"})
    assert r.status_code == 401 and "not configured" in r.json()["message"]
    assert client.get("/health").status_code == 200


def test_health_checks_the_database(svc, client, monkeypatch):
    from services.errors import StorageError

    client.headers.pop("Authorization")
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["database"] == "ok" and r.json()["backend"] == "sqlite"

    def down():
        raise StorageError("database is down")

    monkeypatch.setattr(svc.db.storage, "ping", down)
    r = client.get("/health")
    assert r.status_code == 503 and r.json()["status"] == "degraded"


def test_get_bill_has_every_input_and_its_payments(svc, client):
    bill = make_bill(svc)
    svc.db.record_payment(bill.id, "1000.50", method="upi", reference="UPI-1", actor=ADMIN)
    r = client.get(f"/api/bills/{bill.id}")
    assert r.status_code == 200
    b = r.json()
    assert (b["account_code"], b["total_amount"], b["amount_paid"], b["balance"], b["status"]) == \
        ("B17-FF", "3274.00", "1000.50", "2273.50", "partially_paid")
    assert (b["units"], b["fixed_charge"], b["previous_outstanding"]) == ("150.00", "1474.00", "0.00")
    assert b["rate_per_unit"].rstrip("0").rstrip(".") == "12"
    assert b["arithmetic_ok"] is True
    assert [(p["amount"], p["method"], p["reference"]) for p in b["payments"]] == [("1000.50", "upi", "UPI-1")]
    nf = client.get("/api/bills/424242")
    assert nf.status_code == 404 and nf.json()["error"] == "not_found"
    assert client.get("/api/bills/abc").json()["fields"][0]["field"] == "bill_id"
    assert client.get("/api/bills/0").status_code == 422


def test_field_engineer_cannot_read_bills(svc):
    bill = make_bill(svc)
    client = make_client(svc, role="field_engineer")
    assert client.get(f"/api/bills/{bill.id}").status_code == 403
    assert client.get("/api/bills/customer/1").status_code == 403
    assert client.get("/api/scheduler/status").status_code == 403
    assert client.post("/api/scheduler/jobs/overdue_marking/run").status_code == 403


def test_customer_bills_are_the_owners_flats_paginated(svc, client, society):
    bills = [make_bill(svc, month_start=dt.date(2026, month, 1)) for month in (8, 9, 10)]
    svc.db.mark_bill_paid(bills[0].id, actor=ADMIN)
    make_bill(svc, flat="A1-GF")  # another owner's
    owner = society["contacts"]["+910000000000"]  # Test Owner, B17-FF
    page1 = client.get(f"/api/bills/customer/{owner}", params={"limit": 2}).json()
    assert page1["total"] == 3 and page1["has_next"] is True and len(page1["items"]) == 2
    assert [b["billing_period_start"] for b in page1["items"]] == ["2026-10-01", "2026-09-01"]
    page2 = client.get(f"/api/bills/customer/{owner}", params={"limit": 2, "offset": 2}).json()
    assert [b["billing_period_start"] for b in page2["items"]] == ["2026-08-01"] and page2["has_next"] is False
    assert {b["contact_id"] for b in page1["items"] + page2["items"]} == {owner}
    paid = client.get(f"/api/bills/customer/{owner}", params={"status": ["paid"]}).json()
    assert [b["billing_period_start"] for b in paid["items"]] == ["2026-08-01"]
    both = client.get(f"/api/bills/customer/{owner}", params={"status": ["paid", "pending"]}).json()
    assert both["total"] == 3
    assert client.get("/api/bills/customer/999999").status_code == 404
    assert client.get(f"/api/bills/customer/{owner}", params={"limit": 500}).status_code == 422
    other = society["contacts"]["+919800000003"]
    assert client.get(f"/api/bills/customer/{other}").json() == \
        {"items": [], "offset": 0, "limit": 50, "total": 0, "has_next": False}


def test_scheduler_status_and_manual_run(svc, client):
    r = client.get("/api/scheduler/status")
    assert r.status_code == 200
    jobs = {j["id"]: j for j in r.json()}
    assert {"monthly_bills", "payment_reminders", "overdue_marking", "smart_meter_collection"} <= set(jobs)
    assert jobs["overdue_marking"]["last_run"] is None and jobs["overdue_marking"]["next_run"]
    run = client.post("/api/scheduler/jobs/overdue_marking/run")
    assert run.status_code == 200, run.text
    assert run.json()["started"] is True and run.json()["run"]["status"] == "completed"
    again = client.post("/api/scheduler/jobs/overdue_marking/run")
    assert again.status_code == 409 and again.json()["started"] is False
    last = {j["id"]: j for j in client.get("/api/scheduler/status").json()}["overdue_marking"]["last_run"]
    assert last["status"] == "completed" and last["counts"]["run_by"] == "header-token"
    missing = client.post("/api/scheduler/jobs/no_such_job/run")
    assert missing.status_code == 404 and "no_such_job" in missing.json()["message"]


def test_unknown_route_and_method_are_json(client):
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    r = client.delete("/api/bills/1")
    assert r.status_code == 405 and r.json()["error"] == "method_not_allowed"


def test_openapi_document_lists_the_endpoints_and_bearer_scheme(client):
    doc = client.get("/openapi.json").json()
    assert {"/health", "/webhook/meter-reading", "/webhook/stripe", "/api/bills/{bill_id}",
            "/api/bills/customer/{contact_id}", "/api/bills/{bill_id}/status", "/api/scheduler/status",
            "/api/scheduler/jobs/{job_id}/run"} <= set(doc["paths"])
    assert doc["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    assert "security" not in doc["paths"]["/health"]["get"]
    assert "security" not in doc["paths"]["/webhook/stripe"]["post"]


def test_bill_detail_has_its_lines_and_the_plan_that_priced_it(svc, client):
    from decimal import Decimal as D

    bill = make_bill(svc, units=150)
    b = client.get(f"/api/bills/{bill.id}").json()
    assert (b["plan_code"], b["plan_version"], b["service"], b["area_path"]) == ("society-electricity", 1,
                                                                                  "electricity", "B/FF")
    assert [(ln["code"], ln["amount"]) for ln in b["lines"]] == [("energy", "1800.00"), ("fixed", "1474.00")]
    assert sum(D(ln["amount"]) for ln in b["lines"]) == D(b["total_amount"]) and b["arithmetic_ok"] is True
    assert (b["flat_code"], b["flat_units"]) == (b["account_code"], b["units"])  # the society's names still answer


def test_generate_can_estimate_flats_with_no_reading(svc, client):
    """POST /api/bills/generate with estimate: B17-FF read 10000 on Aug 20 and 10090 on Sep 19 (3 kWh a
    day), nothing in October: billed 31 x 3 = 93 kWh, marked estimated."""
    seed_previous_reading(svc, value="10000", date=dt.date(2026, 8, 20))
    seed_previous_reading(svc, value="10090", date=dt.date(2026, 9, 19))
    plain = client.post("/api/bills/generate", json={"period": "2026-10"})
    assert plain.status_code == 200 and (plain.json()["created"], plain.json()["estimated"]) == (0, 0), plain.text
    r = client.post("/api/bills/generate", json={"period": "2026-10", "estimate": True})
    assert r.status_code == 200 and (r.json()["created"], r.json()["estimated"]) == (1, 1), r.text
    bill = svc.db.list_bills(BillFilter(period_month="2026-10")).items[0]
    assert bill.units == Decimal("93.00") and bill.tariff_details["estimate"]["estimated"]
