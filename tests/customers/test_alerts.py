"""The alerts portal customers opted into (issue 16): bill ready, due-date reminder, high usage and
leak, and one-time codes by e-mail. Each goes only to customers who opted in, once per bill or
anomaly (a unique key in the database), through the notification channels: a real SMTP server on
loopback (aiosmtpd) when SMTP is configured, the notifications log offline. Paperless customers'
bills are left out of a bulk print."""
import datetime as dt
import re
import types
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from database import schema as s
from services.customers.alerts import CustomerAlerts
from services.customers.portal import CustomerPortal
from services.integrations.wiring import IntegrationConfig, wire_integrations
from services.jobs.definitions import run_job
from tests.customers.test_portal import PASSWORD, last_code
from tests.factories import ADMIN

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


@pytest.fixture
def storage(tmp_path):
    from services.storage.sql_backend import SqlStorage

    st = SqlStorage(f"sqlite:///{tmp_path / 'alerts.db'}")
    yield st
    st.dispose()


@pytest.fixture
def society(storage, today, tmp_path, monkeypatch):
    from tests.api.conftest import build_svc
    from tests.factories import make_society

    for name in ("SMTP_HOST", "SMTP_SENDER", "SMTP_PORT", "SMTP_STARTTLS", "SMTP_USER", "SMTP_PASSWORD",
                 "CUSTOMER_REMINDER_DAYS_BEFORE", "SCHEDULER_TIMEZONE"):
        monkeypatch.delenv(name, raising=False)
    make_society(storage)
    svc = build_svc(storage, today, tmp_path)
    for flat in ("B17-FF", "A1-GF"):
        svc.db.create_bill(flat, "2026-10-01", "2026-10-31", "2026-11-15", flat_units=150, motor_units=10, actor=ADMIN)
    wire_integrations(svc, IntegrationConfig())  # the real events and notifier, no provider configured
    return svc


@pytest.fixture
def smtp(monkeypatch):
    from tests.documents.smtp_server import SmtpServer

    server = SmtpServer().start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(server.port))
    monkeypatch.setenv("SMTP_STARTTLS", "false")
    monkeypatch.setenv("SMTP_SENDER", "Blessings City <billing@example.com>")
    yield server
    server.stop()


def register(svc, code="B17-FF", username="owner.b17"):
    portal = CustomerPortal(svc)
    portal.request_registration(code)
    return portal, portal.register(code, last_code(svc.db.storage), username, PASSWORD)


def alerts(storage, **kw):
    return storage.list_notifications(kind="customer_alert", limit=50, **kw).items


def new_bill(svc, flat):
    return svc.db.create_bill(flat, "2026-11-01", "2026-11-30", "2026-12-15", flat_units=100, motor_units=0, actor=ADMIN)


def test_bill_ready_goes_once_and_only_to_customers_who_opted_in(society):
    storage = society.db.storage
    portal, me = register(society)  # B17-FF
    _, other = register(society, "A1-GF", "owner.a1")  # did not opt in
    portal.set_preference(me, "bill_ready", True)
    mine, theirs = new_bill(society, "B17-FF"), new_bill(society, "A1-GF")
    for bill in (mine, theirs, mine):  # the month run's job and a resend of the same event
        society.events.bill_created(bill, ADMIN)
    rows = alerts(storage)
    assert len(rows) == 1 and "B17-FF" in rows[0].message and "is ready" in rows[0].message
    assert rows[0].status == "skipped" and rows[0].channel == "log"  # offline default: kept in the log
    # the unique key is the database's, not only this Python check
    assert storage.claim_customer_alert(me.user_id, "bill_ready", f"bill:{mine.id}", mine.account_id) is False
    with pytest.raises(sa.exc.IntegrityError), storage.engine.begin() as conn:
        conn.execute(s.customer_alerts_sent.insert().values(user_id=me.user_id, kind="bill_ready",
                                                            ref=f"bill:{mine.id}", account_id=mine.account_id))
    # switched off: nothing for the next bill
    portal.set_preference(me, "bill_ready", False)
    society.events.bill_created(society.db.create_bill("B17-FF", "2026-12-01", "2026-12-31", "2027-01-15",
                                                       flat_units=100, motor_units=0, actor=ADMIN), ADMIN)
    assert len(alerts(storage)) == 1


