"""Period locks and the no-overwrite start rule, at the November 2025 edges."""
import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.errors import PeriodLockedError, ValidationError
from services.billing.periods import (
    BillingPeriod, check_bill_not_locked, check_range_not_locked, month_bounds, month_key, months_between,
    next_free_period_start,
)

LOCKS = ["2025-11"]
d = dt.date


@pytest.mark.parametrize("end,locked", [
    (d(2025, 10, 31), False), (d(2025, 11, 1), True), (d(2025, 11, 30), True), (d(2025, 12, 1), False),
])
def test_single_bill_lock_by_period_end(end, locked):
    """Seed 002's rule, the minimum: a bill ending in a locked month is refused."""
    if locked:
        with pytest.raises(PeriodLockedError) as e:
            check_bill_not_locked(end, end, LOCKS)
        assert e.value.month == "2025-11" and "2025-11" in str(e.value)
    else:
        check_bill_not_locked(end, end, LOCKS)


@pytest.mark.parametrize("start,end,locked", [
    (d(2025, 11, 1), d(2025, 12, 1), True),     # contains the whole locked month, ends after it
    (d(2025, 10, 1), d(2025, 12, 31), True),
    (d(2025, 11, 20), d(2025, 12, 19), True),   # starts in it
    (d(2025, 11, 30), d(2025, 11, 30), True),
    (d(2025, 10, 2), d(2025, 10, 31), False),
    (d(2025, 12, 1), d(2026, 1, 31), False),
])
def test_single_bill_refused_when_its_period_touches_a_locked_month(start, end, locked):
    if locked:
        with pytest.raises(PeriodLockedError) as e:
            check_bill_not_locked(start, end, LOCKS)
        assert e.value.month == "2025-11" and f"{start} to {end}" in str(e.value)
    else:
        check_bill_not_locked(start, end, LOCKS)


@given(st.dates(d(2025, 8, 1), d(2026, 3, 31)), st.integers(0, 120),
       st.sets(st.sampled_from(["2025-09", "2025-11", "2026-01", "2026-03"]), max_size=3))
def test_lock_rule_is_any_day_in_a_locked_month_for_bills_and_runs_alike(start, days, locks):
    """Invariant: a bill (and a run) is refused exactly when one of its days is in a locked month."""
    end = start + dt.timedelta(days=days)
    expected = any(month_key(start + dt.timedelta(days=i)) in locks for i in range(days + 1))
    for check in (check_bill_not_locked, check_range_not_locked):
        try:
            check(start, end, locks)
            refused = False
        except PeriodLockedError:
            refused = True
        assert refused == expected, (check.__name__, start, end, locks)


@pytest.mark.parametrize("start,end,locked", [
    (d(2025, 10, 1), d(2025, 10, 31), False),
    (d(2025, 10, 15), d(2025, 11, 1), True),
    (d(2025, 11, 30), d(2025, 12, 15), True),
    (d(2025, 12, 1), d(2025, 12, 31), False),
    (d(2025, 10, 1), d(2025, 12, 31), True),
])
def test_bulk_generation_refused_whole_when_touching_lock(start, end, locked):
    if locked:
        with pytest.raises(PeriodLockedError) as e:
            check_range_not_locked(start, end, LOCKS)
        assert "2025-11" in str(e.value) and "nothing was written" in str(e.value)
    else:
        check_range_not_locked(start, end, LOCKS)


def test_month_helpers():
    assert month_bounds("2024-02") == (d(2024, 2, 1), d(2024, 2, 29))
    assert months_between(d(2025, 11, 30), d(2026, 1, 1)) == ["2025-11", "2025-12", "2026-01"]
    with pytest.raises(ValidationError):
        month_bounds("Nov 2025")


def test_period_order_validated():
    with pytest.raises(ValidationError) as e:
        BillingPeriod(d(2026, 10, 31), d(2026, 10, 1))
    assert e.value.field == "billing_period_end"


def test_next_free_start_moves_forward_one_day_at_a_time():
    s, e = d(2026, 10, 1), d(2026, 10, 31)
    assert next_free_period_start(s, e, []) == s
    assert next_free_period_start(s, e, [s]) == d(2026, 10, 2)
    assert next_free_period_start(s, e, [s, d(2026, 10, 2)]) == d(2026, 10, 3)


def test_next_free_start_never_past_period_end():
    s = e = d(2026, 10, 31)
    assert next_free_period_start(s, e, [s]) is None
