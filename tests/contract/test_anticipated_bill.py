"""The anticipated bill on every backend: the next period's forecast usage and its interval priced
by the customer's plan exactly as the month run prices a bill (tiers, season, fees)."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.billing.anticipated import next_period
from services.errors import NotFoundError
from services.tariffs import quote
from tests.factories import ADMIN, make_service, make_water

d = dt.date


def test_next_period_follows_the_last_billed_day_and_never_lies_in_the_past():
    assert next_period(d(2026, 11, 22), d(2026, 10, 31)) == (d(2026, 11, 1), d(2026, 11, 30))
    assert next_period(d(2026, 11, 22), d(2026, 11, 30)) == (d(2026, 12, 1), d(2026, 12, 31))
    assert next_period(d(2026, 11, 22), d(2026, 3, 31)) == (d(2026, 11, 1), d(2026, 11, 30))
    assert next_period(d(2026, 11, 22), None) == (d(2026, 11, 1), d(2026, 11, 30))


def test_the_anticipated_bill_prices_the_forecast_with_the_plan(storage, today):
    made = make_water(storage, d(2025, 11, 1), 386)  # a year and three weeks: 2025-11-01 .. 2026-11-21
    db = make_service(storage, today)
    a = made["accounts"]["HS0000002"]  # 1.00 CCF every day
    got = db.anticipated_bill(a, actor=ADMIN)
    assert (got.period_start, got.period_end) == (d(2026, 11, 1), d(2026, 11, 30))
    f = got.forecast
    assert f.measured == D("21.00") and f.low <= f.expected <= f.high
    plan = storage.list_tariff_plans()[0].plan
    for usage, amount in ((f.expected, got.amount), (f.low, got.low_amount), (f.high, got.high_amount)):
        assert amount == quote(plan, quantity=usage, period_start=got.period_start,
                               period_end=got.period_end).current_charges
    assert got.low_amount <= got.amount <= got.high_amount
    assert sum(x.amount for x in got.lines) == got.amount and any(x.code.startswith("fee") for x in got.lines)
    with pytest.raises(NotFoundError):
        db.anticipated_bill(999999, actor=ADMIN)


def test_no_anticipated_bill_without_history(storage, today):
    made = make_water(storage, d(2026, 11, 10), 5)
    db = make_service(storage, today)
    assert db.anticipated_bill(made["accounts"]["HS0000001"], actor=ADMIN) is None
