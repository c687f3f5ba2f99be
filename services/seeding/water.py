"""Seeding the demo water utility (HydroSpark, seed 004) from services/demo/water.py.

Service areas and their billing cycles as areas; each customer (residential, commercial,
industrial) as an account in its cycle with the customer as primary contact, a water connection
to the tiered_seasonal plan and a CCF meter; DEFAULT_USAGE_DAYS (400) days of daily usage up to
yesterday for every customer (the generator's seasonal shape and planted anomalies included; a
closed account's meter reads 0.00 except where an anomaly was planted), inserted a few customers
at a time so memory stays flat; then 12 months of bills by the real month run (each bill charges
the period's daily usage summed) with the generator's payment behaviour.

The demo bills calendar months for every cycle in one run; the cycles are areas, so a run (or a
list, a report) can be limited to one of them.
"""
from __future__ import annotations

import datetime as dt
import time

from services.demo import water as w
from services.demo.common import PaymentPlan
from services.seeding.common import CHUNK, SEEDER, Say, area_rows, bill_history, bill_months
from services.models import Bill

PLAN_CODE = "water-standard"
MONTHS = 12
USAGE_CUSTOMERS = 100  # customers per daily-usage insert (40,000 rows of 400 days)


def usage_end(today: dt.date) -> dt.date:
    """The last day of usage the demo holds: yesterday (today's is still being measured)."""
    return today - dt.timedelta(days=1)


def _accounts(chunk: list[w.WaterCustomer], areas: dict[str, int]) -> list[dict]:
    return [{"code": c.code, "name": c.name, "area_id": areas[c.area_path], "category": c.category,
             "account_type": c.account_type, "is_active": c.is_active, "address": c.address} for c in chunk]


def _usage_rows(customers: list[w.WaterCustomer], ids: dict[str, int], meters: dict[str, int], end: dt.date,
                days: int) -> list[dict]:
    return [{"account_id": ids[c.code], "meter_id": meters[c.meter_number], "usage_date": d, "quantity": q}
            for c in customers for d, q in w.daily_usage(c, end, days)]


def seed_reference(storage, n: int, today: dt.date, say: Say, days: int = w.DEFAULT_USAGE_DAYS) -> None:
    plan_id = storage.get_tariff_plan(code=PLAN_CODE).id
    areas = storage.ensure_areas(area_rows(w.areas()), SEEDER)
    end = usage_end(today)
    first, _ = w.usage_window(end, days)
    t0, rows = time.time(), 0
    for lo in range(0, n, CHUNK):
        chunk = list(w.customers(n, lo, lo + CHUNK))
        storage.bulk_insert("accounts", _accounts(chunk, areas))
        ids = storage.lookup_ids("accounts", "code", [c.code for c in chunk])
        contacts = [(c.code, x) for c in chunk for x in c.contacts]
        contact_ids = storage.bulk_insert("contacts", [{"name": x.name, "phone": x.phone, "email": x.email,
                                                        "address": x.address} for _, x in contacts], return_ids=True)
        storage.bulk_insert("account_contacts", [
            {"account_id": ids[code], "contact_id": cid, "role": x.role, "is_primary": x.is_primary}
            for (code, x), cid in zip(contacts, contact_ids)])
        storage.bulk_insert("service_connections", [
            {"account_id": ids[c.code], "service": c.service, "tariff_plan_id": plan_id, "is_active": c.is_active,
             "started_on": first} for c in chunk])
        # Interval (smart) meters: they report the daily usage. A closed account's meter is inactive.
        storage.bulk_insert("meters", [
            {"meter_number": c.meter_number, "account_id": ids[c.code], "service": c.service, "unit": c.meter_unit,
             "status": "active" if c.is_active else "inactive", "is_smart": True} for c in chunk])
        meters = storage.lookup_ids("meters", "meter_number", [c.meter_number for c in chunk])
        for i in range(0, len(chunk), USAGE_CUSTOMERS):
            part = _usage_rows(chunk[i:i + USAGE_CUSTOMERS], ids, meters, end, days)
            storage.bulk_insert("daily_usage", part)
            rows += len(part)
            if n > USAGE_CUSTOMERS * 10 and (lo + i + USAGE_CUSTOMERS) % (USAGE_CUSTOMERS * 10) == 0:
                done = min(lo + i + USAGE_CUSTOMERS, n)
                say(f"  customers: {done:,}/{n:,}, daily usage rows {rows:,} ({rows / max(time.time() - t0, 1e-9):,.0f}/s)")


def payment_plan(bill: Bill, month_index: int) -> PaymentPlan | None:
    index = w.customer_index_of(bill.account_code)
    return None if index is None else w.payment_plan_for(w.customer_at(index), month_index)


def payment_method(plan: PaymentPlan) -> tuple[str, str]:
    """Card (online or autopay) for full payments; a part payment by cheque."""
    if plan.behaviour == "partial":
        return "cheque", "part payment"
    return "card", "online payment"


def seed(db, n: int, today: dt.date, say: Say) -> None:
    seed_reference(db.storage, n, today, say)
    months = bill_months(today, MONTHS, db.utility().billing_day, db.utility().due_days)
    bill_history(db, months, plan_for=lambda bill, month: payment_plan(bill, month.index),
                 method_for=payment_method, today=today, say=say)
    detect_recent(db, today, say)


def anomaly_months(today: dt.date, days: int = w.DEFAULT_USAGE_DAYS) -> list[dt.date]:
    """The first days of the months detection can judge, oldest first: every month that starts at
    least min_history_days after the demo's first day of usage, up to the current one."""
    from services.readings.anomalies import DetectionParams

    earliest = w.usage_window(usage_end(today), days)[0] + dt.timedelta(days=DetectionParams().min_history_days)
    firsts = [today.replace(day=1)]
    while True:
        before = (firsts[-1] - dt.timedelta(days=1)).replace(day=1)
        if before < earliest:
            return list(reversed(firsts))
        firsts.append(before)


def detect_recent(db, today: dt.date, say: Say) -> None:
    """Usage anomaly detection over every month of the demo, as the scheduled job runs it each month."""
    t0 = time.time()
    for first in anomaly_months(today):
        found = db.detect_month_anomalies(first, actor=SEEDER)
        say(f"  anomalies {first:%Y-%m}: " + ", ".join(f"{m} {n}" for m, n in found.items()))
    say(f"  anomaly detection: {time.time() - t0:.1f} s")
