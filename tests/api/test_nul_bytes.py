"""Never a 500 for bad input: a NUL character (\\x00), which PostgreSQL cannot store or compare in
text, in any text field of the API, in a Stripe event, or in a search, on SQLite and PostgreSQL.

The API answers 4xx naming the field (422), the services refuse it with a ValidationError naming
the field (what the app's pages show), and a signed Stripe event carrying one is acknowledged
with 200 (so Stripe stops retrying), recorded in payment_events as `refused_invalid`, and logged.
"""
from __future__ import annotations

import json
import logging

import pytest

from services.errors import ValidationError
from services.models import BillFilter, ReadingFilter
from services.storage.sql_backend import SqlStorage
from tests.api.conftest import build_svc, make_bill, make_client, post_event, seed_previous_reading, session_event
from tests.factories import ADMIN, make_society

NUL = "\x00"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def svc(request, tmp_path, today):
    url = request.getfixturevalue("pg_server").fresh_url() if request.param == "postgresql" \
        else f"sqlite:///{tmp_path / 'nul.db'}"
    storage = SqlStorage(url)
    make_society(storage)
    yield build_svc(storage, today, tmp_path)
    storage.dispose()


@pytest.fixture
def client(svc):
    return make_client(svc)


def field_names(response) -> list[str]:
    return [f["field"] for f in response.json()["fields"]]


READING = {"meter_number": "19152159", "reading_value": "10150", "reading_date": "2026-11-20",
           "motor_reading_value": "5", "motor_share": "1"}


@pytest.mark.parametrize("field", sorted(READING))
def test_nul_in_any_meter_reading_field(svc, client, field):
    seed_previous_reading(svc)
    body = {**READING, field: READING[field][:2] + NUL + READING[field][2:]}
    r = client.post("/webhook/meter-reading", json=body)
    assert r.status_code == 422, r.text
    assert field in field_names(r)


def test_nul_in_a_field_name(svc, client):
    r = client.post("/webhook/meter-reading", json={**READING, "note" + NUL: "x"})
    assert r.status_code == 422 and r.json()["error"] == "validation_error"


STATUS = {"status": "cancelled", "reason": "raised in error", "payment_method": "cash", "paid_on": "2026-11-20"}


@pytest.mark.parametrize("field", sorted(STATUS))
def test_nul_in_any_bill_status_field(svc, client, field):
    bill = make_bill(svc)
    r = client.put(f"/api/bills/{bill.id}/status", json={**STATUS, field: STATUS[field][:3] + NUL + STATUS[field][3:]})
    assert r.status_code == 422, r.text
    assert field in field_names(r)
    assert svc.db.get_bill(bill.id).status == "pending"


def test_nul_in_the_status_reason_names_reason(svc, client):
    bill = make_bill(svc)
    r = client.put(f"/api/bills/{bill.id}/status", json={"status": "cancelled", "reason": "typo" + NUL + " in bill"})
    assert r.status_code == 422 and field_names(r) == ["reason"], r.text
    assert "NUL" in r.json()["message"]


@pytest.mark.parametrize("path", ["/api/bills/1%00", "/api/bills/customer/1%00", "/api/bills/customer/1?status=pa%00id",
                                  "/api/scheduler/jobs/monthly%00bills/run"])
def test_nul_in_path_and_query_parameters(svc, client, path):
    r = client.request("POST" if path.endswith("/run") else "GET", path)
    assert 400 <= r.status_code < 500, (path, r.status_code, r.text)


def test_nul_in_searches_is_refused_naming_the_field(svc):
    """The app's search boxes: the bills page, the meter finder, the review and billing filters."""
    db = svc.db
    cases = [
        (lambda: db.list_bills(BillFilter(search="B17" + NUL), actor=ADMIN), "search"),
        (lambda: db.list_bills(BillFilter(category="2BHK" + NUL), actor=ADMIN), "category"),
        (lambda: db.list_active_meters("1915" + NUL), "search"),
        (lambda: db.list_pending_readings(ReadingFilter(account_code="B1" + NUL), actor=ADMIN), "account_code"),
        (lambda: db.get_account("B17-FF" + NUL), "account"),
    ]
    for call, field in cases:
        with pytest.raises(ValidationError) as exc:
            call()
        assert exc.value.field == field and "NUL" in exc.value.message


