"""Which readings a bill covers (pure rules; no I/O).

A bill that bills reading R of a flat covers every approved reading of the flat's meter(s) after
the last billed reading of that meter (the last one covered by a bill that is not superseded) up
to and including R. Its units are the sum of the covered readings' units (the admin's confirmed
`approved_units` where given, else the consumption; a meter's first reading has none and counts
0), its motor units the sum of their motor shares. Every covered reading is listed in
bill_readings, so "billed" means "covered by a bill that is not superseded".

- A pending reading of the meter between the last billed reading and R blocks billing R: a
  single bill is refused naming it, the month run bills the flat only up to the reading before it
  (or not at all, counted as waiting for review).
- Rejected readings are never covered.
- A re-issue's replacement covers the readings the bill it replaces covered (and any approved
  readings after them up to R).

The storage backends find the chain of readings (set-based for the run); this module decides.
"""
from __future__ import annotations

import datetime as dt
from operator import attrgetter
from dataclasses import dataclass
from decimal import Decimal

from services.errors import ConflictError, ValidationError

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class ChainReading:
    """A reading of the flat after its meter's last billed reading, as billing sees it."""

    reading_id: int
    meter_id: int
    reading_date: dt.date
    status: str  # approved / pending (rejected readings are never in a chain)
    units: Decimal | None  # billable units: approved_units, else consumption; None for a meter's first reading
    motor_share: Decimal | None = None
    motor_reading_id: int | None = None
    covered_by: int | None = None  # the bill (not superseded) covering it; only a bill being re-issued may appear

    @property
    def key(self) -> tuple[dt.date, int]:
        return self.reading_date, self.reading_id


@dataclass(frozen=True)
class CoveredReading:
    """One row of bill_readings: what a bill charged for one reading."""

    reading_id: int
    units: Decimal
    motor_units: Decimal = ZERO


@dataclass(frozen=True)
class Coverage:
    """The approved readings one bill covers, oldest first; the last is the reading it bills."""

    readings: tuple[ChainReading, ...]

    @property
    def first(self) -> ChainReading:
        return self.readings[0]

    @property
    def last(self) -> ChainReading:
        return self.readings[-1]

    @property
    def has_units(self) -> bool:
        """False when every reading is a meter's first one: there is nothing to bill yet."""
        return any(r.units is not None for r in self.readings)

    @property
    def units(self) -> Decimal:
        return sum((r.units or ZERO for r in self.readings), ZERO)

    @property
    def motor_units(self) -> Decimal:
        return sum((r.motor_share or ZERO for r in self.readings), ZERO)

    def rows(self, units: Decimal | None = None, motor_units: Decimal | None = None) -> tuple[CoveredReading, ...]:
        """bill_readings rows. The bill's units (and motor units) when the admin confirmed other
        totals on the billed reading: the difference is that reading's (see confirm_last)."""
        out = [CoveredReading(r.reading_id, r.units or ZERO, r.motor_share or ZERO) for r in self.readings]
        last = out[-1]
        units = last.units if units is None else units - (self.units - last.units)
        motor = last.motor_units if motor_units is None else motor_units - (self.motor_units - last.motor_units)
        out[-1] = CoveredReading(last.reading_id, units, motor)
        return tuple(out)


def sort_chain(readings) -> list[ChainReading]:
    if len(readings) < 2:  # most flats have one new reading a month: nothing to sort
        return list(readings)
    return sorted(readings, key=_chain_key)


_chain_key = attrgetter("reading_date", "reading_id")  # ChainReading.key, without the property call


def run_chain(tail: list[ChainReading], start: dt.date, end: dt.date) -> tuple[Coverage | None, str]:
    """What the month run bills for one flat.

    `tail`: the flat's readings (approved or pending) after each meter's last billed reading,
    dated up to `end`, none covered. The run bills up to the latest approved reading dated in
    the period that has no pending reading before it. Returns (coverage, why): why is "ok",
    "waiting" (an approved reading in the period waits behind a pending one), "no_units" (only
    meters' first readings) or "none" (no approved reading in the period)."""
    prefix: list[ChainReading] = []
    for r in sort_chain(tail):
        if r.status != "approved":
            break
        prefix.append(r)
    if not prefix or not (start <= prefix[-1].reading_date <= end):
        in_period = any(r.status == "approved" and start <= r.reading_date <= end for r in tail)
        return None, "waiting" if in_period else "none"
    cov = Coverage(tuple(prefix))
    return (cov, "ok") if cov.has_units else (None, "no_units")


def single_chain(chain: list[ChainReading], reading_id: int, replacing: int | None) -> Coverage:
    """What a single bill of `reading_id` covers, or the refusal.

    `chain`: the flat's non-rejected readings after each meter's last reading billed (by a bill
    other than `replacing`) before the billed one, up to and including it."""
    chain = sort_chain(chain)
    if not chain or chain[-1].reading_id != reading_id:
        raise ConflictError(f"Reading #{reading_id} is not the latest reading of its chain; nothing was stored.")
    for r in chain:
        if r.status == "pending":
            raise ConflictError(
                f"Reading #{r.reading_id} of {r.reading_date} is still pending review and comes before reading "
                f"#{reading_id}, which is billed with everything since the last bill. Review reading #{r.reading_id} "
                f"of {r.reading_date} first (approve or reject it), then bill reading #{reading_id}.")
        if r.covered_by is not None and r.covered_by != replacing:
            raise ConflictError(f"Reading #{r.reading_id} is already on bill #{r.covered_by}. Nothing was stored; "
                                f"open bill #{r.covered_by}, or re-issue it.")
    return Coverage(tuple(chain))


def check_confirmed(coverage: Coverage, units: Decimal, motor_units: Decimal) -> None:
    """The admin's monthly units (and motor share) for a bill become the billed reading's: they must
    leave it at zero or more after the other covered readings' units."""
    others = coverage.units - (coverage.last.units or ZERO)
    if units < others:
        raise ValidationError(
            "units", f"{units} kWh is less than the {others} kWh the earlier readings on this bill "
            f"(#{coverage.first.reading_id} to before #{coverage.last.reading_id}) already add up to.",
            f"Enter at least {others} kWh: the monthly units cover every reading since the last bill.")
    motor_others = coverage.motor_units - (coverage.last.motor_share or ZERO)
    if motor_units < motor_others:
        raise ValidationError(
            "motor_units", f"{motor_units} kWh is less than the {motor_others} kWh of motor share the earlier "
            "readings on this bill already add up to.", f"Enter at least {motor_others} kWh.")
