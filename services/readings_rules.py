"""Meter reading validation at ingestion (pure).

consumption = this reading - the previous reading of the same meter (by date). A reading is
refused, with the field named and the fix, when it is: missing or not a number, negative,
absurd (above the register's range, or implying more than MAX_KWH_PER_DAY), dated in the
future, on an unknown or inactive meter, below the previous reading (a rollover or meter
change must be recorded by an admin, never stored as negative consumption), or above the next
later reading already stored. The statistical checks in services.reading_checks only flag.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from decimal import Decimal

from services.errors import ValidationError
from services.money import parse_decimal

MAX_READING_VALUE = Decimal("9999999999.99")  # NUMERIC(12,2)
EARLIEST_READING_DATE = dt.date(2000, 1, 1)


def max_kwh_per_day() -> Decimal:
    return Decimal(os.environ.get("MAX_KWH_PER_DAY", "2000"))


@dataclass(frozen=True)
class MeterInfo:
    id: int
    meter_number: str
    status: str
    flat_id: int | None
    motor_id: int | None = None


@dataclass(frozen=True)
class NeighbourReading:
    id: int
    reading_value: Decimal
    reading_date: dt.date


@dataclass(frozen=True)
class ReadingAssessment:
    reading_value: Decimal
    reading_date: dt.date
    consumption: Decimal | None  # None for a meter's first reading
    previous_reading_id: int | None
    days_since_previous: int | None


def parse_reading_value(value, field: str = "reading_value") -> Decimal:
    return parse_decimal(value, field, maximum=MAX_READING_VALUE, unit="kWh")


def parse_reading_date(value, *, today: dt.date, field: str = "reading_date") -> dt.date:
    if isinstance(value, dt.datetime):
        value = value.date()
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            raise ValidationError(field, f"'{value}' is not a date.", "Use YYYY-MM-DD, e.g. 2026-11-20.") from None
    if not isinstance(value, dt.date):
        raise ValidationError(field, "is required.", "Pick the date the meter was read.")
    if value > today:
        raise ValidationError(field, f"{value} is in the future (today is {today}).", "Use the date the meter was actually read.")
    if value < EARLIEST_READING_DATE:
        raise ValidationError(field, f"{value} is too far in the past.", "Check the year.")
    return value


def check_meter(meter: MeterInfo | None, meter_ref) -> MeterInfo:
    if meter is None:
        raise ValidationError("meter", f"unknown meter {meter_ref}.", "Pick a meter from the list, or ask an admin to register it.")
    if meter.status != "active":
        raise ValidationError("meter", f"meter {meter.meter_number} is {meter.status}, not active.",
                              "Readings are taken only on active meters; ask an admin if it was replaced.")
    return meter


def assess_reading(value, reading_date, *, today: dt.date, meter: MeterInfo | None, meter_ref=None,
                   previous: NeighbourReading | None, following: NeighbourReading | None = None) -> ReadingAssessment:
    """Validate one reading against its meter and neighbours; return what will be stored."""
    check_meter(meter, meter_ref if meter_ref is not None else "")
    v = parse_reading_value(value)
    d = parse_reading_date(reading_date, today=today)
    consumption = days = None
    if previous is not None:
        if v < previous.reading_value:
            raise ValidationError(
                "reading_value",
                f"{v} kWh is below the previous reading {previous.reading_value} kWh of {previous.reading_date}.",
                "Check the digits. If the meter rolled over or was replaced, an admin must record the meter change; "
                "nothing was stored.",
            )
        consumption = v - previous.reading_value
        days = max((d - previous.reading_date).days, 1)
        if consumption > max_kwh_per_day() * days:
            raise ValidationError(
                "reading_value",
                f"{v} kWh implies {consumption} kWh in {days} day(s) since {previous.reading_date}, "
                f"more than {max_kwh_per_day()} kWh a day.",
                "Check the digits for an extra one.",
            )
    if following is not None and v > following.reading_value:
        raise ValidationError(
            "reading_value",
            f"{v} kWh is above the later reading {following.reading_value} kWh of {following.reading_date}.",
            "Check the date and the digits.",
        )
    return ReadingAssessment(v, d, consumption, previous.id if previous else None, days)
