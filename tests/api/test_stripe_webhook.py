"""POST /webhook/stripe: signature on the raw body, one payment per Checkout Session, amount and
currency checked against the bill, every event stored once, any order gives the same result."""
from __future__ import annotations

import logging
import time
from decimal import Decimal

import pytest

from tests.api.conftest import WEBHOOK_SECRET, make_bill, make_client, post_event, session_event, sign


def written(svc, bill_id):
    st = svc.db.storage
    return (st.list_payments(bill_id), st.list_payment_events(limit=500).items)


@pytest.fixture
def bill(svc):
    return make_bill(svc)  # 150 kWh x 12 + 1474 = 3274.00


def test_paid_session_marks_the_bill_paid_and_confirms_once(svc, client, bill):
    r = post_event(client, session_event(bill.id, 327400))
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "applied" and r.json()["bill_status"] == "paid"
    payments, events = written(svc, bill.id)
    assert [(p.amount, p.method, p.external_id) for p in payments] == [(Decimal("3274.00"), "stripe", "cs_test_1")]
    assert [(e.stripe_event_id, e.outcome, e.amount, e.currency) for e in events] == \
        [("evt_1", "applied", Decimal("3274.00"), "inr")]
    assert len(svc.events.paid) == 1 and svc.events.paid[0][0].bill.status == "paid"


def test_one_event_replayed_100_times_pays_once(svc, client, bill):
    payload = session_event(bill.id, 327400)
    answers = [post_event(client, payload, sign(payload)).json() for _ in range(100)]
    assert {a["outcome"] for a in answers} == {"applied"}
    assert [a["redelivered"] for a in answers] == [False] + [True] * 99
    payments, events = written(svc, bill.id)
    assert len(payments) == 1 and len(events) == 1
    assert svc.db.get_bill(bill.id).amount_paid == Decimal("3274.00")
    assert len(svc.events.paid) == 1


def test_forged_signature_is_refused_and_writes_nothing_but_a_log_line(svc, client, bill, caplog):
    payload = session_event(bill.id, 327400)
    before = svc.db.storage.table_counts(["payments", "payment_events", "audit_log", "notifications"])
    with caplog.at_level(logging.WARNING, logger="meterline.stripe"):
        forged = post_event(client, payload, sign(payload, secret="whsec_someone_else"))
        tampered = post_event(client, payload.replace("327400", "100"), sign(payload))
        missing = client.post("/webhook/stripe", content=payload, headers={"Content-Type": "application/json"})
        garbage = post_event(client, payload, "t=abc,v1=zzz")
    for r in (forged, tampered, missing, garbage):
        assert r.status_code == 400 and r.json()["error"] == "bad_signature", r.text
    assert svc.db.storage.table_counts(["payments", "payment_events", "audit_log", "notifications"]) == before
    assert svc.db.get_bill(bill.id).status == "pending"
    assert sum("stripe webhook refused" in m for m in caplog.messages) == 4


def test_stale_timestamp_is_refused(svc, client, bill):
    payload = session_event(bill.id, 327400)
    r = post_event(client, payload, sign(payload, timestamp=int(time.time()) - 301))
    assert r.status_code == 400 and "tolerance" in r.json()["message"]
    assert written(svc, bill.id) == ([], [])
    fresh = post_event(client, payload, sign(payload, timestamp=int(time.time()) - 240))
    assert fresh.status_code == 200 and fresh.json()["outcome"] == "applied"


def test_amount_mismatch_is_refused_and_logged(svc, client, bill, caplog):
    with caplog.at_level(logging.WARNING, logger="meterline.stripe"):
        r = post_event(client, session_event(bill.id, 100000, link_amount_minor=327400))
    assert r.status_code == 200 and r.json()["outcome"] == "refused_amount"
    assert "link was made for 3274.00" in r.json()["message"]
    payments, events = written(svc, bill.id)
    assert payments == [] and [(e.outcome, e.bill_id, e.amount) for e in events] == \
        [("refused_amount", bill.id, Decimal("1000.00"))]
    assert svc.db.get_bill(bill.id).status == "pending" and svc.events.paid == []
    assert any("refused_amount" in m for m in caplog.messages)


def test_more_than_the_balance_is_refused(svc, client, bill):
    svc.db.record_payment(bill.id, "1000", method="cash")
    r = post_event(client, session_event(bill.id, 327400))  # the link predates the cash payment
    assert r.json()["outcome"] == "refused_amount" and "only owes 2274.00" in r.json()["message"]
    assert svc.db.get_bill(bill.id).amount_paid == Decimal("1000.00")


