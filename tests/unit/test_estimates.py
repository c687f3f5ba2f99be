"""The estimate and true-up rules (services/billing/estimates.py), with the seed society's numbers."""
import datetime as dt
from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from services.billing.estimates import EstimateEntry, HistoryReading, estimate, open_estimate, true_up

d = dt.date


def test_the_average_of_the_last_readings_times_the_days():
    history = [HistoryReading(1, d(2026, 6, 1), None), HistoryReading(2, d(2026, 7, 1), D("90")),
               HistoryReading(3, d(2026, 8, 1), D("93"))]
    e = estimate(history, d(2026, 9, 1), d(2026, 9, 30))
    assert (e.units, e.daily, e.days) == (D("90.00"), D("3.0000"), 30)
    assert e.basis["basis_readings"] == [1, 2, 3] and e.basis["basis_days"] == 61


def test_only_the_newest_readings_count_and_units_round_half_up():
    history = [HistoryReading(i, d(2026, 1, 1) + dt.timedelta(days=10 * i), D("1000") if i == 1 else D("10"))
               for i in range(6)]  # a huge old reading falls outside the newest four
    e = estimate(history, d(2026, 9, 1), d(2026, 9, 30))
    assert e.basis["basis_readings"] == [2, 3, 4, 5] and e.units == D("30.00")
    half = [HistoryReading(1, d(2026, 1, 1), None), HistoryReading(2, d(2026, 1, 5), D("2"))]  # 0.5 a day
    assert estimate(half, d(2026, 2, 1), d(2026, 2, 3)).units == D("2.00")  # 1.5 rounds up


def test_no_basis_no_estimate():
    assert estimate([], d(2026, 9, 1), d(2026, 9, 30)) is None
    assert estimate([HistoryReading(1, d(2026, 8, 1), D("5"))], d(2026, 9, 1), d(2026, 9, 30)) is None
    same_day = [HistoryReading(1, d(2026, 8, 1), None), HistoryReading(2, d(2026, 8, 1), D("5"))]
    assert estimate(same_day, d(2026, 9, 1), d(2026, 9, 30)) is None
    first_only = [HistoryReading(1, d(2026, 7, 1), None), HistoryReading(2, d(2026, 8, 1), None)]
    assert estimate(first_only, d(2026, 9, 1), d(2026, 9, 30)) is None


def test_true_up_never_charges_below_zero():
    assert true_up(D("100"), D("0")) is None
    t = true_up(D("100"), D("90"))
    assert (t.billed, t.deducted) == (D("10"), D("90"))
    t = true_up(D("60"), D("90"))
    assert (t.billed, t.deducted) == (D("0"), D("60"))


amounts = st.decimals(min_value=0, max_value=500, places=2)


@given(st.lists(st.tuples(st.booleans(), amounts, st.integers(0, 2)), min_size=1, max_size=30))
def test_each_unit_is_billed_once_over_any_sequence_of_estimates_and_readings(steps):
    """An account's bills, estimated (True) or actual (False: the units the readings measured, the last
    dated `lag` months before the bill's month, so some estimates are of later months), in any order:
    what was billed is what was measured plus what is still open, and the open estimate never
    goes below zero."""
    entries, billed, measured = [], D("0"), D("0")
    for month, (is_estimate, units, lag) in enumerate(steps):
        start = d(2026, 1, 1) + dt.timedelta(days=31 * month)
        if is_estimate:
            entries.append(EstimateEntry(month, start, {"estimated": True, "units": str(units)}))
            billed += units
        else:
            t = true_up(units, open_estimate(entries, start - dt.timedelta(days=31 * lag)))
            if t is not None:
                entries.append(EstimateEntry(month, start, t.details()))
            billed += t.billed if t is not None else units
            measured += units
        assert open_estimate(entries) >= 0
        assert billed == measured + open_estimate(entries)


def test_only_estimates_of_months_up_to_the_reading_are_deducted():
    entries = [EstimateEntry(1, d(2026, 9, 1), {"estimated": True, "units": "90"}),
               EstimateEntry(2, d(2026, 10, 1), {"estimated": True, "units": "93"})]
    assert open_estimate(entries, d(2026, 9, 20)) == D("90")
    assert open_estimate(entries, d(2026, 8, 31)) == D("0")
    assert open_estimate(entries) == D("183")
    entries.append(EstimateEntry(3, d(2026, 9, 1), {"actual_units": "100", "deducted_units": "90"}))
    assert open_estimate(entries, d(2026, 9, 20)) == D("0") and open_estimate(entries) == D("93")
