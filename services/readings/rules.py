"""Meter reading validation at ingestion, relinking and meter changes (pure).

Order. A meter's non-rejected readings form a chain ordered by date, and readings of the same
date in the order they were stored (id): a reading sent later on a day comes after that day's
stored readings, so it is compared with the day's last reading like any other previous reading.
Rejected readings are out of the chain. consumption = this reading - the previous reading in
that order (None for the first); previous_reading_id points at it.

A reading is refused, with the field named and the fix, when it is: missing or not a number,
negative, absurd (above the register's range, or implying more than MAX_KWH_PER_DAY), dated in
the future, on an unknown or inactive meter, below the previous reading (a rollover or meter
change is recorded by an admin on the Meters page, never stored as negative consumption), or
above the next later reading already stored.

Back-dating. A reading dated before a stored one is slotted into the chain: the later reading
is re-measured from it (new consumption and previous_reading_id, in the same unit of work,
audited). That is refused when the later reading is billed (a billed consumption never changes)
or an admin confirmed its monthly units (they were confirmed for the old interval), or when the
later reading would then imply more than MAX_KWH_PER_DAY. Rejecting a reading re-measures the
reading after it from the one before it, under the same two refusals.

The storage reads the neighbours inside the meter's lock and calls these functions there
(services/storage/base.py, insert_reading_checked). The statistical checks in
services.readings.checks only flag.
"""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from decimal import Decimal

from services.errors import ConflictError, ValidationError
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
    account_id: int | None
    motor_id: int | None = None


@dataclass(frozen=True)
class NeighbourReading:
    id: int
    reading_value: Decimal
    reading_date: dt.date
    consumption: Decimal | None = None
    previous_reading_id: int | None = None
    # What re-measuring it would touch (read for the later neighbour and a rejected reading's follower).
    billed: bool = False
    approved_units: Decimal | None = None


@dataclass(frozen=True)
class ReadingContext:
    """A meter's chain around a new reading, read by the storage inside the meter's lock."""

    previous: NeighbourReading | None  # the last reading in chain order at or before the date
    following: NeighbourReading | None  # the first reading dated after it
    history: tuple[NeighbourReading, ...] = ()  # newest first, ending the chain at `previous`
    meter: MeterInfo | None = None  # the meter as it is inside the lock (it may have been replaced)


@dataclass(frozen=True)
class ReadingPlan:
    """What the rules decided, for the storage to write in the same unit of work: the new row
    (a services.models.NewReading) and, when it is slotted in before a stored reading, that
    reading's new consumption (measured from the new row)."""

    new: object
    following_id: int | None = None
    following_consumption: Decimal | None = None


@dataclass(frozen=True)
class ReadingAssessment:
    reading_value: Decimal
    reading_date: dt.date
    consumption: Decimal | None  # None for a meter's first reading
    previous_reading_id: int | None
    days_since_previous: int | None
    # The later reading re-measured from this one (back-dating), or None when there is none.
    following_id: int | None = None
    following_consumption: Decimal | None = None


@dataclass(frozen=True)
class Relink:
    """A stored reading re-measured: its new previous reading and consumption."""

    reading_id: int
    previous_reading_id: int | None
    consumption: Decimal | None


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
            same_day = " (stored earlier the same day)" if previous.reading_date == d else ""
            raise ValidationError(
                "reading_value",
                f"{v} kWh is below the previous reading {previous.reading_value} kWh of "
                f"{previous.reading_date}{same_day}.",
                f"Check the digits. {METER_CHANGE_HINT}",
            )
        consumption = v - previous.reading_value
        days = max((d - previous.reading_date).days, 1)
        _check_rate(consumption, days, f"{v} kWh implies", f"since {previous.reading_date}")
    following_consumption = None
    if following is not None:
        if v > following.reading_value:
            raise ValidationError(
                "reading_value",
                f"{v} kWh is above the later reading {following.reading_value} kWh of {following.reading_date}.",
                "Check the date and the digits.",
            )
        _check_relinkable(following, lambda problem: ValidationError(
            "reading_date", f"{d} is before reading #{following.id} of {following.reading_date} "
            f"({following.reading_value} kWh), which {problem}.",
            "Check the date. That later reading already counts the use up to it; nothing was stored."))
        following_consumption = following.reading_value - v
        _check_rate(following_consumption, max((following.reading_date - d).days, 1),
                    f"{v} kWh on {d} would leave the later reading {following.reading_value} kWh of "
                    f"{following.reading_date} implying", f"since {d}")
    return ReadingAssessment(v, d, consumption, previous.id if previous else None, days,
                             following.id if following else None, following_consumption)


METER_CHANGE_HINT = ("If the meter rolled over or was replaced, an admin records the meter change on the Meters "
                     "page (Admin > Meters) and the reading is then taken on it; nothing was stored.")


def _check_rate(consumption: Decimal, days: int, what: str, since: str) -> None:
    if consumption > max_kwh_per_day() * days:
        raise ValidationError(
            "reading_value",
            f"{what} {consumption} kWh in {days} day(s) {since}, more than {max_kwh_per_day()} kWh a day.",
            "Check the digits for an extra one.",
        )


def _check_relinkable(reading: NeighbourReading, error) -> None:
    """A stored reading may be re-measured only while nothing rests on its consumption.
    `error(problem)` builds the exception; problem reads "is already billed ..." / "has ..."."""
    if reading.billed:
        raise error("is already billed (a billed consumption never changes)")
    if reading.approved_units is not None:
        raise error(f"has monthly units ({reading.approved_units} kWh) an admin confirmed for the interval it "
                    "covers now")


def relink_after_rejection(rejected_id: int, before: NeighbourReading | None,
                           follower: NeighbourReading | None) -> Relink | None:
    """Rejecting a reading takes it out of the chain: the reading that was measured from it is
    re-measured from the one before it (or becomes the first). ConflictError when that is not allowed."""
    if follower is None:
        return None
    _check_relinkable(follower, lambda problem: ConflictError(
        f"Reading #{rejected_id} cannot be rejected: reading #{follower.id} of {follower.reading_date} "
        f"({follower.reading_value} kWh) is measured from it and {problem}. Nothing was changed; approve it "
        "instead, or leave it pending."))
    if before is None:
        return Relink(follower.id, None, None)
    return Relink(follower.id, before.id, follower.reading_value - before.reading_value)
