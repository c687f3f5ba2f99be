"""The anomaly methods (services/readings/anomalies.py) on small, hand-made histories, and the
baseline statistics against numpy."""
import datetime as dt
from decimal import Decimal as D

import numpy as np
import pytest
from hypothesis import given, strategies as st

from services.readings import anomalies as an

d = dt.date
START = d(2026, 7, 1)


def days(values, first=START):
    return [(first + dt.timedelta(days=i), D(str(v))) for i, v in enumerate(values)]


def history(n=60, level=1.0, wobble=0.1):
    """n days before START alternating level +- wobble (mean level, sd ~wobble, median level)."""
    return days([level + (wobble if i % 2 else -wobble) for i in range(n)], START - dt.timedelta(days=n))


def methods(findings):
    return {f.method: f for f in findings}


@given(st.lists(st.decimals(min_value=0, max_value=500, places=2), min_size=2, max_size=60))
def test_baseline_statistics_match_numpy(values):
    b = an.baseline([(START + dt.timedelta(days=i), v) for i, v in enumerate(values)])
    x = np.array([float(v) for v in values])
    assert b.days == len(values)
    assert abs(float(b.mean) - x.mean()) <= 0.0001
    assert abs(float(b.sd) - x.std(ddof=1)) <= 0.0002
    assert abs(float(b.median) - np.median(x)) <= 0.0001
    assert abs(float(b.mad) - np.median(np.abs(x - np.median(x)))) <= 0.0001


def test_a_normal_month_flags_nothing():
    hist = history()
    index = {dd: D("1") for dd, _ in hist + days([1] * 30)}
    found = an.detect(1, is_active=True, history=hist, period=days([1.05, 0.95] * 15), index=index)
    assert found == []


def test_zscore_flags_the_day_above_mean_plus_k_sd():
    hist = history()  # mean 1.0, sd ~0.1008
    got = methods(an.detect(1, is_active=True, history=hist, period=days([1.0, 1.25, 1.3, 1.0])))
    z = got["zscore"]
    assert (z.usage_date, z.usage, z.baseline) == (d(2026, 7, 3), D("1.3"), D("1.0000"))
    assert z.score == ((D("1.3") - z.baseline) / z.spread).quantize(D("0.0001"))
    again = an.detect(1, is_active=True, history=hist, period=days([1.0, 1.25]),
                      params=an.DetectionParams(k=3))
    assert "zscore" not in methods(again)  # 1.25 is 2.5 sd above: flagged at k = 2 only


def test_robust_uses_the_ratio_to_the_customer_types_average_that_day():
    hist = history(wobble=0.05)
    period = days([2.0, 2.0, 2.0])
    # Everybody of the type used twice as much in the period (a heat wave): nothing robust about it.
    index = {dd: D("1") for dd, _ in hist} | {dd: D("2") for dd, _ in period}
    assert "robust" not in methods(an.detect(1, is_active=True, history=hist, period=period, index=index))
    assert "zscore" in methods(an.detect(1, is_active=True, history=hist, period=period, index=index))
    # Only this customer doubled: robust flags it, and its baseline is the day's expected usage.
    index = {dd: D("1") for dd, _ in hist + period}
    r = methods(an.detect(1, is_active=True, history=hist, period=period, index=index))["robust"]
    assert (r.usage_date, r.baseline, r.spread) == (START, D("1.0000"), D("0.0500"))
    assert r.score == (D("0.6745") * (D(2) - 1) / D("0.05")).quantize(D("0.0001"))


def test_high_read_needs_twice_the_average_and_the_absolute_floor():
    small = history(level=0.2, wobble=0.02)
    assert "high_read" not in methods(an.detect(1, is_active=True, history=small, period=days([0.9])))  # +0.7 CCF
    assert "high_read" in methods(an.detect(1, is_active=True, history=small, period=days([1.3])))  # +1.1 CCF


def test_continuous_flow_needs_seven_consecutive_days_above_the_floor():
    hist = history()
    six = days([1.6] * 6 + [0.5] + [1.6] * 6)
    assert "continuous_flow" not in methods(an.detect(1, is_active=True, history=hist, period=six))
    seven = days([1.0, 1.6, 1.6, 1.6, 1.7, 1.6, 1.6, 1.6, 1.0])
    f = methods(an.detect(1, is_active=True, history=hist, period=seven))["continuous_flow"]
    assert (f.usage_date, f.usage, f.baseline) == (d(2026, 7, 8), D("1.6"), D("1.0000"))
    gap = days([1.6] * 3) + days([1.6] * 4, START + dt.timedelta(days=4))  # a missing day breaks the run
    assert "continuous_flow" not in methods(an.detect(1, is_active=True, history=hist, period=gap))


def test_zero_usage_on_an_active_account():
    hist = history()
    f = methods(an.detect(1, is_active=True, history=hist, period=days([1] * 3 + [0] * 7)))["zero_usage"]
    assert (f.usage_date, f.usage, f.score) == (d(2026, 7, 4), D("0.00"), D("7.0000"))
    assert "zero_usage" not in methods(an.detect(1, is_active=True, history=hist, period=days([0] * 6)))


def test_usage_on_a_closed_account_needs_no_history():
    f = an.detect(1, is_active=False, history=[], period=days([0, 0, 0.4, 1.2, 0]))
    assert [(x.method, x.usage_date, x.usage, x.score) for x in f] == [
        ("inactive_usage", d(2026, 7, 4), D("1.2"), D("1.6000"))]
    assert an.detect(1, is_active=False, history=[], period=days([0, 0])) == []


def test_too_little_history_flags_nothing():
    short = history(n=20)
    assert an.detect(1, is_active=True, history=short, period=days([50, 0, 0, 0, 0, 0, 0, 0])) == []
    assert an.detect(1, is_active=True, history=short, period=days([50]),
                     params=an.DetectionParams(min_history_days=14)) != []


def test_parameters_are_checked():
    with pytest.raises(ValueError):
        an.DetectionParams(methods=("nope",))
    with pytest.raises(ValueError):
        an.DetectionParams(baseline_days=10, min_history_days=28)
    assert an.DetectionParams(k="2.5").k == D("2.5")
