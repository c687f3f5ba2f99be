"""Reading validation at ingestion."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import ValidationError
from services.readings_rules import MeterInfo, NeighbourReading, assess_reading

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
