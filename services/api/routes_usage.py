"""Water usage endpoints (issue 13): GET /api/usage/anomalies, GET /api/usage/forecast/{customer_id},
GET /api/usage/analytics/{customer_id}, GET /api/customers/{customer_id}/usage. Quantities travel
as decimal strings (CCF). Permissions are the services' (services/water_service.py): anomalies need
review_anomalies (Operations, admin), a customer's usage and forecast view_bills."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from services.accounts.api_auth import ApiPrincipal
from services.api.deps import principal, services
from services.api.schemas import MAX_ID, ErrorOut
from services.billing.periods import month_bounds
from services.accounts.roles import Permission, require
from services.container import Services
from services.errors import NotFoundError, ValidationError
from services.models import AnomalyFilter
from services.readings.anomalies import METHODS

router = APIRouter(tags=["usage"])
ERRORS = {401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}, 422: {"model": ErrorOut}}
CustomerId = Path(ge=1, le=MAX_ID, description="customer (account) id")
Method = Literal[METHODS]  # type: ignore[valid-type]


class AnomalyOut(BaseModel):
    id: int
    customer_id: int
    customer_code: str | None
    customer_type: str | None
    area_path: str | None
    method: str
    period_start: dt.date
    period_end: dt.date
    usage_date: dt.date
    usage: Decimal
    baseline: Decimal | None
    spread: Decimal | None
    score: Decimal
    history_days: int
    status: str
    outcome: str | None
    reviewed_by: str | None
    reviewed_at: dt.datetime | None


class AnomalyPageOut(BaseModel):
    items: list[AnomalyOut]
    offset: int
    limit: int
    total: int | None


class ForecastOut(BaseModel):
    customer_id: int
    period_start: dt.date
    period_end: dt.date
    method: str | None  # None: too little history to forecast
    expected: Decimal | None
    low: Decimal | None
    high: Decimal | None
    level: float
    measured: Decimal | None
    measured_days: int
    forecast_days: int


class MonthOut(BaseModel):
    month: str
    days: int
    usage: Decimal
    peak: Decimal
    zero_days: int


class DayOut(BaseModel):
    date: dt.date
    usage: Decimal


class UsageOut(BaseModel):
    customer_id: int
    start: dt.date
    end: dt.date
    granularity: Literal["daily", "monthly"]
    days: list[DayOut]
    months: list[MonthOut]


class AnalyticsOut(BaseModel):
    customer_id: int
    months: list[MonthOut]  # the last 13 calendar months with usage, oldest first
    average_monthly: Decimal | None  # over the full months among them (every day measured)
    trend_percent: Decimal | None  # the last 3 full months against the 3 before, in %
    latest_month: str | None  # the latest full month ...
    same_month_last_year: MonthOut | None  # ... and the same month a year earlier


def _anomaly_out(x) -> AnomalyOut:
    return AnomalyOut(id=x.id, customer_id=x.account_id, customer_code=x.account_code, customer_type=x.account_type,
                      area_path=x.area_path, method=x.method, period_start=x.period_start, period_end=x.period_end,
                      usage_date=x.usage_date, usage=x.usage, baseline=x.baseline, spread=x.spread, score=x.score,
                      history_days=x.history_days, status=x.status, outcome=x.outcome,
                      reviewed_by=x.reviewed_by_name, reviewed_at=x.reviewed_at)


def _customer(svc: Services, customer_id: int, who: ApiPrincipal):
    """The customer, after the permission check (403 before anything about the record is told), or 404."""
    require(who.actor, Permission.VIEW_BILLS)
    # through the caller's scope: an account outside it (a customer's neighbour) is not found
    acct = svc.db.for_actor(who.actor).storage.get_account(account_id=customer_id)
    if acct is None:
        raise NotFoundError(f"Customer {customer_id} does not exist.")
    return acct


def _month_out(m) -> MonthOut:
    return MonthOut(month=m.month, days=m.days, usage=m.quantity, peak=m.peak, zero_days=m.zero_days)


@router.get("/api/usage/anomalies", response_model=AnomalyPageOut, responses=ERRORS)
def anomalies(status: Literal["open", "reviewed", "all"] = "open", method: Method | None = None,
              customer_type: str | None = Query(None, max_length=32), area_id: int | None = Query(None, ge=1, le=MAX_ID),
              min_score: Decimal | None = Query(None, ge=0, le=10 ** 9, max_digits=14, decimal_places=4),
              offset: int = Query(0, ge=0, le=1_000_000), limit: int = Query(50, ge=1, le=200),
              who: ApiPrincipal = Depends(principal), svc: Services = Depends(services)):
    """Usage anomalies, newest usage day first, filtered in the database (Operations and admins)."""
    flt = AnomalyFilter(status=None if status == "all" else status, method=method, account_type=customer_type,
                        area_id=area_id, min_score=min_score)
    page = svc.db.list_anomalies(flt, offset, limit, actor=who.actor)
    return AnomalyPageOut(items=[_anomaly_out(x) for x in page.items], offset=offset, limit=limit, total=page.total)


@router.get("/api/usage/forecast/{customer_id}", response_model=ForecastOut, responses=ERRORS)
def forecast(customer_id: int = CustomerId, who: ApiPrincipal = Depends(principal), svc: Services = Depends(services)):
    """This month's anticipated usage with a 90% prediction interval (services/readings/forecasts.py)."""
    acct = _customer(svc, customer_id, who)
    f = svc.db.forecast_next_period(acct.id, actor=who.actor)
    start, end = month_bounds(svc.db.today())
    if f is None:
        return ForecastOut(customer_id=acct.id, period_start=start, period_end=end, method=None, expected=None,
                           low=None, high=None, level=0.9, measured=None, measured_days=0, forecast_days=0)
    return ForecastOut(customer_id=acct.id, period_start=f.period_start, period_end=f.period_end, method=f.method,
                       expected=f.expected, low=f.low, high=f.high, level=f.level, measured=f.measured,
                       measured_days=f.measured_days, forecast_days=f.forecast_days)


