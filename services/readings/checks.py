"""Deterministic statistical checks on a reading against its meter's own history (pure).

Every flag carries a reason a reviewer can read. Consumption is compared per day, so a
reading taken after 35 days is not mistaken for a spike. Thresholds come from the
environment (READING_Z_THRESHOLD, READING_GAP_DAYS, READING_DROP_RATIO).
"""
from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Flag:
    code: str  # outlier_high / outlier_low / drop / gap / zero / no_history
    reason: str

    def as_dict(self) -> dict:
        return {"code": self.code, "reason": self.reason}


@dataclass(frozen=True)
class HistoryPoint:
    consumption: Decimal
    days: int


def _env(name: str, default: str) -> float:
    return float(os.environ.get(name, default))


def check_reading(consumption: Decimal | None, days: int | None, history: list[HistoryPoint], *,
                  z_threshold: float | None = None, gap_days: int | None = None,
                  drop_ratio: float | None = None, min_history: int = 3) -> list[Flag]:
    z_threshold = z_threshold if z_threshold is not None else _env("READING_Z_THRESHOLD", "3")
    gap_days = gap_days if gap_days is not None else int(_env("READING_GAP_DAYS", "45"))
    drop_ratio = drop_ratio if drop_ratio is not None else _env("READING_DROP_RATIO", "0.25")
    flags: list[Flag] = []
    if consumption is None:
        return [Flag("no_history", "First reading of this meter: no previous reading to compute consumption from.")]
    if days is not None and days > gap_days:
        flags.append(Flag("gap", f"{days} days since the previous reading (more than {gap_days})."))
    if consumption == 0:
        flags.append(Flag("zero", "Zero consumption since the previous reading: meter stuck or flat empty?"))
    rates = [float(p.consumption) / max(p.days, 1) for p in history if p.days]
    if len(rates) < min_history or not days:
        return flags
    today_rate = float(consumption) / max(days, 1)
    mean = statistics.fmean(rates)
    median = statistics.median(rates)
    # A floor on sigma (15% of the mean) keeps a steady history from flagging seasonal swings.
    sigma = max(statistics.pstdev(rates), 0.15 * abs(mean), 0.1)
    z = (today_rate - mean) / sigma
    if z > z_threshold:
        # Said in a field engineer's words (issue 18): how far from usual, not "10.9 sigma".
        flags.append(Flag("outlier_high", f"{today_rate:.1f} kWh/day is far above this meter's usual "
                                          f"{mean:.1f} kWh/day (its last {len(rates)} readings): check the value "
                                          "and the photo."))
    elif z < -z_threshold:
        flags.append(Flag("outlier_low", f"{today_rate:.1f} kWh/day is far below this meter's usual "
                                         f"{mean:.1f} kWh/day (its last {len(rates)} readings): check the value "
                                         "and the photo."))
    if consumption > 0 and median > 0 and today_rate < drop_ratio * median:
        flags.append(Flag("drop", f"{today_rate:.1f} kWh/day is under {int(drop_ratio * 100)}% of this meter's "
                                  f"usual {median:.1f} kWh/day."))
    return flags


def history_points(history) -> list[HistoryPoint]:
    """Consumption per interval from a meter's readings, newest first (objects with `consumption`
    and `reading_date`); a reading without consumption (a chain's first) gives no point."""
    points = []
    for newer, older in zip(history, history[1:]):
        if newer.consumption is not None:
            points.append(HistoryPoint(newer.consumption, max((newer.reading_date - older.reading_date).days, 1)))
    return points
