"""Readings: ingestion, double taps, review queue, approval."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import ConflictError, PermissionDeniedError, ValidationError
from services.models import BillFilter, ReadingFilter
from tests.factories import admin_user, engineer_user

d = dt.date


def submit(db, storage, value, date, meter="19152159", **kw):
    return db.insert_meter_reading(meter_number=meter, reading_value=value, reading_date=date,
                                   actor=kw.pop("actor", None) or engineer_user(storage), **kw)


def test_consumption_against_previous_by_date(db, storage):
    first = submit(db, storage, "1000", d(2026, 9, 20))
    assert first.created and first.reading.consumption is None
    assert {f.code for f in first.flags} == {"no_history"}
    second = submit(db, storage, "1180.5", d(2026, 10, 20))
    assert second.reading.consumption == D("180.50") and second.previous_value == D("1000.00")
    assert second.reading.previous_reading_id == first.reading.id
    assert second.reading.submitted_by_name == "eng1" and second.reading.account_code == "B17-FF"


def test_double_tap_stores_one_row(db, storage):
    a = submit(db, storage, "1000", d(2026, 11, 20))
    b = submit(db, storage, "1000", d(2026, 11, 20))
    assert a.created and not b.created and a.reading.id == b.reading.id
    assert storage.table_counts(["readings"])["readings"] == 1


def test_refusals_store_nothing(db, storage):
    submit(db, storage, "1000", d(2026, 10, 20))
    cases = [
        (dict(value="900", date=d(2026, 11, 20)), "reading_value"),
        (dict(value="-1", date=d(2026, 11, 20)), "reading_value"),
        (dict(value="12a", date=d(2026, 11, 20)), "reading_value"),
        (dict(value="1100", date=d(2026, 11, 23)), "reading_date"),
        (dict(value="1100", date=d(2026, 11, 20), meter="00000000"), "meter"),
    ]
    for kwargs, field in cases:
        with pytest.raises(ValidationError) as e:
            submit(db, storage, kwargs["value"], kwargs["date"], meter=kwargs.get("meter", "19152159"))
        assert e.value.field == field
    assert storage.table_counts(["readings"])["readings"] == 1


def test_inactive_meter_refused(db, storage, society):
    import sqlalchemy as sa

    if not hasattr(storage, "engine"):
        pytest.skip("meter status is changed with SQL here")
    from database.schema import meters

    with storage.engine.begin() as c:
        c.execute(meters.update().where(meters.c.meter_number == "19150001").values(status="inactive"))
    with pytest.raises(ValidationError) as e:
        submit(db, storage, "10", d(2026, 11, 1), meter="19150001")
    assert "inactive" in str(e.value)
    _ = sa


def test_engineer_may_submit_but_not_review(db, storage):
    eng = engineer_user(storage)
    r = submit(db, storage, "1000", d(2026, 11, 20), actor=eng).reading
    with pytest.raises(PermissionDeniedError):
        db.approve_reading(r.id, actor=eng)
    with pytest.raises(PermissionDeniedError):
        db.list_pending_readings(actor=eng)
    mine = db.list_readings(ReadingFilter(status=None), actor=eng)
    assert [x.id for x in mine.items] == [r.id]
    other = engineer_user(storage)
    assert db.list_readings(ReadingFilter(status=None), actor=other).total == 1  # same user, sanity


def _history(db, storage, meter, values, start=d(2026, 5, 20)):
    date = start
    out = []
    for v in values:
        out.append(submit(db, storage, v, date, meter=meter))
        date = (date.replace(day=1) + dt.timedelta(days=32)).replace(day=20)
    return out


def test_one_accounts_readings_by_its_id_are_that_accounts_only(db, storage, society):
    b = _history(db, storage, "19152159", ["1000", "1300"])
    _history(db, storage, "19150001", ["100", "400", "700"])
    b17 = storage.get_account(code="B17-FF")
    page = storage.list_readings(ReadingFilter(status=None, account_id=b17.id), 0, 10)
    assert page.total == 2 and [r.id for r in page.items] == [b[1].reading.id, b[0].reading.id]  # newest first
    assert {r.account_code for r in page.items} == {"B17-FF"}
    assert storage.list_readings(ReadingFilter(status=None, account_id=b17.id, account_code="A1"), 0, 10).items == []


def test_pending_queue_filters_in_the_database(db, storage, society):
    admin = admin_user(storage)
    b = _history(db, storage, "19152159", ["1000", "1300", "1610", "1900", "2200", "2500", "5500"])  # last: spike
    a = _history(db, storage, "19150001", ["100", "400", "700", "1000", "1300", "1600", "1900"])
    for o in b[:-1] + a[:-1]:
        db.approve_reading(o.reading.id, actor=admin)
    pending = db.list_pending_readings(actor=admin)
    assert pending.total == 2 and {r.account_code for r in pending.items} == {"B17-FF", "A1-GF"}
    flagged = db.list_pending_readings(ReadingFilter(flagged_only=True), actor=admin)
    assert [r.account_code for r in flagged.items] == ["B17-FF"]
    assert flagged.items[0].flags[0]["code"] == "outlier_high"
    assert db.list_pending_readings(ReadingFilter(area_id=society["areas"]["A"]), actor=admin).total == 1
    assert db.list_pending_readings(ReadingFilter(area_id=society["areas"]["B/FF"]), actor=admin).total == 1
    assert db.list_pending_readings(ReadingFilter(date_from=d(2026, 11, 21)), actor=admin).total == 0
    assert db.list_pending_readings(ReadingFilter(date_to=d(2026, 11, 20)), actor=admin).total == 2
    page = db.list_readings(ReadingFilter(status="approved"), offset=0, limit=5, actor=admin)
    assert len(page.items) == 5 and page.total == 12 and page.has_next


def test_bulk_approve_only_unflagged(db, storage):
    admin = admin_user(storage)
    b = _history(db, storage, "19152159", ["1000", "1300", "1610", "1900", "2200", "2500", "5500"])
    ids = [o.reading.id for o in b]
    n = db.bulk_approve_unflagged(ids, actor=admin)
    # The first reading carries a no_history flag and the last is a spike: both stay pending.
    assert n == 5
    left = db.list_pending_readings(actor=admin)
    assert {r.id for r in left.items} == {ids[0], ids[-1]}


def test_approve_reject_rules(db, storage):
    admin = admin_user(storage)
    r = submit(db, storage, "1000", d(2026, 11, 20)).reading
    with pytest.raises(ValidationError):
        db.reject_reading(r.id, "  ", actor=admin)
    rej = db.reject_reading(r.id, "photo does not show the meter", actor=admin)
    assert rej.status == "rejected" and rej.rejection_reason == "photo does not show the meter"
    with pytest.raises(ConflictError):
        db.approve_reading(r.id, actor=admin)
    r2 = submit(db, storage, "1001", d(2026, 11, 21)).reading
    ok = db.approve_reading(r2.id, actor=admin, approved_units="175.5")
    assert ok.status == "approved" and ok.approved_units == D("175.50") and ok.reviewed_by == admin.user_id
    actions = [a.action for a in storage.list_audit(entity_type="reading").items]
    assert "reading.reject" in actions and "reading.approve" in actions


def test_rejected_reading_is_not_a_neighbour(db, storage):
    admin = admin_user(storage)
    r = submit(db, storage, "5000", d(2026, 10, 20)).reading
    db.reject_reading(r.id, "misread", actor=admin)
    ok = submit(db, storage, "1000", d(2026, 11, 20))
    assert ok.created and ok.reading.consumption is None


def test_bill_a_reading_uses_monthly_units_without_subtraction(db, storage):
    admin = admin_user(storage)
    base = submit(db, storage, "1000", d(2026, 9, 20)).reading
    db.approve_reading(base.id, actor=admin)  # a pending earlier reading would hold this one back
    r = submit(db, storage, "1180", d(2026, 10, 20), motor_share="7.5").reading
    db.approve_reading(r.id, actor=admin, approved_units="150")
    bill = db.bill_reading(r.id, d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 15), actor=admin)
    assert bill.units == D("150.00") and bill.motor_units == D("7.50") and bill.last_reading_id == r.id
    unbilled = db.list_readings(ReadingFilter(status="approved", unbilled_only=True), actor=admin)
    assert unbilled.total == 0 and db.get_reading(r.id).bill_id == bill.id
    assert storage.readings_billed([r.id]) == {r.id}


def test_bill_a_pending_reading_refused(db, storage):
    r = submit(db, storage, "1000", d(2026, 10, 20)).reading
    with pytest.raises(ConflictError):
        db.bill_reading(r.id, d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 15), flat_units=1)


def test_meter_choices_search(db, storage):
    page = db.list_active_meters()
    labels = [c.label for c in page.items]
    assert "B17-FF - First Floor - Test Owner - meter 19152159" in labels
    b17 = next(c for c in page.items if c.account_code == "B17-FF")
    assert b17.motor_meter_number == "81000001"
    assert [c.account_code for c in db.list_active_meters("b17").items] == ["B17-FF"]
    assert [c.account_code for c in db.list_active_meters("1915215").items] == ["B17-FF"]
    assert [c.account_code for c in db.list_active_meters("farhan").items] == ["C14-SF"]
    assert all(c.account_id for c in page.items)  # motor meters are not offered as accounts
    assert [a.path for a in storage.list_areas(level=1)] == ["A", "B", "C", "D"]
    assert [(a.path, a.name) for a in storage.list_areas(level=2)][0] == ("A/GF", "Ground Floor")


def test_a_search_term_with_like_wildcards_matches_them_literally(db, storage):
    """A code prefix is one LIKE pattern on PostgreSQL (bound whole, so an index serves it): '%', '_'
    and the escape character in the term are characters, not wildcards."""
    assert [c.account_code for c in db.list_active_meters("B1_").items] == []
    assert [c.account_code for c in db.list_active_meters("B%").items] == []
    assert [c.account_code for c in db.list_active_meters("B/").items] == []
    db.create_bill("B17-FF", d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 15), flat_units=10, previous_outstanding=0)
    assert db.list_bills(BillFilter(search="B1_")).items == [] and db.list_bills(BillFilter(search="B%")).items == []
    assert [b.account_code for b in db.list_bills(BillFilter(search="B17")).items] == ["B17-FF"]


def test_names_are_found_by_any_part_ignoring_case_and_a_renamed_owner_by_the_new_name(db, storage):
    """Owner names by any part: through the name index from three characters (an FTS5 trigram table on
    SQLite, pg_trgm on PostgreSQL; database/name_search.py), by a scan of the names below that; the
    index follows a rename."""
    from services.models import AccountFilter

    assert [c.account_code for c in db.list_active_meters("ARHAN KH").items] == ["C14-SF"]
    assert "C14-SF" in [c.account_code for c in db.list_active_meters("an").items]  # two letters: the scan
    assert "C14-SF" in [x.code for x in storage.list_accounts(AccountFilter(search="rhan k")).items]
    contact = storage.list_accounts(AccountFilter(search="C14-SF")).items[0].contact_id
    storage.update_contact(contact, {"name": "Zainab Qureshi"}, admin_user(storage))
    assert db.list_active_meters("farhan").items == []
    assert [c.account_code for c in db.list_active_meters("qureSH").items] == ["C14-SF"]
