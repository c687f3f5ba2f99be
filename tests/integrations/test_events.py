"""Billing events: payment link then notifications; the bill always stays stored."""
from decimal import Decimal

from services.container import build_services
from services.integrations.base import NoAdvisor, NoRemotePhotos, PaymentLink
from services.integrations.events import NotifyingEvents
from services.accounts.roles import SYSTEM
from tests.integrations.conftest import discord_config, new_bill, whatsapp_config
from tests.integrations.fakeserver import Reply


class Links:
    name = "test"

    def __init__(self, fail: bool = False):
        self.fail, self.calls = fail, []

    def create_payment_link(self, bill):
        self.calls.append(bill.id)
        if self.fail:
            raise ConnectionError("stripe unreachable")
        return PaymentLink(f"plink_{bill.id}", f"https://pay.example/b/{bill.id}")


def notes(svc, **kw):
    return svc.db.storage.list_notifications(**kw).items


def test_bill_created_stores_link_and_notifies(make_svc, server, admin):
    server.default = Reply(200, {"id": "42"})
    svc = make_svc(**discord_config(server))
    svc.payment_links = links = Links()
    bill = new_bill(svc)
    report = svc.events.bill_created(bill, admin)
    stored = svc.db.get_bill(bill.id)
    assert links.calls == [bill.id] and stored.payment_link_id == f"plink_{bill.id}"
    assert report.payment_link_url == stored.payment_link_url == f"https://pay.example/b/{bill.id}"
    assert {(n.channel, n.status) for n in report.notifications} == {("discord", "sent"), ("whatsapp", "skipped")}
    assert stored.payment_link_url in server.requests[0].json()["content"]
    audit = svc.db.storage.list_audit(entity_type="bill", entity_id=str(bill.id)).items
    assert any(a.actor_name == admin.username for a in audit)


def test_every_provider_down_bill_still_stored_and_no_exception(make_svc, server):
    server.default = Reply(502, "bad gateway")
    svc = make_svc(**discord_config(server), **whatsapp_config(server))
    svc.payment_links = Links(fail=True)
    bill = new_bill(svc)
    report = svc.events.bill_created(bill, SYSTEM)
    assert svc.db.get_bill(bill.id).total_amount == Decimal("3394.00")
    assert svc.db.get_bill(bill.id).payment_link_url is None
    assert {n.status for n in notes(svc)} == {"failed"}
    assert any("payment link could not be created" in m for m in report.messages)
    assert "Please pay at the society office." in notes(svc)[0].message


def test_storage_failure_while_notifying_is_reported_not_raised(make_svc):
    svc = make_svc()
    bill = new_bill(svc)

    def broken(row):
        raise RuntimeError("database went away")

    svc.db.storage.insert_notification = broken
    report = svc.events.bill_created(bill, SYSTEM)
    assert any("could not be completed" in m for m in report.messages)
    assert svc.db.get_bill(bill.id) is not None


def test_existing_link_is_not_recreated(make_svc):
    svc = make_svc()
    svc.payment_links = links = Links()
    bill = new_bill(svc)
    svc.db.storage.set_payment_link(bill.id, "plink_caller", "https://pay.example/caller", SYSTEM)
    assert svc.events.bill_created(bill, SYSTEM).payment_link_url == "https://pay.example/caller"  # stale copy
    assert links.calls == []
    bill = new_bill(svc, code="A1-GF")
    svc.events.bill_created(bill, SYSTEM)
    svc.events.payment_reminder(svc.db.get_bill(bill.id))
    assert links.calls == [bill.id]
    reminder = [n for n in notes(svc, kind="reminder")]
    assert len(reminder) == 2 and f"https://pay.example/b/{bill.id}" in reminder[0].message


