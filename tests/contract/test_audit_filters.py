"""The audit log viewer's reads (issue 18): who, what, which record, when; filtered and counted in the database."""
import datetime as dt

from services.accounts.roles import Actor
from tests.factories import admin_user


def test_audit_filters_by_who_what_record_and_when(storage, society):
    admin = admin_user(storage)
    other = Actor(admin.user_id, "Clerk2", "admin", "pytest")
    storage.write_audit(admin, "bill.create", "bill", 7, {"n": 1})
    storage.write_audit(other, "bill.cancel", "bill", 7, {"n": 2})
    storage.write_audit(other, "payment.record", "bill", 8, {"n": 3})
    everything = storage.list_audit(limit=500, with_total=True)
    assert everything.total == len(everything.items) >= 3
    by_who = storage.list_audit(actor_name="clerk2", with_total=True)  # any case
    assert by_who.total == 2 and {e.action for e in by_who.items} == {"bill.cancel", "payment.record"}
    assert [e.action for e in storage.list_audit(action_prefix="bill.", entity_id="7").items] == ["bill.cancel",
                                                                                                 "bill.create"]
    page = storage.list_audit(entity_type="bill", offset=1, limit=1, with_total=True)
    assert len(page.items) == 1 and page.total >= 3
    newest = storage.list_audit(limit=1).items[0].occurred_at
    later = newest + dt.timedelta(hours=1)
    assert storage.list_audit(since=later, with_total=True).total == 0
    assert storage.list_audit(until=newest - dt.timedelta(days=3650), with_total=True).total == 0
    assert storage.list_audit(since=newest - dt.timedelta(hours=1), until=later, actor_name="Clerk2",
                              with_total=True).total == 2
