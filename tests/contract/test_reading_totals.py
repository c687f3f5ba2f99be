"""The pager's total of an unbilled list is exact: readings a bill references are not counted,
pending ones included (a flat's bill may reference the shared motor's reading before review)."""
import datetime as dt

from services.models import ReadingFilter
from tests.factories import admin_user, engineer_user

d = dt.date


def test_unbilled_total_leaves_out_referenced_readings(db, storage, society):
    eng, admin = engineer_user(storage), admin_user(storage)
    db.insert_meter_reading(meter_number="81000001", reading_value=5000, reading_date=d(2026, 9, 20), actor=eng)
    motor = db.insert_meter_reading(meter_number="81000001", reading_value=5400, reading_date=d(2026, 10, 20),
                                    actor=eng).reading
    base = db.insert_meter_reading(meter_number="19152159", reading_value=1000, reading_date=d(2026, 9, 20),
                                   actor=eng).reading
    flat = db.insert_meter_reading(meter_number="19152159", reading_value=1100, reading_date=d(2026, 10, 20),
                                   actor=eng).reading
    before = db.list_pending_readings(ReadingFilter(), actor=admin)
    assert before.total == len(before.items) == 4  # two baselines, the motor's and the flat's October readings
    db.approve_reading(base.id, actor=admin)
    db.approve_reading(flat.id, actor=admin)
    db.create_bill("B17-FF", "2026-10-01", "2026-10-31", "2026-11-15", flat_units=100, motor_units=10,
                   last_reading_id=flat.id, motor_reading_id=motor.id)
    after = db.list_pending_readings(ReadingFilter(), actor=admin)
    assert motor.id not in {r.id for r in after.items}
    assert after.total == len(after.items) == 1  # the motor's baseline
    # The bill covers both flat readings (the baseline with 0 units): only the motor's baseline is unbilled.
    assert db.list_readings(ReadingFilter(status=None, unbilled_only=True), actor=admin).total == 1
    assert db.list_readings(ReadingFilter(status=None), actor=admin).total == 4
    flagged = db.list_pending_readings(ReadingFilter(flagged_only=True, area_id=society["areas"]["B"]), actor=admin)
    assert flagged.total == len(flagged.items)
