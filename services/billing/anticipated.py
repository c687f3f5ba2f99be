"""The anticipated bill (issue 13): what a water customer's next bill is likely to be.

`anticipated_bill(db, account_id, actor=...)` forecasts the usage of the customer's next billing
period (services/readings/forecasts.py: measured days as they are, the rest forecast, with a 90%
prediction interval) and prices the expected usage and both ends of the interval with the
customer's own tariff plan, exactly as the month run would (the same PlanBook.price: tiers, the
season's multiplier, fees). Arrears are left out: the anticipated figure is the period's own charge
(`current_charges`), so a payment made meanwhile does not change it. The customer portal (issue 16)
calls this function; the customers screen and GET /api/customers/{id}/forecast show it.

The next period is the calendar month after the customer's last billed usage day, and never a month
before today's (a customer billed up to October 31 is anticipated for November while November runs,
and for December once November is billed). None when the customer has too little history to forecast
(fewer than 28 days).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from services.accounts.roles import Actor, Permission, require
from services.billing.periods import month_bounds
from services.errors import NotFoundError
from services.readings.forecasts import Forecast, forecast_period

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class AnticipatedBill:
    account_id: int
    account_code: str
    period_start: dt.date
    period_end: dt.date
    forecast: Forecast  # usage: expected, low, high (CCF), measured so far, method
    plan_code: str
    amount: Decimal  # the period's charge at the expected usage
    low_amount: Decimal  # ... at the interval's low end
    high_amount: Decimal  # ... at its high end
    lines: tuple  # the bill lines at the expected usage (services.models.BillLine)
    currency: str = "USD"


def next_period(today: dt.date, billed_to: dt.date | None) -> tuple[dt.date, dt.date]:
    """The calendar month the customer's next bill covers (see the module docstring)."""
    day = today if billed_to is None else max(today, billed_to + dt.timedelta(days=1))
    return month_bounds(day)


def anticipated_bill(db, account_id: int, *, actor: Actor | None = None) -> AnticipatedBill | None:
    """The anticipated bill of `account_id`'s next period, priced by its plan; None without enough
    history. NotFoundError for no such customer (or one the actor may not see)."""
    require(actor, Permission.VIEW_BILLS)
    storage = db.storage
    account = storage.get_account(account_id=account_id)
    if account is None:
        raise NotFoundError(f"Customer {account_id} does not exist.")
    connection = db.service_connection(account)
    billed_to = storage.usage_billed_to([account.id]).get(account.id)
    start, end = next_period(db.today(), billed_to)
    rows = storage.list_daily_usage(account.id, start - dt.timedelta(days=730), end)
    forecast = forecast_period([(r.usage_date, r.quantity) for r in rows], start, end)
    if forecast is None:
        return None
    book = db.plan_book()

    def price(units: Decimal):
        return book.price(connection.tariff_plan_id, period_start=start, period_end=end, previous_outstanding=ZERO,
                          account_code=account.code, category=account.category, account_type=account.account_type,
                          units=units)

    expected, low, high = price(forecast.expected), price(forecast.low), price(forecast.high)
    sp = book.plan(connection.tariff_plan_id)
    return AnticipatedBill(account.id, account.code, start, end, forecast, sp.plan.code, _charge(expected),
                           _charge(low), _charge(high), tuple(_lines(expected)), sp.plan.currency)


def _charge(priced) -> Decimal:
    return priced.total_amount - priced.previous_outstanding  # zero arrears: the period's own charge


def _lines(priced):
    return [x for x in priced.lines if x.code != "arrears"]
