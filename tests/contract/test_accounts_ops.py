"""Users, sessions, audit, notifications, payment events, job runs, dashboard."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import DuplicateError, ValidationError
from services.accounts.passwords import hash_password
from tests.factories import ADMIN, admin_user

d = dt.date
NOW = dt.datetime(2026, 11, 22, 10, 0, tzinfo=dt.timezone.utc)


def test_users_crud_and_audit(storage):
    u = storage.create_user(username="asha", role="field_engineer", password_hash=hash_password("x" * 12),
                            actor=ADMIN, display_name="Asha", email="asha@example.com")
    assert u.password_hash.startswith("$argon2id$") and u.is_active and u.role == "field_engineer"
    with pytest.raises(DuplicateError):
        storage.create_user(username="asha", role="admin", password_hash=None, actor=ADMIN)
    with pytest.raises(ValidationError):
        storage.create_user(username="bob", role="superuser", password_hash=None, actor=ADMIN)
    changed = storage.update_user(u.id, {"role": "admin", "failed_login_count": 3}, ADMIN, "user.role")
    assert changed.role == "admin" and changed.failed_login_count == 3
    assert storage.get_user(email="ASHA@example.com").id == u.id
    assert storage.list_users().total == 1
    audit = storage.list_audit(entity_type="user").items
    assert [a.action for a in audit] == ["user.role", "user.create"]


def test_usernames_are_case_insensitive(storage):
    """Issue 18: a phone capitalises "Engineer". One user per lower(username), held by the database, and
    the lookup finds the user whatever the case."""
    u = storage.create_user(username="Asha.K", role="field_engineer", password_hash=None, actor=ADMIN)
    assert storage.get_user(username="asha.k").id == u.id and storage.get_user(username="ASHA.K").id == u.id
    assert storage.get_user(username="asha.k").username == "Asha.K"  # kept as created
    with pytest.raises(DuplicateError):
        storage.create_user(username="asha.K", role="admin", password_hash=None, actor=ADMIN)
    assert storage.get_user(username="asha_k") is None  # no pattern matching: _ is a character
    assert storage.list_users().total == 1


def test_password_hash_column_refuses_plain_text(storage):
    with pytest.raises(Exception):
        storage.create_user(username="plain", role="admin", password_hash="hunter2hunter2", actor=ADMIN)


def test_login_failures_counted_atomically(storage):
    u = storage.create_user(username="lf", role="admin", password_hash=None, actor=ADMIN)
    until = NOW + dt.timedelta(minutes=15)
    counts = [storage.record_login_failure(u.id, now=NOW, max_failures=3, lock_until=until) for _ in range(4)]
    assert counts == [(1, None), (2, None), (3, until), (1, None)]
    user = storage.get_user(user_id=u.id)
    assert user.locked_until == until and user.failed_login_count == 1
    with pytest.raises(Exception):
        storage.record_login_failure(10**9, now=NOW, max_failures=3, lock_until=until)


def test_login_failures_in_parallel_all_count(storage):
    from concurrent.futures import ThreadPoolExecutor

    u = storage.create_user(username="burst", role="admin", password_hash=None, actor=ADMIN)
    until = NOW + dt.timedelta(minutes=15)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: storage.record_login_failure(
            u.id, now=NOW, max_failures=100, lock_until=until), range(40)))
    assert sorted(n for n, _ in results) == list(range(1, 41))  # no two threads saw the same count
    assert storage.get_user(user_id=u.id).failed_login_count == 40


def test_login_reservations_check_and_count_before_verifying(storage):
    u = storage.create_user(username="rv", role="admin", password_hash=None, actor=ADMIN)
    until = NOW + dt.timedelta(minutes=15)
    stale = NOW - dt.timedelta(minutes=1)

    def reserve(now=NOW, stale_before=stale):
        return storage.reserve_login_attempt(u.id, now=now, max_failures=3, stale_before=stale_before)

    assert [reserve() for _ in range(4)] == [(True, None), (True, None), (True, None), (False, None)]
    assert storage.get_user(user_id=u.id).login_attempts_in_flight == 3
    assert storage.record_login_success(u.id, now=NOW) is None  # one ends well: room for one more
    assert reserve() == (True, None)
    assert storage.record_login_failure(u.id, now=NOW, max_failures=3, lock_until=until) == (1, None)
    assert storage.record_login_failure(u.id, now=NOW, max_failures=3, lock_until=until) == (2, None)
    assert reserve() == (False, None)  # 2 failures + 1 in flight
    assert storage.record_login_failure(u.id, now=NOW, max_failures=3, lock_until=until) == (3, until)
    user = storage.get_user(user_id=u.id)
    assert (user.login_attempts_in_flight, user.failed_login_count, user.locked_until) == (0, 0, until)
    assert reserve() == (False, until)  # locked
    assert storage.record_login_success(u.id, now=NOW) == until  # a right password does not get past a lock
    assert storage.get_user(user_id=u.id).locked_until == until
    later = until + dt.timedelta(seconds=1)
    assert reserve(now=later, stale_before=later - dt.timedelta(minutes=1)) == (True, None)  # lock over
    assert storage.record_login_success(u.id, now=later) is None
    user = storage.get_user(user_id=u.id)
    assert (user.login_attempts_in_flight, user.failed_login_count, user.locked_until) == (0, 0, None)
    with pytest.raises(Exception):
        storage.reserve_login_attempt(10**9, now=NOW, max_failures=3, stale_before=stale)


def test_stale_login_reservations_are_forgotten(storage):
    """A process that died between reserving and verifying does not lock the account for good."""
    u = storage.create_user(username="crash", role="admin", password_hash=None, actor=ADMIN)
    for _ in range(3):
        storage.reserve_login_attempt(u.id, now=NOW, max_failures=3, stale_before=NOW - dt.timedelta(minutes=1))
    later = NOW + dt.timedelta(minutes=2)
    assert storage.reserve_login_attempt(u.id, now=NOW + dt.timedelta(seconds=59), max_failures=3,
                                         stale_before=NOW - dt.timedelta(seconds=1)) == (False, None)
    assert storage.reserve_login_attempt(u.id, now=later, max_failures=3,
                                         stale_before=later - dt.timedelta(minutes=1)) == (True, None)
    assert storage.get_user(user_id=u.id).login_attempts_in_flight == 1


def test_login_reservations_in_parallel_never_exceed_the_limit(storage):
    from concurrent.futures import ThreadPoolExecutor

    u = storage.create_user(username="race", role="admin", password_hash=None, actor=ADMIN)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: storage.reserve_login_attempt(
            u.id, now=NOW, max_failures=5, stale_before=NOW - dt.timedelta(minutes=1)), range(30)))
    assert sum(ok for ok, _ in results) == 5
    assert storage.get_user(user_id=u.id).login_attempts_in_flight == 5


def test_sessions(storage):
    u = storage.create_user(username="s1", role="admin", password_hash=None, actor=ADMIN)
    s1 = storage.create_session(token_hash="a" * 64, user_id=u.id, client="127.0.0.1", now=NOW,
                                expires_at=NOW + dt.timedelta(hours=12))
    s2 = storage.create_session(token_hash="b" * 64, user_id=u.id, client=None, now=NOW,
                                expires_at=NOW + dt.timedelta(hours=12))
    storage.touch_session(s1.id, NOW + dt.timedelta(minutes=5))
    assert storage.get_session("a" * 64).last_seen_at == NOW + dt.timedelta(minutes=5)
    assert storage.revoke_sessions(user_id=u.id, except_session_id=s1.id, reason="password_changed", now=NOW) == 1
    assert storage.get_session("b" * 64).revoked_reason == "password_changed"
    assert storage.get_session("a" * 64).revoked_at is None
    _ = s2


def test_notifications(storage):
    n = storage.insert_notification({"kind": "bill_created", "channel": "discord", "message": "hi", "status": "pending"})
    storage.update_notification(n.id, {"status": "failed", "error": "503", "attempts": 3})
    assert storage.get_notification(n.id).status == "failed"
    assert storage.list_notifications(status="failed").total == 1
    with pytest.raises(ValueError):
        storage.update_notification(n.id, {"kind": "x"})


def test_payment_events_unique(storage):
    e1, c1 = storage.record_payment_event({"event_type": "checkout.session.completed", "stripe_event_id": "evt_9",
                                           "outcome": "applied", "amount": D("10.00"), "currency": "inr",
                                           "event_data": {"a": 1}})
    e2, c2 = storage.record_payment_event({"event_type": "checkout.session.completed", "stripe_event_id": "evt_9",
                                           "outcome": "applied"})
    assert c1 and not c2 and e1.id == e2.id and e1.event_data == {"a": 1}


def test_job_runs_claimed_once(storage):
    run = storage.claim_job_run("monthly_bills", "2026-11", "host-a", NOW)
    assert run and run.status == "running"
    assert storage.claim_job_run("monthly_bills", "2026-11", "host-b", NOW) is None
    storage.finish_job_run(run.id, status="failed", counts=None, error="boom", now=NOW)
    retry = storage.claim_job_run("monthly_bills", "2026-11", "host-b", NOW)
    assert retry and retry.id == run.id and retry.host == "host-b"
    storage.finish_job_run(retry.id, status="completed", counts={"created": 3}, error=None, now=NOW)
    assert storage.claim_job_run("monthly_bills", "2026-11", "host-c", NOW) is None
    assert storage.list_job_runs(job_id="monthly_bills")[0].counts == {"created": 3}


def test_dashboard_figures_are_exact(db, storage):
    admin = admin_user(storage)
    bills = [db.create_bill(code, d(2026, 11, 1), d(2026, 11, 30), d(2026, 11, 10), flat_units=D("33.33"))
             for code in ("B17-FF", "A1-GF", "C14-SF")]
    db.record_payment(bills[0].id, "0.10", method="cash", actor=admin)
    db.record_payment(bills[1].id, "0.20", method="cash", actor=admin)
    fig = db.dashboard("2026-11")
    billed = sum((b.total_amount for b in bills), D("0"))
    assert fig.billed == billed and fig.bill_count == 3
    assert fig.collected == D("0.30") and fig.outstanding == billed - D("0.30")
    assert fig.overdue_count == 3 and fig.pending_readings == 0
    series = db.monthly_series(3)
    assert [p.month for p in series] == ["2026-09", "2026-10", "2026-11"]
    assert series[-1].billed == billed and series[-1].collected == D("0.30")
    assert series[-1].consumption == D("99.99")


def test_locks_list_and_add(db, storage):
    assert [lk.month for lk in storage.list_period_locks()] == ["2025-11"]
    db.lock_month("2026-01", "audit", actor=admin_user(storage))
    db.lock_month("2026-01", "audit", actor=admin_user(storage))  # idempotent
    assert db.locked_months() == ["2025-11", "2026-01"]