def test_bill_ready_by_email_reaches_the_mailbox(society, smtp):
    storage = society.db.storage
    portal, me = register(society)
    acct = storage.get_account(code="B17-FF")
    storage.update_contact(acct.contact_id, {"email": "owner.b17@example.com"}, ADMIN)
    portal.set_preference(me, "bill_ready", True)
    bill = new_bill(society, "B17-FF")
    society.events.bill_created(bill, ADMIN)
    society.events.bill_created(bill, ADMIN)
    assert len(smtp.messages) == 1
    msg = smtp.messages[0]
    assert msg["To"] == "owner.b17@example.com" and "B17-FF" in msg["Subject"]
    assert "is ready" in msg.get_content()
    row = alerts(storage)[0]
    assert (row.channel, row.status) == ("email", "sent") and row.recipient == "o•••@example.com"


def test_due_date_reminder_job_reminds_once_per_bill_only_opted_in_and_open_bills(society, monkeypatch):
    storage = society.db.storage
    portal, me = register(society)
    _, other = register(society, "A1-GF", "owner.a1")
    portal.set_preference(me, "due_reminder", True)
    monkeypatch.setenv("SCHEDULER_TIMEZONE", "UTC")
    # the October bills are due 2026-11-15: three days before is the 12th
    run = run_job(society, "customer_due_reminders", now=dt.datetime(2026, 11, 12, 9, tzinfo=dt.timezone.utc))
    assert run.status == "completed", run.error
    assert run.counts["due_date"] == "2026-11-15" and run.counts["bills"] == 2
    assert run.counts["due_reminder_skipped"] == 1
    rows = alerts(storage)
    assert len(rows) == 1 and "B17-FF" in rows[0].message and "due on 15 Nov 2026" in rows[0].message
    # the same day again does nothing (job claimed); the bills again directly: already sent
    assert run_job(society, "customer_due_reminders", now=dt.datetime(2026, 11, 12, 18, tzinfo=dt.timezone.utc)) is None
    due = [b for b in storage.bills_due_between(dt.date(2026, 11, 15), dt.date(2026, 11, 15), ("pending",), after_id=0,
                                                limit=10)]
    assert CustomerAlerts.of(society).due_reminders(due) == {"already_sent": 1}
    assert len(alerts(storage)) == 1
    # a paid bill is not reminded
    bill = new_bill(society, "B17-FF")
    society.db.record_payment(bill.id, bill.total_amount, paid_on=dt.date(2026, 11, 20), method="cash", actor=ADMIN)
    assert not CustomerAlerts.of(society).due_reminders([storage.get_bill(bill.id)])


def test_high_usage_and_leak_alerts_follow_the_method_and_the_opt_in(society):
    storage = society.db.storage
    portal, me = register(society)
    portal.set_preference(me, "leak_alert", True)
    acct = storage.get_account(code="B17-FF")

    def anomaly(i, method):
        return types.SimpleNamespace(id=i, account_id=acct.id, method=method, usage_date=dt.date(2026, 11, 20),
                                     usage=D("4.20"), baseline=D("1.10"))

    sent = CustomerAlerts.of(society).anomalies([anomaly(1, "continuous_flow"), anomaly(2, "zscore"),
                                                 anomaly(3, "zero_usage")])
    assert sent == {"leak_alert_skipped": 1}  # high usage: not opted in; zero usage: no customer alert
    portal.set_preference(me, "high_usage_alert", True)
    sent = CustomerAlerts.of(society).anomalies([anomaly(1, "continuous_flow"), anomaly(2, "zscore")])
    assert sent == {"already_sent": 1, "high_usage_alert_skipped": 1}
    texts = [r.message for r in alerts(storage)]
    assert any("leak" in t for t in texts) and any("well above your usual" in t for t in texts)


