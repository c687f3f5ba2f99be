"""Period locks on every backend: a bill whose period touches a locked month is refused (by the
service and below it), a lock can be added (validated, audited) but never changed or removed."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import ConflictError, PeriodLockedError, ValidationError
from services.models import BillFilter, NewBill
from tests.factories import admin_user, raw_bill

d = dt.date


def _new_bill(storage, start, end):
    return raw_bill(storage, "B17-FF", start, end)


TOUCHING = [
    (d(2025, 11, 1), d(2025, 12, 1)),     # contains the whole locked month, ends after it (issue 11)
    (d(2025, 10, 15), d(2025, 12, 14)),
    (d(2025, 11, 20), d(2025, 12, 19)),   # starts in it
]


@pytest.mark.parametrize("start,end", TOUCHING)
def test_bill_touching_a_locked_month_is_refused_by_the_service(db, storage, society, start, end):
    with pytest.raises(PeriodLockedError) as e:
        db.create_bill("B17-FF", start, end, end + dt.timedelta(days=15), flat_units=10)
    assert e.value.month == "2025-11" and "2025-11" in str(e.value)
    assert storage.list_bills(BillFilter(account_id=society["accounts"]["B17-FF"])).total == 0


@pytest.mark.parametrize("start,end", TOUCHING)
def test_bill_touching_a_locked_month_is_refused_below_the_service(db, storage, society, start, end):
    """The storage (the trigger on SQL, the /rpc function and the trigger on Supabase) refuses it
    too, single or in a run's batch, and stores nothing."""
    flat = society["accounts"]["B17-FF"]
    with pytest.raises(PeriodLockedError) as e:
        storage.insert_bill(_new_bill(storage, start, end), admin_user(storage))
    assert e.value.month == "2025-11"
    with pytest.raises(PeriodLockedError):
        storage.insert_bill_batch([_new_bill(storage, start, end)], admin_user(storage))
    assert storage.list_bills(BillFilter(account_id=flat)).total == 0


def test_bills_next_to_the_locked_month_are_accepted(db):
    assert db.create_bill("B17-FF", d(2025, 10, 1), d(2025, 10, 31), d(2025, 11, 15), flat_units=10).id
    assert db.create_bill("B17-FF", d(2025, 12, 1), d(2026, 1, 31), d(2026, 2, 15), flat_units=10).id


def test_lock_month_validated_audited_and_reported(db, storage):
    admin = admin_user(storage)
    assert db.lock_month("2026-09", "  books   audited ", actor=admin) is True
    assert db.lock_month("2026-09", "again, same month", actor=admin) is False  # already locked: nothing changes
    lock = [lk for lk in db.list_period_locks(actor=admin) if lk.month == "2026-09"][0]
    assert (lock.reason, lock.locked_by, lock.bill_count_at_lock) == ("books audited", "admin1", 0)
    audit = storage.list_audit(action_prefix="period.").items
    assert [(a.action, a.entity_id, a.actor_name) for a in audit] == [("period.lock", "2026-09", "admin1")]
    for month, reason, field in (("2026-12", "the future is closed", "month"),   # today is 2026-11-22
                                 ("Sept", "books audited", "month"), ("2026-08", "  ", "reason"),
                                 ("2026-08", "x\x00y z", "reason")):
        with pytest.raises(ValidationError) as e:
            db.lock_month(month, reason, actor=admin)
        assert e.value.field == field
    assert db.locked_months() == ["2025-11", "2026-09"]


def _change_lock_rows(storage, op):
    """Change or remove period_locks rows the way a direct database client would."""
    if hasattr(storage, "engine"):
        import sqlalchemy as sa

        from services.storage.sql_common import translate_errors

        stmt = {"update": "UPDATE period_locks SET month = '2025-10'", "delete": "DELETE FROM period_locks"}[op]
        with translate_errors(), storage.engine.begin() as c:
            c.execute(sa.text(stmt))
    elif op == "update":
        storage.rest.update("period_locks", {"reason": "reopened"}, [("eq", "month", "2025-11")], what="editing a lock")
    else:
        storage.rest.delete("period_locks", [("eq", "month", "2025-11")], what="removing a lock")


@pytest.mark.parametrize("op", ["update", "delete"])
def test_period_locks_are_append_only(db, storage, op):
    with pytest.raises(ConflictError) as e:
        _change_lock_rows(storage, op)
    assert "append-only" in str(e.value)
    assert [(lk.month, lk.reason) for lk in storage.list_period_locks()] == [
        ("2025-11", "November 2025 is locked to protect historical data")]
    with pytest.raises(PeriodLockedError):
        db.create_bill("B17-FF", d(2025, 11, 1), d(2025, 11, 30), d(2025, 12, 15), flat_units=1)