def test_other_currency_is_refused(svc, client, bill):
    r = post_event(client, session_event(bill.id, 327400, currency="usd"))
    assert r.json()["outcome"] == "refused_currency"
    assert svc.db.storage.list_payments(bill.id) == []


def test_part_payment_makes_the_bill_partially_paid(svc, client, bill):
    r = post_event(client, session_event(bill.id, 100000))
    assert r.json()["outcome"] == "applied" and r.json()["bill_status"] == "partially_paid"
    assert svc.db.get_bill(bill.id).balance == Decimal("2274.00")


@pytest.mark.parametrize("order", [(0, 1), (1, 0)])
def test_two_part_payments_in_either_order_give_the_same_bill(svc, client, bill, order):
    events = [session_event(bill.id, 100000, event_id="evt_a", session_id="cs_a"),
              session_event(bill.id, 227400, event_id="evt_b", session_id="cs_b")]
    for i in order:
        assert post_event(client, events[i]).json()["outcome"] == "applied"
    for i in order:  # and redelivered afterwards
        assert post_event(client, events[i]).json()["redelivered"] is True
    b = svc.db.get_bill(bill.id)
    assert (b.status, b.amount_paid) == ("paid", Decimal("3274.00"))
    assert sorted(p.external_id for p in svc.db.storage.list_payments(bill.id)) == ["cs_a", "cs_b"]


@pytest.mark.parametrize("order", [("completed", "succeeded"), ("succeeded", "completed")])
def test_delayed_payment_events_in_either_order_pay_once(svc, client, bill, order):
    completed = session_event(bill.id, 327400, event_id="evt_c", payment_status="unpaid")
    succeeded = session_event(bill.id, 327400, event_id="evt_s", etype="checkout.session.async_payment_succeeded")
    by_name = {"completed": completed, "succeeded": succeeded}
    outcomes = [post_event(client, by_name[n]).json()["outcome"] for n in order]
    assert sorted(outcomes) == ["applied", "awaiting_payment"]
    b = svc.db.get_bill(bill.id)
    assert (b.status, len(svc.db.storage.list_payments(bill.id))) == ("paid", 1)


def test_two_events_for_one_session_pay_once(svc, client, bill):
    first = session_event(bill.id, 327400, event_id="evt_1")
    second = session_event(bill.id, 327400, event_id="evt_2", etype="checkout.session.async_payment_succeeded")
    assert post_event(client, first).json()["outcome"] == "applied"
    assert post_event(client, second).json()["outcome"] == "duplicate"
    assert len(svc.db.storage.list_payments(bill.id)) == 1 and len(svc.events.paid) == 1


def test_unrelated_and_unmatched_events_are_acknowledged_and_stored(svc, client, bill):
    other = post_event(client, session_event(bill.id, 327400, event_id="evt_x", etype="customer.created"))
    assert other.status_code == 200 and other.json()["outcome"] == "ignored"
    unknown = post_event(client, session_event(987654, 327400, event_id="evt_y", session_id="cs_y"))
    assert unknown.json()["outcome"] == "unmatched" and unknown.json()["bill_id"] is None
    failed = post_event(client, session_event(bill.id, 327400, event_id="evt_z",
                                              etype="checkout.session.async_payment_failed"))
    assert failed.json()["outcome"] == "payment_failed"
    assert svc.db.storage.list_payments(bill.id) == []
    assert len(svc.db.storage.list_payment_events().items) == 3


def test_carried_forward_bill_refuses_a_late_payment(svc, client, bill):
    import datetime as dt

    from tests.factories import ADMIN

    svc.db.create_bill("B17-FF", dt.date(2026, 11, 1), dt.date(2026, 11, 30), dt.date(2026, 12, 15),
                       flat_units=10, actor=ADMIN)  # absorbs the October balance
    r = post_event(client, session_event(bill.id, 327400))
    assert r.json()["outcome"] == "refused_state" and "carried forward" in r.json()["message"]
    assert svc.db.get_bill(bill.id).status == "carried_forward"


def test_webhook_without_a_configured_secret_is_unavailable(svc, bill):
    client = make_client(svc, secret=None)
    payload = session_event(bill.id, 327400)
    r = post_event(client, payload)
    assert r.status_code == 503 and "STRIPE_WEBHOOK_SECRET" in r.json()["message"]
    assert written(svc, bill.id) == ([], [])


def test_signed_body_that_is_not_an_event_is_refused(svc, client):
    for body in ("not json", "[1,2]", '{"object": "event"}'):
        r = post_event(client, body, sign(body, WEBHOOK_SECRET))
        assert r.status_code == 400, body
    assert svc.db.storage.list_payment_events().items == []