def test_anomalies_found_alert_the_opted_in_water_customer_once(tmp_path, today):
    """Real detection (the anomaly contract's July: a spike at HS0000102, a leak at HS0000103), then the
    jobs' alert step over the period's anomalies, twice."""
    from services.jobs.definitions import JobContext, _alert_anomalies, job_config
    from services.storage.sql_backend import SqlStorage
    from tests.api.conftest import build_svc
    from tests.contract import test_anomalies as july

    storage = SqlStorage(f"sqlite:///{tmp_path / 'water.db'}")
    try:
        ids, _ = _water(july, storage)
        storage.detect_anomalies(july.START, july.END, july.PARAMS, ADMIN)
        svc = build_svc(storage, today, tmp_path)
        wire_integrations(svc, IntegrationConfig())
        user = storage.create_user(username="household1", role="customer", password_hash=None, actor=ADMIN)
        for code in ("HS0000102", "HS0000103"):
            storage.link_customer_account(user.id, ids[code], ADMIN)
        for kind in ("high_usage_alert", "leak_alert"):
            storage.set_customer_preference(user.id, kind, True, ADMIN)
        ctx = JobContext(svc, ADMIN, dt.datetime(2026, 8, 1, tzinfo=dt.timezone.utc), job_config())
        _alert_anomalies(ctx, july.START, july.END)
        texts = [r.message for r in alerts(storage)]
        assert any("HS0000103" in t and "leak" in t for t in texts), texts
        assert any("HS0000102" in t and "well above your usual" in t for t in texts), texts
        assert not any("HS0000104" in t for t in texts)  # not theirs
        _alert_anomalies(ctx, july.START, july.END)  # the daily job again: nothing sent twice
        assert len(alerts(storage)) == len(texts) and ctx.counts["customer_already_sent"] == len(texts)
    finally:
        storage.dispose()


def _water(july, storage):
    """The anomaly contract's `water` fixture body, called directly."""
    made = july.make_water(storage, days=0)
    area = made["areas"]["N/C1"]
    storage.bulk_insert("accounts", [{"code": c, "name": c, "area_id": area, "category": t, "account_type": t,
                                      "is_active": act} for c, (t, act, *_r) in july.CUSTOMERS.items()])
    ids = storage.lookup_ids("accounts", "code", list(july.CUSTOMERS))
    rows = []
    for i, code in enumerate(july.CUSTOMERS):
        day = july.H0
        while day <= july.END:
            q = july.usage(i, code, day)
            if q is not None:
                rows.append({"account_id": ids[code], "usage_date": day, "quantity": q, "source": "import"})
            day += dt.timedelta(days=1)
    storage.bulk_insert("daily_usage", rows)
    return ids, rows


def test_paperless_customers_bills_are_left_out_of_a_bulk_print(society, tmp_path):
    from services.documents.bulk import print_bills
    from services.models import BillFilter

    portal, me = register(society)
    flt = BillFilter(period_month="2026-10")
    before = print_bills(society.db, flt, tmp_path / "before.zip", fmt="zip", actor=ADMIN)
    portal.set_preference(me, "paperless", True)
    after = print_bills(society.db, flt, tmp_path / "after.zip", fmt="zip", actor=ADMIN)
    assert (before.bills, before.paperless) == (2, 0)
    assert (after.bills, after.paperless) == (1, 1)
    every = print_bills(society.db, flt, tmp_path / "all.zip", fmt="zip", actor=ADMIN, include_paperless=True)
    assert every.bills == 2


def test_codes_go_by_email_to_the_mailbox_and_are_never_stored_in_clear(society, smtp):
    storage = society.db.storage
    acct = storage.get_account(code="B17-FF")
    storage.update_contact(acct.contact_id, {"email": "owner.b17@example.com"}, ADMIN)
    portal = CustomerPortal(society)
    assert portal.request_registration("B17-FF", via="email") == "o•••@example.com"
    assert len(smtp.messages) == 1
    msg = smtp.messages[0]
    code = re.search(r"code is (\d{6})", msg.get_content()).group(1)
    assert msg["To"] == "owner.b17@example.com"
    row = storage.list_notifications(kind="customer_code", limit=1).items[0]
    assert (row.channel, row.status) == ("email", "sent") and code not in row.message and "••••••" in row.message
    with storage.engine.connect() as conn:
        for table in ("customer_codes", "notifications", "audit_log"):
            dump = " ".join(str(v) for r in conn.execute(sa.text(f"SELECT * FROM {table}")) for v in r)
            assert code not in dump, table
    me = portal.register("B17-FF", code, "owner.b17", PASSWORD)
    assert storage.customer_account_ids(me.user_id) == [acct.id]