def test_nul_in_service_text_is_refused_before_anything_is_stored(svc):
    bill = make_bill(svc)
    before = svc.db.storage.table_counts(["audit_log", "payments"])
    with pytest.raises(ValidationError) as exc:
        svc.db.change_bill_status(bill.id, "cancelled", "typo" + NUL, actor=ADMIN)
    assert exc.value.field == "reason"
    with pytest.raises(ValidationError) as exc:
        svc.db.record_payment(bill.id, "10", method="cash", reference="UPI" + NUL, actor=ADMIN)
    assert exc.value.field == "reference"
    assert svc.db.storage.table_counts(["audit_log", "payments"]) == before


# ---- Stripe ----------------------------------------------------------------------------------
def nul_event(bill_id: int, where: str, event_id: str = "evt_nul") -> str:
    event = json.loads(session_event(bill_id, 327400, event_id=event_id, session_id="cs_nul"))
    obj = event["data"]["object"]
    if where == "metadata.bill_id":
        obj["metadata"]["bill_id"] = f"{bill_id}{NUL}"
    elif where == "metadata.note":
        obj["metadata"]["note"] = "paid by" + NUL + "cheque"
    elif where == "metadata key":
        obj["metadata"]["no" + NUL + "te"] = "x"
    elif where == "currency":
        obj["currency"] = "in" + NUL + "r"
    elif where == "session id":
        obj["id"] = "cs_" + NUL
    elif where == "event id":
        event["id"] = event_id + NUL
    return json.dumps(event)


@pytest.mark.parametrize("where", ["metadata.bill_id", "metadata.note", "metadata key", "currency", "session id",
                                   "event id"])
def test_stripe_event_with_nul_is_acknowledged_recorded_and_logged(svc, client, where, caplog):
    bill = make_bill(svc)
    payload = nul_event(bill.id, where)
    with caplog.at_level(logging.WARNING, logger="meterline.stripe"):
        first = post_event(client, payload)
        again = post_event(client, payload)
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "refused_invalid" and "NUL" in first.json()["message"]
    assert again.status_code == 200 and again.json()["outcome"] == "refused_invalid" and again.json()["redelivered"]
    (event,) = svc.db.storage.list_payment_events(limit=10).items
    assert event.outcome == "refused_invalid" and NUL not in json.dumps(event.event_data)
    assert not svc.db.storage.list_payments(bill.id) and svc.db.get_bill(bill.id).status == "pending"
    assert any("refused_invalid" in m for m in caplog.messages)


def test_stripe_session_already_recorded_on_another_bill_is_refused(svc, client):
    """A signed event naming bill B for a Checkout Session already paid on bill A: no TypeError, no
    second payment; 200, recorded as refused_duplicate_session."""
    first, second = make_bill(svc), make_bill(svc, flat="A1-GF")
    assert post_event(client, session_event(first.id, 327400, event_id="evt_a", session_id="cs_shared")).json()[
        "outcome"] == "applied"
    other_total = int(second.total_amount * 100)
    r = post_event(client, session_event(second.id, other_total, event_id="evt_b", session_id="cs_shared"))
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["outcome"] == "refused_duplicate_session" and out["bill_id"] == second.id
    assert f"bill {first.id}" in out["message"]
    assert not svc.db.storage.list_payments(second.id) and svc.db.get_bill(second.id).status == "pending"
    events = {e.stripe_event_id: e.outcome for e in svc.db.storage.list_payment_events(limit=10).items}
    assert events == {"evt_a": "applied", "evt_b": "refused_duplicate_session"}
    again = post_event(client, session_event(second.id, other_total, event_id="evt_b", session_id="cs_shared"))
    assert again.json()["outcome"] == "refused_duplicate_session" and again.json()["redelivered"]
