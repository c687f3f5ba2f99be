"""Statistical flags against the meter's own history (per-day rates)."""
from decimal import Decimal as D

from services.readings.checks import HistoryPoint, check_reading

HISTORY = [HistoryPoint(D(c), 30) for c in ("300", "310", "290", "305", "295")]


def codes(flags):
    return {f.code for f in flags}


def test_normal_reading_not_flagged():
    assert check_reading(D("302"), 30, HISTORY) == []


def test_seasonal_swing_not_flagged():
    assert check_reading(D("250"), 30, HISTORY) == []


def test_spike_flagged_with_reason():
    flags = check_reading(D("1200"), 30, HISTORY)
    assert "outlier_high" in codes(flags)
    assert "far above this meter's usual" in flags[0].reason and "its last 5 readings" in flags[0].reason
    assert "sigma" not in flags[0].reason  # a field engineer reads this (issue 18)


def test_long_interval_is_not_a_spike_but_a_gap():
    flags = check_reading(D("600"), 60, HISTORY)
    assert codes(flags) == {"gap"}


def test_zero_and_drop():
    assert {"zero", "outlier_low"} <= codes(check_reading(D("0"), 30, HISTORY))
    assert "drop" in codes(check_reading(D("40"), 30, HISTORY))


def test_first_reading_flag():
    assert codes(check_reading(None, None, [])) == {"no_history"}


def test_short_history_only_gap_and_zero():
    assert check_reading(D("5000"), 30, HISTORY[:2]) == []
