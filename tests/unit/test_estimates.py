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


# ---- daily usage (water): the recent average, seasonally adjusted -------------------------------------
from services.billing.estimates import (MIN_BASIS_DAYS, UsageWindow, estimate_usage, season_factor,  # noqa: E402
                                        usage_windows)


def _windows(start, end, recent=(90, "90.00"), last_year=(31, "62.00"), before=(90, "90.00")):
    (r0, r1), (l0, l1), (b0, b1) = usage_windows(start, end)
    return (UsageWindow(r0, r1, recent[0], D(recent[1])), UsageWindow(l0, l1, last_year[0], D(last_year[1])),
            UsageWindow(b0, b1, before[0], D(before[1])))


def test_usage_windows_are_the_recent_days_and_the_same_spans_a_year_before():
    assert usage_windows(dt.date(2026, 7, 1), dt.date(2026, 7, 31)) == (
        (dt.date(2026, 4, 2), dt.date(2026, 6, 30)), (dt.date(2025, 7, 1), dt.date(2025, 7, 31)),
        (dt.date(2025, 4, 2), dt.date(2025, 6, 30)))
    assert usage_windows(dt.date(2028, 2, 1), dt.date(2028, 2, 29))[1] == (dt.date(2027, 2, 1), dt.date(2027, 2, 28))


def test_a_summer_month_is_the_recent_average_times_last_years_step_into_summer():
    # 1 CCF a day lately; last July used 2 a day against 1 a day in the 90 days before it: factor 2
    e = estimate_usage(*_windows(dt.date(2026, 7, 1), dt.date(2026, 7, 31)), dt.date(2026, 7, 1), dt.date(2026, 7, 31))
    assert (e.units, e.daily, e.days) == (D("62.00"), D("2.0000"), 31)
    assert e.basis["season_factor"] == "2.0000" and e.basis["basis_days"] == 90 and e.basis["basis_units"] == "90.00"
    assert e.details()["estimated"] is True and e.details()["units"] == "62.00"


def test_units_are_to_the_cent_half_up():
    e = estimate_usage(*_windows(dt.date(2026, 9, 1), dt.date(2026, 9, 30), recent=(89, "100.00"),
                                 last_year=(10, "1")), dt.date(2026, 9, 1), dt.date(2026, 9, 30))
    assert e.basis["season_factor"] == "1.0000"  # last September had too few days to say
    assert e.units == D("33.71")  # 100 / 89 x 30 = 33.7078...


def test_the_seasonal_factor_is_bounded_and_1_without_a_year_of_history():
    r, ly, before = _windows(dt.date(2026, 7, 1), dt.date(2026, 7, 31), last_year=(31, "3100.00"))
    assert season_factor(ly, before) == D("4.0000")
    r, ly, before = _windows(dt.date(2026, 7, 1), dt.date(2026, 7, 31), last_year=(31, "0.31"))
    assert season_factor(ly, before) == D("0.2500")
    r, ly, before = _windows(dt.date(2026, 7, 1), dt.date(2026, 7, 31), before=(MIN_BASIS_DAYS - 1, "27.00"))
    assert season_factor(ly, before) == D("1.0000")
    r, ly, before = _windows(dt.date(2026, 7, 1), dt.date(2026, 7, 31), before=(90, "0.00"))
    assert season_factor(ly, before) == D("1.0000")  # nothing used before: no step to scale by


def test_too_few_recent_days_give_no_estimate():
    w = _windows(dt.date(2026, 7, 1), dt.date(2026, 7, 31), recent=(MIN_BASIS_DAYS - 1, "27.00"))
    assert estimate_usage(*w, dt.date(2026, 7, 1), dt.date(2026, 7, 31)) is None
    w = _windows(dt.date(2026, 7, 1), dt.date(2026, 7, 31), recent=(MIN_BASIS_DAYS, "0.00"))
    assert estimate_usage(*w, dt.date(2026, 7, 1), dt.date(2026, 7, 31)).units == D("0.00")  # a vacant house: 0


def test_the_first_unbilled_day():
    from services.billing.estimates import first_unbilled_day

    aug = dt.date(2026, 8, 1)
    assert first_unbilled_day(dt.date(2026, 6, 30), None, aug) == dt.date(2026, 7, 1)  # usage came after June's run
    assert first_unbilled_day(dt.date(2026, 6, 30), dt.date(2026, 7, 1), aug) == dt.date(2026, 7, 1)
    assert first_unbilled_day(None, dt.date(2026, 7, 1), aug) == dt.date(2026, 7, 1)  # billed only on an estimate
    assert first_unbilled_day(None, dt.date(2026, 9, 1), aug) == aug  # a later month's estimate: from the period
    assert first_unbilled_day(None, None, aug) == aug
