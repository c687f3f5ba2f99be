"""Forecasts (services/readings/forecasts.py): the seasonal regression finds a season it is shown,
falls back with short history, counts measured days as they are; the backtest's scores."""
import datetime as dt
import math
import random
from decimal import Decimal as D

from services.readings import forecasts as fc

d = dt.date


def series(first: dt.date, n: int, *, level=1.0, amp=0.4, noise=0.05, seed=1):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        day = first + dt.timedelta(days=i)
        season = 1 + amp * math.cos(2 * math.pi * (day.toordinal() - d(2000, 7, 15).toordinal()) / 365.2425)
        out.append((day, D(f"{max(0.0, level * season * (1 + rng.uniform(-noise, noise))):.2f}")))
    return out


def test_seasonal_regression_forecasts_summer_above_winter():
    hist = series(d(2024, 8, 1), 699)  # to 2026-06-30
    july = fc.forecast_period(hist, d(2026, 7, 1), d(2026, 7, 31))
    jan = fc.forecast_period(hist, d(2027, 1, 1), d(2027, 1, 31))
    assert july.method == jan.method == "seasonal_regression"
    expected_july = sum(q for _, q in series(d(2026, 7, 1), 31, noise=0))
    assert abs(july.expected - expected_july) / expected_july < D("0.03")
    assert july.expected > D("1.3") * jan.expected
    assert july.low <= july.expected <= july.high and july.forecast_days == 31 and july.measured_days == 0


def test_measured_days_count_as_they_are():
    hist = series(d(2024, 8, 1), 699 + 10)  # ten days of July measured
    f = fc.forecast_period(hist, d(2026, 7, 1), d(2026, 7, 31))
    measured = sum(q for dd, q in hist if dd >= d(2026, 7, 1))
    assert (f.measured_days, f.forecast_days, f.measured) == (10, 21, measured)
    assert f.low >= measured


def test_short_history_falls_back_and_too_short_gives_none():
    hist = series(d(2026, 5, 1), 61)  # May and June
    f = fc.forecast_period(hist, d(2026, 7, 1), d(2026, 7, 31))
    assert f.method == "recent_weekday_mean" and f.history_days == 61
    assert fc.forecast_period(series(d(2026, 6, 10), 21), d(2026, 7, 1), d(2026, 7, 31)) is None
    assert fc.forecast_period([], d(2026, 7, 1), d(2026, 7, 31)) is None


def test_the_interval_never_goes_below_zero():
    hist = [(d(2025, 1, 1) + dt.timedelta(days=i), D("0.00") if i % 3 else D("3.00")) for i in range(400)]
    f = fc.forecast_period(hist, d(2026, 3, 1), d(2026, 3, 31))
    assert f.low >= 0 and f.high >= f.expected >= f.low


def test_seasonal_naive_is_the_same_days_a_year_earlier():
    hist = series(d(2025, 1, 1), 600)
    want = sum(q for dd, q in hist if d(2025, 7, 1) <= dd <= d(2025, 7, 31))
    assert fc.seasonal_naive(hist, d(2026, 7, 1), d(2026, 7, 31)) == want
    assert fc.seasonal_naive(hist[40:], d(2026, 1, 1), d(2026, 1, 31)) is None  # January 2025 incomplete


def test_score():
    s = fc.score([(D(10), D(11), D(9), D(12), D(12)), (D(0), D(1), D(0), D(2), D(0)), (D(20), D(18), D(17), D(19), D(23))])
    assert s.cases == 3 and abs(s.mase - (1 + 1 + 2) / (2 + 0 + 3)) < 1e-9
    assert s.mape_cases == 2 and abs(s.mape - 100 * (0.1 + 0.1) / 2) < 1e-9
    assert abs(s.coverage - 2 / 3) < 1e-9