def test_codes_to_a_phone_without_whatsapp_stay_in_the_log_as_before(society, smtp):
    portal = CustomerPortal(society)
    portal.request_registration("B17-FF")  # the phone on file; no WhatsApp configured
    row = society.db.storage.list_notifications(kind="customer_code", limit=1).items[0]
    assert (row.channel, row.status) == ("log", "skipped") and re.search(r"code is \d{6}", row.message)
    assert last_code(society.db.storage) and not smtp.messages


def test_a_month_run_from_the_app_api_or_script_sends_bill_ready_once(tmp_path, today):
    """run_bills_ready: the bills a run stored, a page at a time, once each."""
    from services.storage.sql_backend import SqlStorage
    from tests.api.conftest import build_svc
    from tests.factories import make_society
    from tests.jobs.conftest import approve_october

    storage = SqlStorage(f"sqlite:///{tmp_path / 'run.db'}")
    try:
        make_society(storage)
        svc = build_svc(storage, today, tmp_path)
        wire_integrations(svc, IntegrationConfig())
        approve_october(svc.db, storage)
        portal, me = register(svc)
        portal.set_preference(me, "bill_ready", True)
        run = svc.db.generate_bills_for_month(dt.date(2026, 10, 1), dt.date(2026, 10, 31), dt.date(2026, 11, 15),
                                              actor=ADMIN)
        assert run.created >= 2 and run.run_id is not None
        alerts_ = CustomerAlerts.of(svc)
        assert alerts_.run_bills_ready(svc.db, run.run_id, ADMIN) == {"bill_ready_skipped": 1}
        assert alerts_.run_bills_ready(svc.db, run.run_id, ADMIN) == {"already_sent": 1}
        assert alerts_.run_bills_ready(svc.db, None, ADMIN) == {}
        (row,) = alerts(storage)
        assert "B17-FF" in row.message and "October 2026" in row.message
    finally:
        storage.dispose()


def test_codes_and_alerts_to_a_phone_go_by_sms_when_twilio_is_configured(society, monkeypatch):
    """A loopback server plays Twilio's Messages API: the code arrives there, the log keeps the row
    without the code, and a refused number leaves a failed row, never an exception."""
    from urllib.parse import parse_qs

    from tests.integrations.fakeserver import FakeServer, Reply

    server = FakeServer().start()
    try:
        monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC123")
        monkeypatch.setenv("TWILIO_AUTH_TOKEN", "secret-token-xyz")
        monkeypatch.setenv("TWILIO_FROM_NUMBER", "+15005550006")
        monkeypatch.setenv("TWILIO_API_BASE", server.url)
        server.script = [Reply(201, {"sid": "SM0001"})]
        storage = society.db.storage
        portal = CustomerPortal(society)
        portal.request_registration("B17-FF")  # the phone on file
        (req,) = server.requests
        assert req.method == "POST" and req.path == "/2010-04-01/Accounts/AC123/Messages.json"
        form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        code = re.search(r"code is (\d{6})", form["Body"]).group(1)
        assert form["To"].startswith("+") and form["From"] == "+15005550006"
        row = storage.list_notifications(kind="customer_code", limit=1).items[0]
        assert (row.channel, row.status, row.provider_message_id) == ("sms", "sent", "SM0001")
        assert code not in row.message
        me = portal.register("B17-FF", code, "owner.b17", PASSWORD)
        portal.set_preference(me, "bill_ready", True)
        server.script = [Reply(400, {"code": 21211, "message": "Invalid 'To' Phone Number"})]
        society.events.bill_created(new_bill(society, "B17-FF"), ADMIN)
        (alert,) = alerts(storage)
        assert (alert.channel, alert.status) == ("sms", "failed") and "21211" in alert.error
        assert "secret-token-xyz" not in (alert.error or "")
    finally:
        server.stop()
