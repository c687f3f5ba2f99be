"""Payment links through the real stripe SDK, pointed at a loopback Stripe API."""
from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from services.integrations.stripe_payments import PaymentLinkError, StripePaymentLinks, StripeSettings
from tests.api.conftest import make_bill
from tests.api.stripe_server import API_KEY


def provider(stripe_api, retries=0) -> StripePaymentLinks:
    return StripePaymentLinks(StripeSettings(API_KEY, None, stripe_api.base, timeout_seconds=5, max_retries=retries))


def test_link_for_the_balance_carries_bill_id_and_amount(svc, stripe_api):
    bill = make_bill(svc)
    link = provider(stripe_api).create_payment_link(bill)
    assert link.link_id == "plink_1" and link.url == "https://buy.stripe.test/plink_1"
    (req,) = stripe_api.requests_to("POST", "/v1/payment_links")
    f = req.form
    assert f["line_items[0][price_data][currency]"] == "inr"
    assert f["line_items[0][price_data][unit_amount]"] == "327400"  # paise, exact
    assert f["line_items[0][quantity]"] == "1"
    assert "B17-FF" in f["line_items[0][price_data][product_data][name]"]
    assert (f["metadata[bill_id]"], f["metadata[amount_minor]"], f["metadata[currency]"]) == (str(bill.id), "327400", "inr")
    assert f["payment_intent_data[metadata][bill_id]"] == str(bill.id)
    assert f["restrictions[completed_sessions][limit]"] == "1"
    assert req.headers["Idempotency-Key"] == f"meterline-bill-{bill.id}-327400"
    assert req.headers["Authorization"] == f"Bearer {API_KEY}"


def test_same_bill_and_amount_reuses_the_link(svc, stripe_api):
    bill = make_bill(svc)
    p = provider(stripe_api)
    first = p.create_payment_link(bill)
    stored = dataclasses.replace(bill, payment_link_id=first.link_id, payment_link_url=first.url)
    assert p.create_payment_link(stored) == first
    assert len(stripe_api.requests_to("POST", "/v1/payment_links")) == 1  # only a GET the second time
    assert len(stripe_api.requests_to("GET", "/v1/payment_links/plink_1")) == 1


def test_changed_balance_gets_a_new_link_and_the_old_one_is_switched_off(svc, stripe_api):
    bill = make_bill(svc)
    p = provider(stripe_api)
    first = p.create_payment_link(bill)
    svc.db.record_payment(bill.id, "1000", method="cash")
    part_paid = dataclasses.replace(svc.db.get_bill(bill.id), payment_link_id=first.link_id)
    second = p.create_payment_link(part_paid)
    assert second.link_id == "plink_2"
    assert stripe_api.state.links["plink_2"]["metadata"]["amount_minor"] == "227400"
    assert stripe_api.state.links["plink_1"]["active"] is False


def test_nothing_to_pay_makes_no_link(svc, stripe_api):
    bill = make_bill(svc)
    svc.db.mark_bill_paid(bill.id)
    assert provider(stripe_api).create_payment_link(svc.db.get_bill(bill.id)) is None
    assert stripe_api.state.requests == []


def test_stripe_down_raises_a_clear_error_after_retries(svc, stripe_api):
    bill = make_bill(svc)
    stripe_api.fail_next(10)
    with pytest.raises(PaymentLinkError) as e:
        provider(stripe_api, retries=1).create_payment_link(bill)
    assert f"bill {bill.id}" in str(e.value) and "The bill is stored" in str(e.value)
    assert len(stripe_api.requests_to("POST", "/v1/payment_links")) == 2  # first try + one retry
    # The SDK's retry reused the idempotency key, so Stripe could never make two links.
    keys = {r.headers["Idempotency-Key"] for r in stripe_api.requests_to("POST", "/v1/payment_links")}
    assert len(keys) == 1


def test_wired_from_the_environment(monkeypatch, tmp_path, stripe_api):
    from services.container import build_services
    from services.integrations.base import NoPaymentLinks

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("PHOTO_DIR", str(tmp_path / "photos"))
    assert isinstance(build_services().payment_links, NoPaymentLinks)
    monkeypatch.setenv("STRIPE_API_KEY", API_KEY)
    monkeypatch.setenv("STRIPE_API_BASE", stripe_api.base)
    svc = build_services()
    assert isinstance(svc.payment_links, StripePaymentLinks) and svc.payment_links.name == "stripe"


def test_meter_reading_to_bill_to_stored_payment_link_end_to_end(monkeypatch, tmp_path, stripe_api):
    """Seed 001 flow 1 with the real wiring: reading -> bill -> Stripe link stored on the bill."""
    import datetime as dt

    from fastapi.testclient import TestClient

    from services.api import create_app
    from services.clock import today
    from services.container import build_services
    from tests.api.conftest import TOKEN
    from tests.factories import ADMIN, make_society

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'e2e.db'}")
    monkeypatch.setenv("PHOTO_DIR", str(tmp_path / "photos"))
    monkeypatch.setenv("STRIPE_API_KEY", API_KEY)
    monkeypatch.setenv("STRIPE_API_BASE", stripe_api.base)
    monkeypatch.setenv("HEADER_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("HEADER_AUTH_ROLE", "admin")
    svc = build_services()
    make_society(svc.db.storage)
    day = today()
    if day.day == 1:  # keep both readings in real dates before today, in one month
        day -= dt.timedelta(days=1)
    prev = svc.db.insert_meter_reading(meter_number="19152159", reading_value="10000",
                                       reading_date=day - dt.timedelta(days=30), actor=ADMIN)
    svc.db.approve_reading(prev.reading.id, actor=ADMIN)
    client = TestClient(create_app(svc), headers={"Authorization": f"Bearer {TOKEN}"})
    r = client.post("/webhook/meter-reading", json={"meter_number": "19152159", "reading_value": "10150",
                                                    "reading_date": day.isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["outcome"] == "billed"
    bill = svc.db.get_bill(body["bill"]["id"])
    assert bill.payment_link_url and bill.payment_link_url.startswith("https://buy.stripe.test/plink_")
    assert body["payment_link_url"] == bill.payment_link_url
    (req,) = stripe_api.requests_to("POST", "/v1/payment_links")
    assert req.form["metadata[bill_id]"] == str(bill.id)
    assert Decimal(req.form["line_items[0][price_data][unit_amount]"]) == bill.total_amount * 100
    # The notifications log shows what happened to the bill's message (skipped: no channel set up).
    assert body["notifications"] and {n["status"] for n in body["notifications"]} <= {"skipped", "sent", "failed"}
