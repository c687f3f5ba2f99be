"""Meter replacements and rollovers, recorded by an admin (pure rules).

A meter change ends one chain of readings and starts another, so consumption is never negative
and nothing is lost across it:

- replacement: the old meter gets its final reading (consumption = final - its previous reading,
  checked like any reading), it becomes `replaced`, and a new meter (new number, same flat or
  motor) starts with the start reading (no consumption: later readings are measured from it);
- rollover: the register wrapped past its maximum. The same meter gets the final reading (the
  value at which it wrapped, e.g. 100000 for a five-digit register) and then the start reading
  (what it showed after wrapping, usually 0), which starts a new chain on the same meter.

Both readings are dated the day of the change and stored approved by the admin; the meter may
have no reading after that day. The storage does it in one unit of work under the meter's lock
(services/storage/base.py, record_meter_change) and keeps a meter_changes row.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

from services.errors import ValidationError
from services.models import Record
from services.readings.rules import (
    MeterInfo, ReadingAssessment, ReadingContext, assess_reading, check_meter, parse_reading_date, parse_reading_value,
)

KINDS = {"replacement": "Meter replaced", "rollover": "Register rolled over"}
METER_NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")
MAX_REASON = 500


@dataclass(frozen=True)
class MeterChange(Record):
    """A stored meter change, with the meters' numbers and the two readings' values."""

    id: int
    kind: str
    old_meter_id: int
    new_meter_id: int
    change_date: dt.date
    final_reading_id: int
    start_reading_id: int
    reason: str
    recorded_by: int | None = None
    recorded_by_name: str = "system"
    created_at: dt.datetime | None = None
    old_meter_number: str | None = None
    new_meter_number: str | None = None
    account_code: str | None = None
    final_value: Decimal | None = None
    start_value: Decimal | None = None

    @property
    def kind_label(self) -> str:
        return KINDS.get(self.kind, self.kind)


@dataclass(frozen=True)
class MeterChangeRequest:
    kind: str
    meter_id: int
    meter_number: str
    change_date: dt.date
    final_value: Decimal
    start_value: Decimal
    new_meter_number: str | None  # replacement only
    reason: str


def parse_meter_change(kind: str, *, meter: MeterInfo | None, meter_ref, change_date, final_value, start_value,
                       new_meter_number: str | None, reason: str | None, today: dt.date) -> MeterChangeRequest:
    """Check the form's fields (everything that does not need the meter's stored readings)."""
    kind = (kind or "").strip().lower()
    if kind not in KINDS:
        raise ValidationError("kind", f"'{kind}' is not a kind of meter change.", "Use replacement or rollover.")
    check_meter(meter, meter_ref)
    date = parse_reading_date(change_date, today=today, field="change_date")
    final = parse_reading_value(final_value, "final_reading")
    start = parse_reading_value(start_value, "start_reading")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError("reason", "is required.", "Say what happened (e.g. 'meter burnt, replaced by MSEB').")
    if len(reason) > MAX_REASON:
        raise ValidationError("reason", f"is {len(reason)} characters long.", f"Keep it under {MAX_REASON}.")
    new_number = None
    if kind == "replacement":
        new_number = (new_meter_number or "").strip()
        if not METER_NUMBER.match(new_number):
            raise ValidationError("new_meter_number", f"'{new_number}' is not a meter number." if new_number
                                  else "is required for a replacement.",
                                  "Type the number printed on the new meter (letters, digits, '-'; up to 32).")
        if new_number == meter.meter_number:
            raise ValidationError("new_meter_number", "is the old meter's number.",
                                  "A replacement has a new number; if the register wrapped, record a rollover.")
    elif start >= final:
        raise ValidationError("start_reading", f"{start} kWh is not below the final reading {final} kWh.",
                              "For a rollover the final reading is the value at which the register wrapped (e.g. "
                              "100000 for five digits) and the start reading what it showed after (usually 0).")
    return MeterChangeRequest(kind, meter.id, meter.meter_number, date, final, start, new_number, reason)


def check_final_reading(req: MeterChangeRequest, ctx: ReadingContext, *, today: dt.date,
                        meter: MeterInfo) -> ReadingAssessment:
    """The old chain's final reading, against the meter's readings read inside its lock: checked like
    any reading (not below the previous one, no implausible jump), and nothing may come after it."""
    if ctx.following is not None:
        f = ctx.following
        raise ValidationError("change_date", f"meter {req.meter_number} has a reading after {req.change_date} "
                              f"(#{f.id} of {f.reading_date}, {f.reading_value} kWh).",
                              "Date the change on or after the meter's last reading, or reject the later readings first.")
    try:
        return assess_reading(req.final_value, req.change_date, today=today, meter=meter, previous=ctx.previous)
    except ValidationError as exc:
        if exc.field != "reading_value":
            raise
        raise ValidationError("final_reading", exc.message.split(" If the meter")[0],
                              "The final reading is the old register's last value; check the digits.") from None
