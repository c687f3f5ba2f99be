"""Usage forecasts: a customer's anticipated usage for a period, with a prediction interval, from
their own daily history. Pure (numpy only).

Methods, chosen by how much history there is (docs/water.md, "Forecasts"):

- **seasonal_regression** (at least FULL_YEAR_DAYS of history): least squares on the customer's
  daily usage over the last two years (at most), with a level, one annual harmonic (a cosine and a
  sine of the day of the year: the summer peak and the winter low) and a weekday effect. Days the
  first fit misses by more than 4 robust standard deviations (a leak, a spike, time away) are
  left out of the second fit, so one bad month does not bend next year's forecast. The forecast
  for a period is the fitted values of its days summed.
- **recent_weekday_mean** (MIN_HISTORY_DAYS up to a year): too little history to see a season;
  each day is forecast as the customer's mean usage on that weekday over the last 4 weeks.
- with less than MIN_HISTORY_DAYS days, no forecast.

The interval: the spread of the model's errors over blocks of as many days as the forecast
covers (the sums of the residuals over consecutive blocks of the history, so runs of high or low
days widen it), times the normal quantile of `level` (90% by default); the lower end is never
below zero. Days of the period already measured are counted as they are and only the rest is
forecast.

Backtest helpers: `seasonal_naive` (the same days a year earlier, the baseline to beat), and
`score` (MASE relative to seasonal-naive, MAPE over non-zero periods, interval coverage).
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from statistics import NormalDist
from typing import Iterable, Sequence

import numpy as np

MIN_HISTORY_DAYS = 28
FULL_YEAR_DAYS = 365
FIT_DAYS = 730  # at most the last two years are fitted
YEAR = 365.2425
CENT = Decimal("0.01")
METHODS = ("seasonal_regression", "recent_weekday_mean")


@dataclass(frozen=True)
class Forecast:
    period_start: dt.date
    period_end: dt.date
    method: str
    expected: Decimal  # CCF over the whole period (measured days + forecast days)
    low: Decimal
    high: Decimal
    level: float
    measured: Decimal = Decimal("0.00")  # CCF of the period's days already measured
    measured_days: int = 0
    forecast_days: int = 0
    history_days: int = 0


def _money2(x: float) -> Decimal:
    return Decimal(repr(max(x, 0.0))).quantize(CENT, rounding=ROUND_HALF_UP)


def _design(ordinals: np.ndarray, weekdays: np.ndarray) -> np.ndarray:
    phase = 2 * math.pi * ordinals / YEAR
    cols = [np.ones_like(ordinals), np.cos(phase), np.sin(phase)]
    cols += [(weekdays == k).astype(float) for k in range(6)]  # Sunday is the reference day
    return np.column_stack(cols)


def _days(start: dt.date, end: dt.date) -> list[dt.date]:
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def _block_sd(residuals: np.ndarray, n: int) -> float:
    """The spread of the residuals summed over consecutive blocks of n days (newest blocks first)."""
    sigma = float(np.std(residuals, ddof=1)) if len(residuals) > 1 else 0.0
    blocks = [residuals[i - n:i].sum() for i in range(len(residuals), n - 1, -n)]
    if len(blocks) >= 4:
        return max(float(np.std(blocks, ddof=1)), sigma * math.sqrt(n))
    return sigma * math.sqrt(n)


def forecast_period(history: Iterable[tuple[dt.date, Decimal]], start: dt.date, end: dt.date, *,
                    level: float = 0.9) -> Forecast | None:
    """The anticipated usage of the days start..end. `history` is the customer's daily usage (any
    order); its days inside the period count as measured, the others before `start` are the history."""
    rows = sorted((d, float(q)) for d, q in history)
    measured = {d: q for d, q in rows if start <= d <= end}
    past = [(d, q) for d, q in rows if d < start]
    todo = [d for d in _days(start, end) if d not in measured]
    got = _money2(sum(measured.values())) if measured else Decimal("0.00")
    if not past or (past[-1][0] - past[0][0]).days + 1 < MIN_HISTORY_DAYS:
        return None
    span = (past[-1][0] - past[0][0]).days + 1
    z = NormalDist().inv_cdf(0.5 + level / 2)
    if not todo:
        return Forecast(start, end, "measured", got, got, got, level, got, len(measured), 0, len(past))
    if span >= FULL_YEAR_DAYS:
        method = "seasonal_regression"
        fit = [(d, q) for d, q in past if (past[-1][0] - d).days < FIT_DAYS]
        x = np.array([d.toordinal() for d, _ in fit], float)
        wd = np.array([d.weekday() for d, _ in fit])
        y = np.array([q for _, q in fit])
        a = _design(x, wd)
        beta, *_ = np.linalg.lstsq(a, y, rcond=None)
        res = y - a @ beta
        robust_sd = 1.4826 * float(np.median(np.abs(res - np.median(res))))
        keep = np.abs(res) <= 4 * max(robust_sd, 1e-9)
        if keep.sum() >= len(keep) // 2:
            beta, *_ = np.linalg.lstsq(a[keep], y[keep], rcond=None)
        res = y - a @ beta  # every day, the ones left out of the fit too: they happen again
        xp = np.array([d.toordinal() for d in todo], float)
        pred = np.clip(_design(xp, np.array([d.weekday() for d in todo])) @ beta, 0, None)
        sd = _block_sd(res, len(todo))
    else:
        method = "recent_weekday_mean"
        last = past[-1][0]
        recent = [(d, q) for d, q in past if (last - d).days < 28]
        by_day: dict[int, list[float]] = {}
        for d, q in recent:
            by_day.setdefault(d.weekday(), []).append(q)
        overall = float(np.mean([q for _, q in recent]))
        pred = np.array([float(np.mean(by_day[d.weekday()])) if d.weekday() in by_day else overall for d in todo])
        res = np.array([q - (float(np.mean(by_day[d.weekday()]))) for d, q in recent])
        sd = float(np.std(res, ddof=1)) * math.sqrt(len(todo)) if len(res) > 1 else 0.0
    total = float(pred.sum())
    base = float(got)
    return Forecast(start, end, method, _money2(base + total), _money2(base + total - z * sd),
                    _money2(base + total + z * sd), level, got, len(measured), len(todo), len(past))


def seasonal_naive(history: Iterable[tuple[dt.date, Decimal]], start: dt.date, end: dt.date) -> Decimal | None:
    """The same days one year earlier, summed (None unless every one of them was measured)."""
    def year_back(d: dt.date) -> dt.date:
        try:
            return d.replace(year=d.year - 1)
        except ValueError:  # 29 February
            return d.replace(year=d.year - 1, day=28)

    lo, hi = year_back(start), year_back(end)
    days = {d: Decimal(q) for d, q in history if lo <= d <= hi}
    if len(days) != (hi - lo).days + 1:
        return None
    return sum(days.values(), Decimal("0")).quantize(CENT)


@dataclass(frozen=True)
class Score:
    cases: int
    mase: float | None  # mean absolute error / seasonal-naive's on the same cases (below 1 beats it)
    mae: float
    naive_mae: float
    mape: float | None  # % over cases whose actual is not zero
    mape_cases: int
    coverage: float | None  # share of actuals inside the interval
    naive_mape: float | None = None


def score(cases: Sequence[tuple[Decimal, Decimal, Decimal, Decimal, Decimal]]) -> Score:
    """(actual, forecast, low, high, seasonal-naive) per case."""
    n = len(cases)
    if n == 0:
        return Score(0, None, 0.0, 0.0, None, 0, None)
    err = [abs(float(f) - float(a)) for a, f, *_ in cases]
    naive = [abs(float(s) - float(a)) for a, _f, _lo, _hi, s in cases]
    nonzero = [(float(a), float(f), float(s)) for a, f, _lo, _hi, s in cases if a != 0]
    mae, naive_mae = sum(err) / n, sum(naive) / n
    return Score(
        n, mae / naive_mae if naive_mae else None, mae, naive_mae,
        100 * sum(abs(f - a) / a for a, f, _ in nonzero) / len(nonzero) if nonzero else None, len(nonzero),
        sum(1 for a, _f, lo, hi, _s in cases if lo <= a <= hi) / n,
        100 * sum(abs(s - a) / a for a, _, s in nonzero) / len(nonzero) if nonzero else None)
