"""Synthetic municipal and water utilities for the benchmark (loaded by scripts/bench_data.py).

Accounts come from the demo generators (services/demo/municipal.py, water.py: the same codes,
areas, types and closed accounts as the demo), loaded by the plain path:
- municipal: every consumer unit in its union council, priced by its tariff class
  (services/seeding/municipal.py); billable units have a sanitation connection (all of them
  from last month on: the benchmark is about the run, not the survey campaign), exempt units none;
- water: every customer in its billing cycle with a water connection, a CCF meter and its daily
  usage from the billed month's first day up to the day before TODAY (the generator's values).
Last month's bills are priced with the real plan (TariffRules.quote), lines included.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache

from scripts.bench_data import TODAY, Context, account_rows, last_months_bill, merge
from services.demo import municipal as m
from services.demo import water as w
from services.seeding.municipal import unit_class

COLUMNS = {
    "meters": "id, meter_number, account_id, service, unit, status, is_smart, created_at",
    "daily_usage": "account_id, meter_id, usage_date, quantity, source, created_at",
}


def areas(utility: str) -> list[tuple[str, str, str | None]]:
    return [(a.path, a.name, a.kind) for a in (m.areas() if utility == "municipal" else w.areas())]


@lru_cache(maxsize=65536)
def _quote(plan, start: dt.date, end: dt.date, units: Decimal | None, category: str | None, unit_type: str | None):
    from services.tariff_rules import TariffRules

    return TariffRules.quote(plan, quantity=units, period_start=start, period_end=end, category=category,
                             unit_type=unit_type)


def usage_days(ctx: Context) -> tuple[dt.date, int]:
    """The last day of daily usage and how many days: from the billed month's first day to yesterday."""
    last = TODAY - dt.timedelta(days=1)
    return last, (last - ctx.period.start).days + 1


def chunk_rows(utility: str, ctx: Context, lo: int, hi: int) -> dict[str, list[tuple]]:
    return (_municipal if utility == "municipal" else _water)(ctx, lo, hi)


def _municipal(ctx: Context, lo: int, hi: int) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    prev = ctx.previous
    for u in m.units(ctx.n, lo, hi, today=TODAY):
        i, area = u.index, ctx.areas[u.area_path]
        category, unit_type = unit_class(u)
        merge(out, account_rows(ctx, i, u.code, u.name, area, category, unit_type, u.billing_mobile,
                                active=u.is_active, connected=u.billable))
        if u.billable and u.is_active:
            q = _quote(ctx.plan, prev.start, prev.end, None, category, unit_type)
            merge(out, last_months_bill(ctx, i, q, account_area=area, category=category, units=Decimal(0)))
    return out


def _water(ctx: Context, lo: int, hi: int) -> dict[str, list[tuple]]:
    e, prev = ctx.e, ctx.previous
    last, days = usage_days(ctx)
    out: dict[str, list[tuple]] = {}
    for c in w.customers(ctx.n, lo, hi):
        i, area, aid = c.index, ctx.areas[c.area_path], c.index + 1
        merge(out, account_rows(ctx, i, c.code, c.name, area, c.category, c.account_type, c.contacts[0].phone,
                                active=c.is_active))
        out.setdefault("meters", []).append((aid, c.meter_number, aid, "water", "CCF",
                                             "active" if c.is_active else "inactive", e.flag(True), ctx.ts))
        out.setdefault("daily_usage", []).extend(
            (aid, aid, e.day(d), e.money(q), "import", ctx.ts) for d, q in w.daily_usage(c, last, days))
        if c.is_active:
            units = (Decimal(str(c.base_daily_ccf)) * 30).quantize(Decimal("0.01"))
            q = _quote(ctx.plan, prev.start, prev.end, units, None, None)
            merge(out, last_months_bill(ctx, i, q, account_area=area, category=c.category, units=units, usage=True))
    return out
