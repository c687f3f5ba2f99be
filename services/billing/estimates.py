"""Estimated bills and their true-up (issue 20; pure rules, no I/O).

An account of a meter-read plan with no approved reading in the period can be billed an estimate
by the month run (`estimate=True`): the average daily consumption of its last `BASIS_READINGS`
approved readings, times the period's days, rounded half-up to whole units. The bill covers no
reading; its `tariff_details["estimate"]` keeps the basis (the readings, their span and units, the
daily average and the days) and its energy line says it is estimated.

The next bill that covers actual readings trues it up: it charges the units of the readings it
covers (everything since the last actual reading) less the estimated units still open (of estimates
of periods starting on or before its last reading's date), and records
what it deducted (`tariff_details["estimate"]["deducted_units"]`, with the actual units). When the
actual units are fewer than the open estimate, it deducts only as many as there are: the bill
charges 0 units and the rest stays open for the next actual bill. So money is never negative and
no credit is invented, and every unit is billed exactly once:

    sum of an account's standing bills' units
      = sum of the units of the readings they cover + the open estimate (>= 0)

where the open estimate is the estimated units of its standing estimated bills less the units its
standing bills deducted. A superseded or cancelled bill counts for neither side.

A plan priced by daily usage (water) estimates from the account's daily usage instead
(`estimate_usage`): the average of the days with usage in the RECENT_DAYS before the period, times a
seasonal factor, times the period's days, to the cent. The seasonal factor is how the same period a
year before compared with the RECENT_DAYS before it (the same step, a year earlier), bounded to
SEASON_BOUNDS; 1 when last year is too thin to say. An estimated water bill charges no days of
usage (its usage_from/usage_to stay empty), so usage for those days that arrives later is stored,
and the next bill charges every unbilled day since the last billed one, less the open estimate.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
FACTOR = Decimal("0.0001")
BASIS_READINGS = 3  # readings with consumption the average is taken over (their span needs one more)
WHOLE = Decimal("1")


@dataclass(frozen=True)
class HistoryReading:
    """An approved reading of the account, as the estimate sees it."""

    reading_id: int
    reading_date: dt.date
    units: Decimal | None  # confirmed units, else the consumption; None for a meter's first reading


@dataclass(frozen=True)
class Estimate:
    units: Decimal
    daily: Decimal  # units a day, to 4 places
    days: int
    basis: dict  # what it was computed from, stored on the bill

    def details(self) -> dict:
        return {"estimated": True, "units": str(self.units), "daily": str(self.daily), "days": self.days,
                **self.basis}


def estimate(history: list[HistoryReading], start: dt.date, end: dt.date) -> Estimate | None:
    """The estimate of the period [start, end] from the account's newest approved readings (oldest
    first, at most BASIS_READINGS + 1). None when there is no basis: fewer than two readings, all
    on one day, or none with consumption."""
    rows = sorted(history, key=lambda h: (h.reading_date, h.reading_id))[-(BASIS_READINGS + 1):]
    if len(rows) < 2:
        return None
    span = (rows[-1].reading_date - rows[0].reading_date).days
    measured = [h for h in rows[1:] if h.units is not None]
    if span <= 0 or not measured:
        return None
    used = sum((h.units for h in measured), ZERO)
    days = (end - start).days + 1
    units = (used * days / span).quantize(WHOLE, ROUND_HALF_UP)
    daily = (used / span).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    basis = {"basis_readings": [h.reading_id for h in rows], "basis_from": rows[0].reading_date.isoformat(),
             "basis_to": rows[-1].reading_date.isoformat(), "basis_units": str(used), "basis_days": span}
    return Estimate(units.quantize(ZERO), daily, days, basis)


RECENT_DAYS = 90  # daily usage: the window before the period the average is taken over
MIN_BASIS_DAYS = 28  # days with usage in that window below which there is no estimate
SEASON_BOUNDS = (Decimal("0.25"), Decimal("4"))  # a seasonal factor outside them says more about the data


@dataclass(frozen=True)
class UsageWindow:
    """An account's daily usage over a span of days: the days that have a row, and their sum."""

    first: dt.date
    last: dt.date
    days: int = 0
    units: Decimal = ZERO

    @property
    def daily(self) -> Decimal | None:
        return self.units / self.days if self.days else None


def usage_windows(start: dt.date, end: dt.date) -> tuple[tuple[dt.date, dt.date], ...]:
    """The spans a daily-usage estimate of [start, end] reads: the RECENT_DAYS before it, the same
    period a year before, and the RECENT_DAYS before that."""
    ly_start, ly_end = _year_before(start), _year_before(end)
    return ((start - dt.timedelta(days=RECENT_DAYS), start - dt.timedelta(days=1)), (ly_start, ly_end),
            (ly_start - dt.timedelta(days=RECENT_DAYS), ly_start - dt.timedelta(days=1)))


def _year_before(day: dt.date) -> dt.date:
    return day.replace(year=day.year - 1, day=28) if (day.month, day.day) == (2, 29) else day.replace(year=day.year - 1)