@router.get("/api/usage/analytics/{customer_id}", response_model=AnalyticsOut, responses=ERRORS)
def analytics(customer_id: int = CustomerId, who: ApiPrincipal = Depends(principal), svc: Services = Depends(services)):
    """Monthly totals of the last 13 months, the average full month, the trend and the same month a
    year earlier, aggregated in the database."""
    acct = _customer(svc, customer_id, who)
    today = svc.db.today()
    first = (today.replace(day=1) - dt.timedelta(days=366)).replace(day=1)
    months = svc.db.usage_by_month(acct.id, first, today, actor=who.actor)
    full = [m for m in months if m.days == (month_bounds(m.month)[1] - month_bounds(m.month)[0]).days + 1]
    avg = (sum((m.quantity for m in full), Decimal(0)) / len(full)).quantize(Decimal("0.01")) if full else None
    trend = None
    if len(full) >= 6:
        recent, before = sum(m.quantity for m in full[-3:]), sum(m.quantity for m in full[-6:-3])
        trend = ((recent - before) * 100 / before).quantize(Decimal("0.1")) if before else None
    latest = full[-1] if full else None
    last_year = None
    if latest:
        year, month = latest.month.split("-")
        key = f"{int(year) - 1}-{month}"
        last_year = next((m for m in months if m.month == key), None)
    return AnalyticsOut(customer_id=acct.id, months=[_month_out(m) for m in months], average_monthly=avg,
                        trend_percent=trend, latest_month=latest.month if latest else None,
                        same_month_last_year=_month_out(last_year) if last_year else None)


@router.get("/api/customers/{customer_id}/usage", response_model=UsageOut, responses=ERRORS)
def customer_usage(customer_id: int = CustomerId, start: dt.date | None = None, end: dt.date | None = None,
                   granularity: Literal["daily", "monthly"] = "daily",
                   who: ApiPrincipal = Depends(principal), svc: Services = Depends(services)):
    """A customer's usage over [start, end] (default: the last 90 days), by day (at most 800 days)
    or by calendar month."""
    acct = _customer(svc, customer_id, who)
    end = end or svc.db.today()
    start = start or end - dt.timedelta(days=89)
    if start > end:
        raise ValidationError("start", f"{start} is after the end {end}.", "Choose a start on or before the end.")
    if granularity == "monthly":
        months = svc.db.usage_by_month(acct.id, start, end, actor=who.actor)
        return UsageOut(customer_id=acct.id, start=start, end=end, granularity=granularity, days=[],
                        months=[_month_out(m) for m in months])
    rows = svc.db.daily_usage(acct.id, start, end, actor=who.actor)
    return UsageOut(customer_id=acct.id, start=start, end=end, granularity=granularity,
                    days=[DayOut(date=r.usage_date, usage=r.quantity) for r in rows], months=[])


class BillLineOut(BaseModel):
    code: str
    label: str
    quantity: Decimal | None
    unit: str | None
    rate: Decimal | None
    amount: Decimal


class AnticipatedBillOut(BaseModel):
    customer_id: int
    period_start: dt.date
    period_end: dt.date
    method: str | None = Field(description="the forecast method; None: too little history (fewer than 28 days)")
    usage_expected: Decimal | None
    usage_low: Decimal | None = Field(description="the 90% prediction interval's low end (CCF)")
    usage_high: Decimal | None
    measured: Decimal | None = Field(description="CCF of the period's days already measured")
    plan_code: str | None
    currency: str | None
    amount: Decimal | None = Field(description="the period's charge at the expected usage (arrears not included)")
    amount_low: Decimal | None
    amount_high: Decimal | None
    lines: list[BillLineOut] = Field(description="the bill lines at the expected usage: tiers, season, fees")


@router.get("/api/customers/{customer_id}/forecast", response_model=AnticipatedBillOut, responses=ERRORS)
def anticipated(customer_id: int = CustomerId, who: ApiPrincipal = Depends(principal),
                svc: Services = Depends(services)):
    """The customer's next bill, anticipated: the next period's forecast usage with its 90% interval,
    each priced by the customer's tariff plan as the month run would (services/billing/anticipated.py)."""
    acct = _customer(svc, customer_id, who)
    a = svc.db.anticipated_bill(acct.id, actor=who.actor)
    if a is None:
        start, end = month_bounds(svc.db.today())
        return AnticipatedBillOut(customer_id=acct.id, period_start=start, period_end=end, method=None,
                                  usage_expected=None, usage_low=None, usage_high=None, measured=None, plan_code=None,
                                  currency=None, amount=None, amount_low=None, amount_high=None, lines=[])
    f = a.forecast
    return AnticipatedBillOut(
        customer_id=acct.id, period_start=a.period_start, period_end=a.period_end, method=f.method,
        usage_expected=f.expected, usage_low=f.low, usage_high=f.high, measured=f.measured, plan_code=a.plan_code,
        currency=a.currency, amount=a.amount, amount_low=a.low_amount, amount_high=a.high_amount,
        lines=[BillLineOut(code=x.code, label=x.label, quantity=x.quantity, unit=x.unit, rate=x.rate, amount=x.amount)
               for x in a.lines])
