"""Meter replacements and rollovers recorded by an admin: readings continue across them with the
right consumption (nothing negative, nothing lost), in one unit of work, audited, on every backend."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import PermissionDeniedError, ValidationError
from tests.contract.chain import all_at_once, chain_problems, meter_readings
from tests.factories import admin_user, engineer_user

d = dt.date
B17 = "19152159"


def submit(db, storage, value, date, meter=B17):
    return db.insert_meter_reading(meter_number=meter, reading_value=value, reading_date=date,
                                   actor=engineer_user(storage))


def change(db, storage, **kw):
    actor = kw.pop("actor", None) or admin_user(storage)
    args = dict(meter_number=B17, kind="replacement", change_date=d(2026, 11, 1), final_reading="1200",
                start_reading="5", new_meter_number="19159999", reason="meter burnt, replaced by the utility")
    args.update(kw)
    return db.record_meter_change(actor=actor, **args)


def test_engineer_is_told_an_admin_records_the_change_on_the_meters_page(db, storage, society):
    submit(db, storage, "99950", d(2026, 10, 20))
    with pytest.raises(ValidationError) as e:
        submit(db, storage, "120", d(2026, 11, 20))
    assert "an admin records the meter change on the Meters page (Admin > Meters)" in str(e.value)


def test_replacement_continues_the_readings_on_the_new_meter(db, storage, society):
    old = society["meters"][B17]
    submit(db, storage, "1000", d(2026, 9, 20))
    submit(db, storage, "1150", d(2026, 10, 20))
    mc = change(db, storage)
    assert (mc.kind, mc.old_meter_number, mc.new_meter_number, mc.account_code) == ("replacement", B17, "19159999", "B17-FF")
    assert (mc.final_value, mc.start_value, mc.change_date, mc.recorded_by_name) == \
        (D("1200.00"), D("5.00"), d(2026, 11, 1), "admin1")
    final, start = db.get_reading(mc.final_reading_id), db.get_reading(mc.start_reading_id)
    assert (final.meter_id, final.consumption, final.status, final.source) == (old, D("50.00"), "approved", "meter_change")
    assert (start.meter_id, start.consumption, start.previous_reading_id, start.status) == \
        (mc.new_meter_id, None, None, "approved")
    assert storage.get_meter(meter_id=old).status == "replaced"
    new = storage.get_meter(meter_number="19159999")
    assert (new.status, new.account_id) == ("active", society["accounts"]["B17-FF"])
    assert [c.meter_number for c in db.list_active_meters("b17").items] == ["19159999"]
    with pytest.raises(ValidationError) as e:  # the old meter takes no more readings
        submit(db, storage, "1300", d(2026, 11, 20))
    assert e.value.field == "meter" and "replaced" in str(e.value)
    later = submit(db, storage, "105", d(2026, 11, 20), meter="19159999").reading
    assert (later.consumption, later.previous_reading_id) == (D("100.00"), start.id)
    # 1000 -> 1200 on the old meter, 5 -> 105 on the new: 300 kWh, nothing negative, nothing lost.
    used = [x.consumption for m_ in (old, new.id) for x in meter_readings(storage, m_) if x.consumption is not None]
    assert sum(used) == D("300.00") and min(used) >= 0
    assert chain_problems(storage, old) == [] and chain_problems(storage, new.id) == []
    (audit,) = [a for a in storage.list_audit(entity_type="meter", entity_id=str(old)).items if a.action == "meter.change"]
    assert audit.actor_name == "admin1" and audit.details["new_meter_number"] == "19159999"
    assert audit.details["final_reading_id"] == final.id and audit.details["start_reading_id"] == start.id
    page = db.list_meter_changes(actor=admin_user(storage))
    assert page.total == 1 and [x.id for x in page.items] == [mc.id]
    assert db.list_meter_changes(new.id, actor=admin_user(storage)).total == 1


def test_rollover_starts_a_new_chain_on_the_same_meter(db, storage, society):
    meter = society["meters"][B17]
    first = submit(db, storage, "99800", d(2026, 9, 20)).reading
    submit(db, storage, "99950", d(2026, 10, 20))
    mc = change(db, storage, kind="rollover", final_reading="100000", start_reading="0", new_meter_number=None,
                reason="five-digit register wrapped")
    assert mc.new_meter_id == mc.old_meter_id == meter and storage.get_meter(meter_id=meter).status == "active"
    after = submit(db, storage, "120", d(2026, 11, 20)).reading
    assert (after.consumption, after.previous_reading_id) == (D("120.00"), mc.start_reading_id)
    live = meter_readings(storage, meter)
    assert [x.consumption for x in live] == [None, D("150.00"), D("50.00"), None, D("120.00")]
    assert sum(x.consumption or 0 for x in live) == D("320.00")  # 99800 -> 100000 -> (0) -> 120
    assert chain_problems(storage, meter, frozenset({mc.start_reading_id})) == []
    assert live[0].id == first.id


def test_the_final_reading_already_submitted_is_used_and_approved(db, storage, society):
    submit(db, storage, "1000", d(2026, 10, 1))
    sent = submit(db, storage, "1200", d(2026, 11, 1)).reading
    mc = change(db, storage)
    assert mc.final_reading_id == sent.id and db.get_reading(sent.id).status == "approved"
    assert storage.table_counts(["readings"])["readings"] == 3


@pytest.mark.parametrize("kw,field,text", [
    (dict(kind="swap"), "kind", "not a kind"),
    (dict(reason="  "), "reason", "required"),
    (dict(new_meter_number=""), "new_meter_number", "required for a replacement"),
    (dict(new_meter_number=B17), "new_meter_number", "the old meter's number"),
    (dict(new_meter_number="19150001"), "new_meter_number", "already exists"),
    (dict(kind="rollover", final_reading="1200", start_reading="1200"), "start_reading", "not below the final"),
    (dict(final_reading="900"), "final_reading", "below the previous reading 1000.00 kWh"),
    (dict(change_date=d(2026, 10, 15)), "change_date", "has a reading after 2026-10-15"),
    (dict(change_date=d(2026, 12, 1)), "change_date", "in the future"),
    (dict(meter_number="00000000"), "meter", "unknown meter"),
])
def test_bad_meter_changes_are_refused_and_store_nothing(db, storage, society, kw, field, text):
    submit(db, storage, "1000", d(2026, 10, 20))
    before = storage.table_counts(["readings", "meters", "meter_changes"])
    with pytest.raises(ValidationError) as e:
        change(db, storage, **kw)
    assert e.value.field == field and text in str(e.value)
    assert storage.table_counts(["readings", "meters", "meter_changes"]) == before
    assert storage.get_meter(meter_number=B17).status == "active"


def test_only_an_admin_records_a_meter_change(db, storage, society):
    with pytest.raises(PermissionDeniedError):
        change(db, storage, actor=engineer_user(storage))
    with pytest.raises(PermissionDeniedError):
        db.list_meter_changes(actor=engineer_user(storage))
    assert storage.table_counts(["meter_changes"])["meter_changes"] == 0


def test_a_reading_sent_while_the_meter_is_replaced_lands_on_one_side_of_it(db, storage, society):
    """A meter change and readings of the same meter at the same moment: each reading is stored on the
    old chain before the change or refused after it; the chains stay whole."""
    submit(db, storage, "1000", d(2026, 10, 1))
    eng = engineer_user(storage)
    calls = [lambda: change(db, storage, change_date=d(2026, 11, 10), final_reading="1500")]
    calls += [lambda i=i: db.insert_meter_reading(meter_number=B17, reading_value=str(1100 + 10 * i),
                                                  reading_date=d(2026, 10, 2 + i), actor=eng) for i in range(5)]
    results = all_at_once(calls)
    assert not isinstance(results[0], Exception), results[0]
    for r in results[1:]:
        assert not isinstance(r, Exception) or (isinstance(r, ValidationError) and r.field == "meter"), r
    old = society["meters"][B17]
    assert chain_problems(storage, old) == []
    assert meter_readings(storage, old)[-1].id == results[0].final_reading_id