def season_factor(last_year: UsageWindow, before: UsageWindow) -> Decimal:
    """Last year's step from the RECENT_DAYS before the period into the period; 1 when last year has
    fewer than half the period's days or fewer than MIN_BASIS_DAYS before it, or used nothing then."""
    period_days = (last_year.last - last_year.first).days + 1
    if last_year.days * 2 < period_days or before.days < MIN_BASIS_DAYS or not before.units:
        return Decimal("1.0000")
    low, high = SEASON_BOUNDS
    return min(max(last_year.daily / before.daily, low), high).quantize(FACTOR, ROUND_HALF_UP)


def estimate_usage(recent: UsageWindow, last_year: UsageWindow, before: UsageWindow, start: dt.date,
                   end: dt.date) -> Estimate | None:
    """The estimate of [start, end] from daily usage (the windows of usage_windows); None with fewer
    than MIN_BASIS_DAYS days of usage in the recent window."""
    if recent.days < MIN_BASIS_DAYS:
        return None
    factor = season_factor(last_year, before)
    days = (end - start).days + 1
    units = (recent.units * factor * days / recent.days).quantize(CENT, ROUND_HALF_UP)
    daily = (recent.units * factor / recent.days).quantize(FACTOR, ROUND_HALF_UP)
    basis = {"basis_from": recent.first.isoformat(), "basis_to": recent.last.isoformat(),
             "basis_units": str(recent.units), "basis_days": recent.days, "season_factor": str(factor),
             "season_basis": {"last_year_from": last_year.first.isoformat(), "last_year_to": last_year.last.isoformat(),
                              "last_year_units": str(last_year.units), "last_year_days": last_year.days,
                              "before_units": str(before.units), "before_days": before.days}}
    return Estimate(units, daily, days, basis)


def first_unbilled_day(billed_to: dt.date | None, first_estimate: dt.date | None, start: dt.date) -> dt.date:
    """The first day a usage-priced bill starting on `start` charges: the day after the account's last
    billed day (before `start` when usage came after its month's run); with no billed day, `start` or
    the start of its first estimated bill, whichever is earlier."""
    if billed_to is not None:
        return billed_to + dt.timedelta(days=1)
    return min(first_estimate, start) if first_estimate is not None else start


@dataclass(frozen=True)
class TrueUp:
    actual: Decimal  # the units of the readings the bill covers
    deducted: Decimal  # of the open estimate
    billed: Decimal  # actual - deducted, never below zero

    def details(self) -> dict:
        return {"actual_units": str(self.actual), "deducted_units": str(self.deducted)}


def true_up(actual: Decimal, open_estimate: Decimal) -> TrueUp | None:
    """What a bill covering `actual` units charges with `open_estimate` units billed on estimates
    before it; None when nothing is open."""
    if open_estimate <= 0:
        return None
    deducted = min(actual, open_estimate)
    return TrueUp(actual, deducted, actual - deducted)


@dataclass(frozen=True)
class EstimateEntry:
    """A standing bill's `tariff_details["estimate"]`: an estimate, or what a bill deducted."""

    bill_id: int
    period_start: dt.date
    info: dict


def open_estimate(entries, upto: dt.date | None = None) -> Decimal:
    """The open estimate of an account's standing bills' entries: the units of its estimated bills
    less what its bills deducted. With `upto` (the date of the last reading a bill covers) only the
    estimates of periods starting on or before it count: a reading measures the months up to its
    date, not an estimate of a later month."""
    total = ZERO
    for e in entries:
        if e.info.get("estimated") and (upto is None or e.period_start <= upto):
            total += Decimal(e.info["units"])
        total -= Decimal(e.info.get("deducted_units") or "0")
    return total


def deducted_units(tariff_details: dict | None) -> Decimal:
    info = (tariff_details or {}).get("estimate") or {}
    return Decimal(info.get("deducted_units") or "0")


def is_estimated(tariff_details: dict | None) -> bool:
    return bool(((tariff_details or {}).get("estimate") or {}).get("estimated"))


def mark(priced, info: dict, label: str):
    """`priced` (services.billing.pricing.PricedBill) with the estimate entry in its tariff details and
    its quantity lines (energy; a tiered plan's tiers) saying so. The plan's arithmetic is untouched: the
    bill recomputes from its units."""
    lines = tuple(replace(ln, label=f"{ln.label} ({label})") if ln.code == "energy" or ln.code.startswith("tier_")
                  else ln for ln in priced.lines)
    return replace(priced, tariff_details={**priced.tariff_details, "estimate": info}, lines=lines)


# Short: a bill line is one line on the PDF. The bill's page and PDF spell the basis out.
def estimated_label(e: Estimate, unit: str) -> str:
    return "estimated"


def true_up_label(t: TrueUp, unit: str) -> str:
    return f"after {t.deducted} {unit} estimated".replace("  ", " ")