def test_payment_received_confirms_once(make_svc, admin):
    svc = make_svc()
    bill = new_bill(svc)
    result = svc.db.record_payment(bill.id, "1000.50", method="upi", actor=admin, external_id="evt_1")
    report = svc.events.payment_received(result, admin)
    (wa,) = [n for n in report.notifications if n.channel == "whatsapp"]
    assert "₹1,000.50" in wa.message and "₹2,393.50 is still due by 15 Nov 2026" in wa.message
    replay = svc.db.record_payment(bill.id, "1000.50", method="upi", actor=admin, external_id="evt_1")
    assert not replay.applied
    again = svc.events.payment_received(replay, admin)
    assert again.notifications == [] and "already recorded" in again.messages[0]
    assert len(notes(svc, kind="payment_received")) == 2  # one per channel, from the first delivery only
    paid = svc.db.record_payment(bill.id, "2393.50", method="cash", actor=admin)
    full = svc.events.payment_received(paid, admin)
    assert "paid in full" in full.notifications[0].message


def test_reminder_skips_settled_bill(make_svc, admin):
    svc = make_svc()
    bill = new_bill(svc)
    svc.db.record_payment(bill.id, "3394.00", method="cash", actor=admin)
    report = svc.events.payment_reminder(bill)  # a stale copy: the event re-reads the bill
    assert report.notifications == [] and "nothing to pay" in report.messages[0]


def test_overdue_sent_once(make_svc):
    svc = make_svc()
    bill = new_bill(svc)
    first = svc.events.bill_overdue(bill)
    assert len(first.notifications) == 2 and svc.db.get_bill(bill.id).overdue_notified_at is not None
    assert "was due on 15 Nov 2026 and ₹3,394.00 is still unpaid" in first.notifications[0].message
    second = svc.events.bill_overdue(bill)  # same stale object: the stored mark is what counts
    assert second.notifications == [] and "already sent" in second.messages[0]
    assert len(notes(svc, kind="overdue")) == 2


def test_arrears_named_in_bill_message(make_svc):
    svc = make_svc()
    new_bill(svc, start="2026-09-01", end="2026-09-30", due="2026-10-15")
    later = new_bill(svc)  # carries the unpaid September bill forward
    report = svc.events.bill_created(later, SYSTEM)
    assert later.previous_outstanding == Decimal("3394.00")
    assert "This includes ₹3,394.00 brought forward." in report.notifications[0].message
    assert "₹6,788.00" in report.notifications[0].message


def test_build_services_wires_from_environment(monkeypatch, tmp_path, server):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'w.db'}")
    monkeypatch.setenv("PHOTO_DIR", str(tmp_path / "photos"))
    for var in ("DISCORD_WEBHOOK_URL", "WHATSAPP_PHONE_NUMBER_ID", "WHATSAPP_ACCESS_TOKEN", "CLOUDINARY_URL",
                "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    plain = build_services()
    assert isinstance(plain.events, NotifyingEvents)  # skipped rows are the offline behaviour
    assert isinstance(plain.advisor, NoAdvisor) and isinstance(plain.remote_photos, NoRemotePhotos)
    assert not any(c.configured for c in plain.events.notifier.channel_status())
    monkeypatch.setenv("DISCORD_WEBHOOK_URL", server.url + "/api/webhooks/1/t")
    monkeypatch.setenv("CLOUDINARY_URL", "cloudinary://key:secret@demo")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/v1")
    wired = build_services()
    assert wired.advisor.name == "openai" and wired.remote_photos.name == "cloudinary"
    assert wired.events.notifier.composer.personaliser is not None
    assert {c.name: c.configured for c in wired.events.notifier.channel_status()} == {"discord": True, "whatsapp": False}
    monkeypatch.setenv("CLOUDINARY_URL", "not-a-cloudinary-url")  # logged, the default stays
    assert isinstance(build_services().remote_photos, NoRemotePhotos)
    assert server.requests == []  # wiring sends nothing


def test_events_use_the_provider_wired_later(make_svc):
    svc = make_svc()
    svc.payment_links = Links()  # e.g. the Stripe wiring running after this one
    bill = new_bill(svc)
    assert svc.events.bill_created(bill, SYSTEM).payment_link_url == f"https://pay.example/b/{bill.id}"
