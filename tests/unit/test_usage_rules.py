"""Daily usage rules (services/readings/usage.py): a reading's consumption spread over the days it
measured adds up exactly; the days it covers; usage files parsed with every problem named."""
import datetime as dt
from decimal import Decimal as D

import pytest
from hypothesis import given, strategies as st

from services.readings.usage import column_key, parse_lines, reading_span, spread

d = dt.date
TODAY = d(2026, 11, 22)


@given(cents=st.integers(0, 10_000_000), days=st.integers(1, 800))
def test_spread_adds_up_exactly_in_whole_cents(cents, days):
    consumption = D(cents) / 100
    first = d(2025, 1, 1)
    rows = spread(consumption, first, first + dt.timedelta(days=days - 1))
    assert len(rows) == days and [r[0] for r in rows] == [first + dt.timedelta(days=i) for i in range(days)]
    assert sum(q for _, q in rows) == consumption
    assert all(q >= 0 and q.as_tuple().exponent >= -2 for _, q in rows)
    assert max(q for _, q in rows) - min(q for _, q in rows) <= D("0.01")  # even, to the cent


def test_spread_puts_the_remainder_on_the_last_days():
    assert spread(D("1.00"), d(2026, 7, 1), d(2026, 7, 3)) == [
        (d(2026, 7, 1), D("0.33")), (d(2026, 7, 2), D("0.33")), (d(2026, 7, 3), D("0.34"))]
    with pytest.raises(ValueError):
        spread(D("1.005"), d(2026, 7, 1), d(2026, 7, 3))


def test_reading_span_starts_after_the_previous_reading_and_after_billed_days():
    assert reading_span(d(2026, 11, 20), d(2026, 10, 20), None) == (d(2026, 10, 21), d(2026, 11, 20))
    # October is billed: its share goes on November's days, nothing is lost
    assert reading_span(d(2026, 11, 20), d(2026, 10, 20), d(2026, 10, 31)) == (d(2026, 11, 1), d(2026, 11, 20))
    assert reading_span(d(2026, 10, 25), d(2026, 10, 20), d(2026, 10, 31)) is None  # every day billed
    assert reading_span(d(2026, 11, 20), None, None) is None  # a first reading measures nothing
    assert reading_span(d(2026, 11, 20), d(2026, 11, 20), None) == (d(2026, 11, 20), d(2026, 11, 20))


def test_column_names_are_matched_loosely():
    assert [column_key(h) for h in ("Customer", "Meter Number", "Date", "Usage (CCF)", "meter_value", "x")] == [
        "customer", "meter", "date", "usage_ccf", "meter_value", None]


def rows(*values):
    return [(i + 2, v) for i, v in enumerate(values)]


def test_a_good_file_parses():
    lines, problems = parse_lines(["customer", "date", "usage_ccf"],
                                  rows(("hs0000001", "2026-11-20", "12.5"), ("", "", "")), today=TODAY)
    assert problems == [] and len(lines) == 1
    assert (lines[0].row, lines[0].customer, lines[0].usage_date, lines[0].usage) == (
        2, "HS0000001", d(2026, 11, 20), D("12.50"))


def test_every_problem_is_named_by_row_and_column():
    lines, problems = parse_lines(
        ["customer", "meter", "date", "usage_ccf", "meter_value"],
        rows(("HS1", None, "2026-11-31", "1", None),        # not a date
             ("HS1", None, "2026-12-01", "1", None),        # the future
             ("HS1", None, "2026-11-01", "-1", None),       # negative
             ("HS1", None, "2026-11-01", "1.234", None),    # 3 decimals
             ("HS1", None, "2026-11-01", "abc", None),      # not a number
             ("HS1", None, "2026-11-01", "1", "5"),         # both
             (None, None, "2026-11-01", "1", None),         # nobody
             ("HS1", None, "2026-11-01", None, None),       # nothing measured
             ("HS1", None, "2026-11-01", "100001", None)),  # implausible
        today=TODAY)
    assert lines == []
    where = [(p.row, p.column) for p in problems]
    assert where == [(2, "date"), (3, "date"), (4, "usage_ccf"), (5, "usage_ccf"), (6, "usage_ccf"),
                     (7, "usage_ccf"), (8, "customer"), (9, "usage_ccf"), (10, "usage_ccf")]
    assert "YYYY-MM-DD" in problems[0].message and "future" in problems[1].message


def test_a_header_without_the_needed_columns_is_refused_whole():
    _, problems = parse_lines(["customer", "usage_ccf"], rows(("HS1", "1")), today=TODAY)
    assert [p.row for p in problems] == [0] and "date" in problems[0].message
