"""POST /webhook/meter-reading: validate, store, auto-bill clean readings, queue flagged ones."""
from __future__ import annotations

import datetime as dt

from services.models import BillFilter, ReadingFilter
from tests.api.conftest import make_client, seed_previous_reading

URL = "/webhook/meter-reading"


def counts(svc):
    return svc.db.storage.table_counts(["readings", "bills", "audit_log"])


def test_clean_reading_is_approved_billed_for_its_month_and_followed_up(svc, client):
    seed_previous_reading(svc)
    r = client.post(URL, json={"meter_number": "19152159", "reading_value": "10150", "reading_date": "2026-11-20"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["outcome"] == "billed"
    assert body["reading"]["status"] == "approved" and body["reading"]["consumption"] == "150.00"
    bill = body["bill"]
    # Calendar month of the reading date; due BILL_DUE_DAYS (15) after the month's last day.
    assert (bill["billing_period_start"], bill["billing_period_end"], bill["due_date"]) == \
        ("2026-11-01", "2026-11-30", "2026-12-15")
    assert bill["total_amount"] == "3274.00"  # 150 kWh x 12 + 1474 fixed (2BHK), exact decimal string
    assert bill["status"] == "pending"
    assert "Billed: bill" in body["message"]
    created = svc.events.created
    assert len(created) == 1 and created[0][0].id == bill["id"]
    stored = svc.db.get_reading(body["reading"]["id"])
    assert stored.source == "webhook" and stored.bill_id == bill["id"]


def test_same_reading_twice_returns_the_first_response_and_stores_nothing_new(svc, client):
    seed_previous_reading(svc)
    payload = {"meter_number": "19152159", "reading_value": 10150, "reading_date": "2026-11-20"}
    first = client.post(URL, json=payload)
    before = counts(svc)
    second = client.post(URL, json=payload)
    assert second.status_code == first.status_code == 200
    assert second.json() == first.json()
    assert counts(svc) == before  # no reading, no bill, not even an audit row
    assert len(svc.events.created) == 1


def test_auto_billing_off_leaves_a_clean_reading_in_the_review_queue(svc):
    client = make_client(svc, auto_billing=False)
    seed_previous_reading(svc)
    r = client.post(URL, json={"meter_number": "19152159", "reading_value": "10150", "reading_date": "2026-11-20"})
    body = r.json()
    assert r.status_code == 200 and body["outcome"] == "review" and body["bill"] is None
    assert "AUTO_BILLING=false" in body["message"]
    assert svc.db.get_reading(body["reading"]["id"]).status == "pending"
    assert svc.db.list_bills(BillFilter(account_id=svc.db.get_account("B17-FF").id)).total == 0
    pending = svc.db.list_pending_readings(ReadingFilter(), 0, 10)
    assert [x.id for x in pending.items] == [body["reading"]["id"]]


def test_flagged_reading_goes_to_review_with_its_reason_and_is_not_billed(svc, client):
    seed_previous_reading(svc)
    # Same register value 31 days later: zero consumption is flagged.
    r = client.post(URL, json={"meter_number": "19152159", "reading_value": "10000", "reading_date": "2026-11-20"})
    body = r.json()
    assert body["outcome"] == "review" and body["bill"] is None
    assert [f["code"] for f in body["reading"]["flags"]] == ["zero"]
    assert "Zero consumption" in body["message"] and "review queue" in body["message"]
    assert svc.db.get_reading(body["reading"]["id"]).status == "pending"
    assert svc.events.created == []


def test_first_reading_of_a_meter_is_flagged_not_billed(svc, client):
    r = client.post(URL, json={"meter_number": "19150001", "reading_value": "500", "reading_date": "2026-11-20"})
    assert r.json()["outcome"] == "review"
    assert r.json()["reading"]["flags"][0]["code"] == "no_history"


def test_field_engineer_reading_is_billed_by_the_auto_billing_identity(svc, storage):
    client = make_client(svc, role="field_engineer")
    seed_previous_reading(svc)
    body = client.post(URL, json={"meter_number": "19152159", "reading_value": "10150",
                                  "reading_date": "2026-11-20"}).json()
    assert body["outcome"] == "billed"
    entries = storage.list_audit(entity_type="bill", entity_id=str(body["bill"]["id"])).items
    assert {e.actor_name for e in entries} == {"auto-billing"}
    submitted = storage.list_audit(action_prefix="reading", limit=50).items
    assert "header-token" in {e.actor_name for e in submitted}  # the submitter stays on record


def test_second_reading_in_an_already_billed_month_waits_for_review(svc, client):
    seed_previous_reading(svc)
    client.post(URL, json={"meter_number": "19152159", "reading_value": "10150", "reading_date": "2026-11-10"})
    r = client.post(URL, json={"meter_number": "19152159", "reading_value": "10200", "reading_date": "2026-11-20"})
    body = r.json()
    assert body["outcome"] == "review" and "already has bill" in body["message"]
    assert svc.db.list_bills(BillFilter(account_id=svc.db.get_account("B17-FF").id)).total == 1


def test_reading_in_a_locked_month_is_refused_whole(svc, client):
    seed_previous_reading(svc, date=dt.date(2025, 10, 20))
    before = counts(svc)
    r = client.post(URL, json={"meter_number": "19152159", "reading_value": "10150", "reading_date": "2025-11-20"})
    assert r.status_code == 409
    assert r.json()["error"] == "period_locked"
    assert r.json()["message"].startswith("Billing period 2025-11 is locked:")
    assert counts(svc) == before


def test_locked_month_reading_is_stored_when_auto_billing_is_off(svc):
    client = make_client(svc, auto_billing=False)
    seed_previous_reading(svc, date=dt.date(2025, 10, 20))
    r = client.post(URL, json={"meter_number": "19152159", "reading_value": "10150", "reading_date": "2025-11-20"})
    assert r.status_code == 200 and r.json()["outcome"] == "review"


def test_service_refusals_name_the_field_and_store_nothing(svc, client):
    seed_previous_reading(svc)
    before = counts(svc)
    cases = [
        ({"meter_number": "19152159", "reading_value": "10150", "reading_date": "2026-12-01"}, "reading_date"),
        ({"meter_number": "99999999", "reading_value": "10150", "reading_date": "2026-11-20"}, "meter"),
        ({"meter_number": "19152159", "reading_value": "9000", "reading_date": "2026-11-20"}, "reading_value"),
    ]
    for payload, field in cases:
        r = client.post(URL, json=payload)
        assert r.status_code == 422, (payload, r.text)
        err = r.json()
        assert err["error"] == "validation_error"
        assert err["fields"][0]["field"] == field and err["fields"][0]["fix"], err
    assert counts(svc) == before


def test_malformed_bodies_get_field_errors_with_fixes(svc, client):
    seed_previous_reading(svc)
    before = counts(svc)
    cases = [
        ({"meter_number": "19152159"}, "reading_value", "Add this field."),
        ({"meter_number": "19152159", "reading_value": "abc"}, "reading_value", None),
        ({"meter_number": "19152159", "reading_value": -5}, "reading_value", None),
        ({"meter_number": "19152159", "reading_value": "10.555"}, "reading_value", "Round it to 2 decimal places."),
        ({"meter_number": "19152159", "reading_value": "1e400"}, "reading_value", None),
        ({"meter_number": "19152159", "reading_value": "1", "reading_date": "20-11-2026"}, "reading_date", None),
        ({"meter_number": "19152159", "reading_value": "1", "colour": "red"}, "colour", None),
        ({"meter_number": "19152159", "meter_id": 1, "reading_value": "1"}, "meter_number", None),
        ({"reading_value": "1"}, "meter_number", None),
        ({"meter_number": "", "reading_value": "1"}, "meter_number", None),
        ({"meter_id": "x", "reading_value": "1"}, "meter_id", "Send a whole number."),
    ]
    for payload, field, fix in cases:
        r = client.post(URL, json=payload)
        assert r.status_code == 422, (payload, r.text)
        fields = r.json()["fields"]
        assert field in [f["field"] for f in fields], (payload, fields)
        assert all(f["fix"] for f in fields)
        if fix:
            assert fix in [f["fix"] for f in fields]
    for raw in (b"{not json", b"[1, 2]", b""):
        r = client.post(URL, content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 422, raw
        assert r.json()["fields"][0]["field"] == "body" and r.json()["fields"][0]["fix"]
    assert counts(svc) == before


def test_meter_can_be_named_by_id(svc, client, society):
    seed_previous_reading(svc)
    r = client.post(URL, json={"meter_id": society["meters"]["19152159"], "reading_value": "10150.25",
                               "reading_date": "2026-11-20"})
    assert r.status_code == 200 and r.json()["reading"]["reading_value"] == "10150.25"


def test_an_earlier_pending_reading_holds_auto_billing_back_and_the_run_bills_both(svc, client):
    """Issue 11: a reading posted on 11-25 was billed (35.3 kWh) while the 11-20 reading waited for
    review; after approving that one the run said "already billed" and its 150 kWh were never billed.
    Now the 11-25 reading is approved but not billed (the response names the pending one), and the
    month's bill covers both."""
    from decimal import Decimal

    from tests.api.conftest import ADMIN

    seed_previous_reading(svc)
    waiting = svc.db.insert_meter_reading(meter_number="19152159", reading_value="10150", reading_date="2026-11-15",
                                          actor=ADMIN).reading  # in the review queue
    r = client.post(URL, json={"meter_number": "19152159", "reading_value": "10185.3", "reading_date": "2026-11-20"})
    body = r.json()
    assert r.status_code == 200 and body["outcome"] == "approved" and body["bill"] is None, body
    assert f"reading #{waiting.id} of 2026-11-15" in body["message"] and "waiting for review" in body["message"]
    assert svc.db.list_bills(BillFilter(account_id=svc.db.get_account("B17-FF").id)).total == 0
    svc.db.approve_reading(waiting.id, actor=ADMIN)
    run = svc.db.generate_bills_for_month("2026-11-01", "2026-11-30", "2026-12-15", actor=ADMIN)
    bill = svc.db.list_bills(BillFilter(account_id=svc.db.get_account("B17-FF").id)).items[0]
    assert run.created == 1 and bill.units == Decimal("185.30")  # 150 + 35.3, each unit once
    assert svc.db.get_reading(waiting.id).bill_id == svc.db.get_reading(body["reading"]["id"]).bill_id == bill.id


def test_webhook_check_says_the_token_works_and_stores_nothing(svc, client):
    from tests.api.conftest import make_client

    before = svc.db.storage.list_audit().total
    r = client.get("/webhook/meter-reading/test")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "webhook": "/webhook/meter-reading", "authenticated_as": r.json()["authenticated_as"],
                        "role": "admin", "method": "header_token",
                        "message": "The token works: POST readings to /webhook/meter-reading."}
    engineer = make_client(svc, role="field_engineer").get("/webhook/meter-reading/test")
    assert engineer.status_code == 200 and engineer.json()["role"] == "field_engineer"
    client.headers["Authorization"] = "Bearer wrong-token-0123456789abcdefghijklmnopq"
    assert client.get("/webhook/meter-reading/test").status_code == 401
    del client.headers["Authorization"]
    assert client.get("/webhook/meter-reading/test").status_code == 401
    assert svc.db.storage.list_audit().total == before
