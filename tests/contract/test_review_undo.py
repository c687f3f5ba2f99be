"""Undo a review decision (issue 18): approved/rejected -> pending while nothing rests on it.

Rule (services/readings/undo.py): an approved reading goes back to pending while no bill covers it;
a rejected one while its place in the meter's chain is unchanged and its follower may be re-measured
from it again (which undoing does). Every refusal says why and changes nothing; every undo is in
audit_log with who, and the decision undone (who decided, when).
"""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import ConflictError, PermissionDeniedError
from tests.contract.chain import chain_problems
from tests.contract.test_reading_chain import B17, approve, bill, legacy_bill, relinks, submit
from tests.factories import admin_user, engineer_user

d = dt.date


def undos(storage, reading_id):
    return [a for a in storage.list_audit(entity_type="reading", entity_id=str(reading_id)).items
            if a.action == "reading.undo_review"]


def test_an_approval_is_undone_back_to_pending_and_audited(db, storage, society):
    admin = admin_user(storage)
    submit(db, storage, "1000", d(2026, 9, 20))
    r = submit(db, storage, "1180", d(2026, 10, 20)).reading
    db.approve_reading(r.id, actor=admin, approved_units="150")
    back = db.undo_review(r.id, actor=admin)
    assert (back.status, back.reviewed_by, back.approved_units, back.consumption) == ("pending", None, None, D("180.00"))
    (entry,) = undos(storage, r.id)
    assert entry.actor_name == "admin1" and entry.details["was"] == "approved"
    assert entry.details["reviewed_by"] == admin.user_id and entry.details["reviewed_at"]
    assert D(str(entry.details["approved_units"])) == D("150")
    # Pending again: it can be decided afresh (and then undone again).
    assert db.reject_reading(r.id, "misread", actor=admin).status == "rejected"


def test_a_billed_reading_cannot_be_undone_and_nothing_changes(db, storage, society):
    admin = admin_user(storage)
    first = submit(db, storage, "1000", d(2026, 9, 20)).reading
    r = submit(db, storage, "1180", d(2026, 10, 20)).reading
    approve(db, storage, first.id, r.id)
    b = bill(db, storage, r.id)
    with pytest.raises(ConflictError) as e:
        db.undo_review(r.id, actor=admin)
    assert f"Reading #{r.id} cannot go back to pending: bill #{b.id} covers it" in str(e.value)
    assert db.get_reading(r.id).status == "approved" and undos(storage, r.id) == []


def test_a_pending_reading_has_nothing_to_undo(db, storage, society):
    r = submit(db, storage, "1000", d(2026, 9, 20)).reading
    with pytest.raises(ConflictError) as e:
        db.undo_review(r.id, actor=admin_user(storage))
    assert "is pending; there is no review decision to undo" in str(e.value)


def test_an_engineer_may_not_undo(db, storage, society):
    r = submit(db, storage, "1000", d(2026, 9, 20)).reading
    db.approve_reading(r.id, actor=admin_user(storage))
    with pytest.raises(PermissionDeniedError):
        db.undo_review(r.id, actor=engineer_user(storage))
    assert db.get_reading(r.id).status == "approved"


def test_undoing_a_rejection_puts_the_reading_back_in_its_chain(db, storage, society):
    admin = admin_user(storage)
    first = submit(db, storage, "1000", d(2026, 9, 20)).reading
    mid = submit(db, storage, "1100", d(2026, 10, 20)).reading
    nxt = submit(db, storage, "1250", d(2026, 11, 20)).reading
    db.reject_reading(mid.id, "photo blurred", actor=admin)
    assert db.get_reading(nxt.id).consumption == D("250.00")
    back = db.undo_review(mid.id, actor=admin)
    assert (back.status, back.rejection_reason, back.previous_reading_id) == ("pending", None, first.id)
    now = db.get_reading(nxt.id)
    assert (now.previous_reading_id, now.consumption) == (mid.id, D("150.00"))
    assert relinks(storage, nxt.id)[0].details["because"] == \
        f"the rejection of reading #{mid.id} it was measured from was undone"
    (entry,) = undos(storage, mid.id)
    assert entry.details["was"] == "rejected" and entry.details["rejection_reason"] == "photo blurred"
    assert chain_problems(storage, society["meters"][B17]) == []


def test_a_rejection_is_not_undone_once_the_chain_moved(db, storage, society):
    admin = admin_user(storage)
    submit(db, storage, "1000", d(2026, 9, 20))
    wrong = submit(db, storage, "1100", d(2026, 10, 20)).reading
    db.reject_reading(wrong.id, "photo shows 1010", actor=admin)
    again = submit(db, storage, "1150", d(2026, 10, 20)).reading  # the engineer's corrected reading, same day
    with pytest.raises(ConflictError) as e:
        db.undo_review(wrong.id, actor=admin)
    assert f"reading #{again.id} of 2026-10-20 was stored after it was rejected" in str(e.value)
    between = submit(db, storage, "1050", d(2026, 10, 10)).reading  # back-dated: now before the rejected one
    with pytest.raises(ConflictError) as e:
        db.undo_review(wrong.id, actor=admin)
    assert f"the meter's readings changed since it was rejected (reading #{between.id} of 2026-10-10 now comes " \
           "before it)" in str(e.value)
    assert db.get_reading(wrong.id).status == "rejected" and undos(storage, wrong.id) == []
    assert chain_problems(storage, society["meters"][B17]) == []


def test_a_rejection_is_not_undone_when_the_follower_is_billed(db, storage, society):
    admin = admin_user(storage)
    submit(db, storage, "1000", d(2026, 9, 20))
    mid = submit(db, storage, "1100", d(2026, 10, 5)).reading
    nxt = submit(db, storage, "1250", d(2026, 10, 20)).reading
    db.reject_reading(mid.id, "misread", actor=admin)
    legacy_bill(db, storage, nxt.id)
    with pytest.raises(ConflictError) as e:
        db.undo_review(mid.id, actor=admin)
    assert f"reading #{nxt.id} of 2026-10-20 would be measured from it again and is already billed" in str(e.value)
    assert db.get_reading(nxt.id).consumption == D("250.00")
    assert db.get_reading(mid.id).status == "rejected"


def test_the_database_refuses_sending_a_billed_or_displaced_reading_back_to_pending(db, storage, society):
    import sqlalchemy as sa

    if not hasattr(storage, "engine"):
        pytest.skip("raw SQL on the SQL backends; on Supabase the same trigger is in supabase_schema.sql")
    admin = admin_user(storage)
    first = submit(db, storage, "1000", d(2026, 9, 20)).reading
    r = submit(db, storage, "1180", d(2026, 10, 20)).reading
    approve(db, storage, first.id, r.id)
    bill(db, storage, r.id)
    wrong = submit(db, storage, "1300", d(2026, 11, 10)).reading
    db.reject_reading(wrong.id, "misread", actor=admin)
    submit(db, storage, "1250", d(2026, 11, 5))  # now between it and the reading it was measured from

    def to_pending(rid):
        with storage.engine.begin() as conn:
            conn.execute(sa.text("UPDATE readings SET status = 'pending' WHERE id = :id"), {"id": rid})

    for rid in (r.id, wrong.id):
        with pytest.raises(sa.exc.DBAPIError) as e:
            to_pending(rid)
        assert "READING_UNDO" in str(e.value)
    lone = submit(db, storage, "500", d(2026, 11, 1), meter="19150001").reading
    db.approve_reading(lone.id, actor=admin)
    to_pending(lone.id)  # unbilled: the database lets it go back
    assert db.get_reading(lone.id).status == "pending"
