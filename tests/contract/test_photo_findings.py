"""Reused or stale meter photos through the storage contract, on every backend (docs/trust.md):
the prints are stored and looked up by the backend, and the findings are read through the reader's
scope in the database. An area-limited reviewer is told that a photo matches one of a meter outside
their areas, but never which meter, account, reading or photo; a reading outside their areas has no
findings for them, and a customer sees none."""
import datetime as dt

from services import photo_checks as pc
from services.accounts.scopes import Scope
from tests.factories import engineer_user

B17 = "c3a5e1f00f1e5a3c"  # B17-FF's October photo (block B)
NEAR = "c3a5e1f00f1e5a3d"  # the same photo re-sent: 1 bit apart
OTHER = "0123456789abcdef"  # a photo of its own


def reading_with_photo(db, storage, eng, meter_number, value, date, phash, taken=None):
    meter = storage.get_meter(meter_number=meter_number)
    ref = f"{meter_number}/{date}.jpg"
    rd = db.insert_meter_reading(meter_id=meter.id, reading_value=value, reading_date=date, photo_ref=ref,
                                 actor=eng).reading
    storage.record_photo_print(rd.id, meter.id, date, pc.PhotoPrint(phash, taken), ref)
    return rd


def test_a_reused_photo_is_found_and_an_area_limited_reader_sees_it_without_the_other_side(storage, db, society):
    eng = engineer_user(storage)
    first = reading_with_photo(db, storage, eng, "19152159", 1000, dt.date(2026, 10, 20), B17)  # B17-FF
    own = reading_with_photo(db, storage, eng, "19150002", 40, dt.date(2026, 10, 21), OTHER)  # C14-SF
    copied = reading_with_photo(db, storage, eng, "19150001", 620, dt.date(2026, 11, 20), NEAR)  # A1-GF
    storage.record_photo_print(copied.id, copied.meter_id, copied.reading_date, pc.PhotoPrint(OTHER, None), "x")
    assert storage.photo_findings(own.id) == []
    [f] = storage.photo_findings(copied.id)  # the whole utility: who and which photo (a repeat kept the first print)
    assert (f.kind, f.other_reading_id, f.other_account, f.other_meter, f.other_photo_ref, f.distance) == \
        ("reused", first.id, "B17-FF", "19152159", "19152159/2026-10-20.jpg", 1)

    block_a = storage.scoped(Scope.of(["A"]))
    [hidden] = block_a.photo_findings(copied.id)
    assert hidden.kind == "reused" and hidden.other_date == dt.date(2026, 10, 20) and hidden.distance == 1
    assert (hidden.other_reading_id, hidden.other_account, hidden.other_meter, hidden.other_photo_ref) == \
        (None, None, None, None)
    assert "a meter outside your areas" in hidden.reason
    assert "B17" not in hidden.reason and "19152159" not in hidden.reason
    assert block_a.photo_findings(first.id) == []  # B17-FF's reading is not block A's to check

    block_b = storage.scoped(Scope.of(["B"]))
    [back] = block_b.photo_findings(first.id)  # another meter's photo on any date: flagged both ways
    assert back.kind == "reused" and back.other_account is None and back.other_photo_ref is None

    customer = storage.scoped(Scope(frozenset({"A/GF"}), frozenset({society["accounts"]["A1-GF"]})))
    assert customer.photo_findings(copied.id) == []  # their own meter's photo: still a reviewer's tool


def test_a_stale_photo_is_found_through_the_scope_and_reading_ids_outside_it_are_not(storage, db, society):
    eng = engineer_user(storage)
    old = reading_with_photo(db, storage, eng, "19150001", 40, dt.date(2026, 11, 18), OTHER,
                             taken=dt.datetime(2026, 8, 1, 9, 0))
    [f] = storage.scoped(Scope.of(["A"])).photo_findings(old.id)
    assert f.kind == "stale" and "2026-08-01" in f.reason
    assert storage.scoped(Scope.of(["B"])).photo_findings(old.id) == []
    assert storage.photo_findings(old.id + 999) == []
