"""Reading validation at ingestion."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import ValidationError
from services.readings.rules import MeterInfo, NeighbourReading, assess_reading

TODAY = dt.date(2026, 11, 22)
METER = MeterInfo(1, "19152159", "active", 10)
PREV = NeighbourReading(7, D("1200.00"), dt.date(2026, 10, 20))


def assess(value, date=dt.date(2026, 11, 20), meter=METER, previous=PREV, following=None):
    return assess_reading(value, date, today=TODAY, meter=meter, meter_ref="19152159", previous=previous,
                          following=following)


def test_consumption_is_this_minus_previous():
    a = assess("1350.5")
    assert a.consumption == D("150.5") and a.previous_reading_id == 7 and a.days_since_previous == 31


def test_first_reading_has_no_consumption():
    assert assess("1200", previous=None).consumption is None


def test_equal_to_previous_is_zero_consumption():
    assert assess("1200").consumption == 0


@pytest.mark.parametrize("value,field,text", [
    ("-5", "reading_value", "below the minimum"),
    ("abc", "reading_value", "not a number"),
    ("", "reading_value", "required"),
    (None, "reading_value", "required"),
    ("1199.99", "reading_value", "below the previous reading"),
    ("99999999999", "reading_value", "above the maximum"),
    ("500000", "reading_value", "kWh a day"),
    ("1300.123", "reading_value", "decimal places"),
])
def test_bad_values_refused_with_field(value, field, text):
    with pytest.raises(ValidationError) as e:
        assess(value)
    assert e.value.field == field and text in str(e.value)


def test_below_previous_message_names_previous_and_fix():
    with pytest.raises(ValidationError) as e:
        assess("100")
    assert "1200.00 kWh of 2026-10-20" in str(e.value) and "meter change" in str(e.value)


def test_future_date_refused():
    with pytest.raises(ValidationError) as e:
        assess("1300", date=dt.date(2026, 11, 23))
    assert e.value.field == "reading_date" and "future" in str(e.value)


def test_today_is_allowed():
    assert assess("1300", date=TODAY).reading_date == TODAY


def test_unknown_and_inactive_meter_refused():
    with pytest.raises(ValidationError) as e:
        assess("1300", meter=None)
    assert e.value.field == "meter" and "unknown meter 19152159" in str(e.value)
    with pytest.raises(ValidationError) as e:
        assess("1300", meter=MeterInfo(1, "19152159", "inactive", 10))
    assert "not active" in str(e.value)


def test_above_a_later_reading_refused():
    later = NeighbourReading(9, D("1250"), dt.date(2026, 11, 21))
    with pytest.raises(ValidationError) as e:
        assess("1300", date=dt.date(2026, 11, 1), following=later)
    assert "above the later reading" in str(e.value)


# ---- back-dating and rejection: re-measuring the later reading -------------------------------------
from services.errors import ConflictError  # noqa: E402
from services.readings.rules import Relink, relink_after_rejection  # noqa: E402

LATER = NeighbourReading(9, D("1400"), dt.date(2026, 11, 21), consumption=D("200"), previous_reading_id=7)


def test_a_back_dated_reading_re_measures_the_later_one():
    a = assess("1250", date=dt.date(2026, 11, 1), following=LATER)
    assert (a.consumption, a.previous_reading_id) == (D("50.00"), 7)
    assert (a.following_id, a.following_consumption) == (9, D("150.00"))


@pytest.mark.parametrize("later,text", [
    (NeighbourReading(9, D("1400"), dt.date(2026, 11, 21), billed=True), "which is already billed"),
    (NeighbourReading(9, D("1400"), dt.date(2026, 11, 21), approved_units=D("180")),
     "which has monthly units (180 kWh) an admin confirmed"),
])
def test_a_back_dated_reading_is_refused_when_the_later_one_cannot_change(later, text):
    with pytest.raises(ValidationError) as e:
        assess("1250", date=dt.date(2026, 11, 1), following=later)
    assert e.value.field == "reading_date" and text in str(e.value) and "reading #9 of 2026-11-21" in str(e.value)


def test_a_back_dated_reading_may_not_leave_an_implausible_jump(monkeypatch):
    monkeypatch.setenv("MAX_KWH_PER_DAY", "100")
    with pytest.raises(ValidationError) as e:
        assess("1250", date=dt.date(2026, 11, 20), following=LATER)  # 150 kWh in the last day
    assert "would leave the later reading 1400 kWh of 2026-11-21 implying 150 kWh in 1 day(s)" in str(e.value)


def test_a_same_day_previous_is_named_as_such():
    with pytest.raises(ValidationError) as e:
        assess("1199", previous=NeighbourReading(7, D("1200"), dt.date(2026, 11, 20)))
    assert "(stored earlier the same day)" in str(e.value) and "Meters page" in str(e.value)


def test_rejection_re_measures_the_follower_from_the_reading_before():
    assert relink_after_rejection(8, PREV, LATER) == Relink(9, 7, D("200.00"))
    assert relink_after_rejection(8, None, LATER) == Relink(9, None, None)  # it becomes the first
    assert relink_after_rejection(8, PREV, None) is None


def test_rejection_is_refused_when_the_follower_is_billed_or_confirmed():
    with pytest.raises(ConflictError) as e:
        relink_after_rejection(8, PREV, NeighbourReading(9, D("1400"), dt.date(2026, 11, 21), billed=True))
    assert str(e.value).startswith("Reading #8 cannot be rejected: reading #9 of 2026-11-21 (1400 kWh) is measured "
                                   "from it and is already billed")
    with pytest.raises(ConflictError):
        relink_after_rejection(8, PREV, NeighbourReading(9, D("1400"), dt.date(2026, 11, 21), approved_units=D("1")))
