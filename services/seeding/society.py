"""Seeding the demo society (Blessings City, seed 002) from services/demo/society.py.

Blocks A-D and their floors as areas, flats like B17-FF as accounts with an owner (primary contact)
and an electricity connection to the society's flat-rate plan, a kWh meter per flat, shared water
motors with their own meters, a baseline reading plus six months of readings (the latest month
pending review, with a few anomalies flagged), bills for the earlier months made by the real month
run, and payments (most in full, some in part, some unpaid and carried forward).
"""
from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

from services.billing.periods import BillingPeriod
from services.demo import society as demo
from services.seeding.common import CHUNK, SEEDER, Say
from services.models import BillFilter
from services.readings.checks import HistoryPoint, check_reading

SOCIETY_PLAN = "society-electricity"


def seed_reference(storage, n_flats: int, today: dt.date, engineer_id: int | None, say: Say) -> None:
    plan_id = storage.get_tariff_plan(code=SOCIETY_PLAN).id
    areas = storage.ensure_areas(
        [{"path": b, "name": f"Block {b}", "sort_order": i} for i, b in enumerate(demo.BLOCKS)]
        + [{"path": f"{b}/{c}", "name": n, "sort_order": o} for b in demo.BLOCKS for c, n, o in demo.FLOORS], SEEDER)
    motors = demo.motors(n_flats)
    storage.bulk_insert("motors", [{"code": code, "name": f"Water motor {code[6:]}"} for code, _ in motors])
    motor_ids = storage.lookup_ids("motors", "code", [c for c, _ in motors])
    storage.bulk_insert("meters", [{"meter_number": mn, "motor_id": motor_ids[c], "status": "active"} for c, mn in motors])
    dates = demo.reading_dates(today)
    t0 = time.time()
    meter_id_of: dict[str, int] = storage.lookup_ids("meters", "meter_number", [mn for _, mn in motors])
    for start in range(0, n_flats, CHUNK):
        chunk = list(demo.flats(n_flats, start, start + CHUNK))
        storage.bulk_insert("accounts", [{"code": f.code, "name": f.owner_name, "area_id": areas[f"{f.block}/{f.floor_code}"],
                                          "category": f.flat_type, "account_type": "flat"} for f in chunk])
        account_ids = storage.lookup_ids("accounts", "code", [f.code for f in chunk])
        storage.bulk_insert("service_connections", [{"account_id": account_ids[f.code], "service": "electricity",
                                                     "tariff_plan_id": plan_id} for f in chunk])
        storage.bulk_insert("contacts", [{"name": f.owner_name, "phone": f.owner_phone} for f in chunk])
        contact_ids = storage.lookup_ids("contacts", "phone", [f.owner_phone for f in chunk])
        storage.bulk_insert("account_contacts", [{"account_id": account_ids[f.code], "contact_id": contact_ids[f.owner_phone],
                                                  "is_primary": True} for f in chunk])
        storage.bulk_insert("account_motors", [{"account_id": account_ids[f.code], "motor_id": motor_ids[f.motor_code]}
                                               for f in chunk])
        storage.bulk_insert("meters", [{"meter_number": f.meter_number, "account_id": account_ids[f.code],
                                        "status": "active"} for f in chunk])
        meter_id_of.update(storage.lookup_ids("meters", "meter_number", [f.meter_number for f in chunk]))
        done = min(start + CHUNK, n_flats)
        if n_flats > CHUNK:
            say(f"  flats: {done:,}/{n_flats:,} ({done / max(time.time() - t0, 1e-9):,.0f} flats/s)")
    # Readings go in month by month, as a live system accumulates them, so reading ids follow time
    # (the newest, pending readings have the highest ids, which the review queue's count relies on).
    for i, date in enumerate(dates):
        rows = [motor_reading(code, meter_id_of[mn], dates, i, engineer_id) for code, mn in motors]
        storage.bulk_insert("readings", rows)
        for start in range(0, n_flats, CHUNK):
            storage.bulk_insert("readings", [flat_reading(f, n_flats, meter_id_of[f.meter_number], dates, i, engineer_id)
                                             for f in demo.flats(n_flats, start, start + CHUNK)])
        if n_flats > CHUNK:
            say(f"  readings of {date}: {n_flats:,} accounts ({time.time() - t0:,.0f} s)")


def _reading_row(meter_id: int, dates: list[dt.date], values: list[Decimal], consumptions: list[Decimal],
                 i: int, engineer_id: int | None, motor_shares: list[Decimal] | None = None) -> dict:
    """The meter's i-th reading (0 = baseline; the last one pending review, checked like a live one)."""
    now = dt.datetime.now(dt.timezone.utc)
    last = len(dates) - 1
    consumption = consumptions[i - 1] if i else None
    flags = None
    if i == last:
        history = [HistoryPoint(c, (dates[j + 1] - dates[j]).days) for j, c in enumerate(consumptions[:-1])]
        found = check_reading(consumption, (dates[i] - dates[i - 1]).days, history)
        flags = [f.as_dict() for f in found] or None
    return {
        "meter_id": meter_id, "reading_value": values[i], "reading_date": dates[i], "consumption": consumption,
        "motor_share": motor_shares[i - 1] if motor_shares and i else None,
        "status": "pending" if i == last else "approved", "source": "import" if i == 0 else "ui",
        "flags": flags, "submitted_by": engineer_id, "reviewed_at": None if i == last else now,
        "created_at": now, "updated_at": now,
    }


def motor_consumptions(motor_code: str, dates: list[dt.date]) -> list[Decimal]:
    seed = sum(ord(ch) for ch in motor_code)
    return [Decimal(380 + (seed * 31 + i * 17) % 120) * Decimal(str(demo.SEASON[d.month])) for i, d in enumerate(dates[1:])]


def motor_share(flat: demo.DemoFlat, n_flats: int, dates: list[dt.date]) -> list[Decimal]:
    # Flats on a motor: ten numbers x four floors, fewer at the end of a small society.
    sharing = min(demo.FLATS_PER_MOTOR_NUMBER, demo.numbers_per_block(n_flats)) * len(demo.FLOORS)
    return [(c / sharing).quantize(Decimal("0.01")) for c in motor_consumptions(flat.motor_code, dates)]


def motor_reading(code: str, meter_id: int, dates: list[dt.date], i: int, engineer_id: int | None) -> dict:
    cons = [c.quantize(Decimal("0.1")) for c in motor_consumptions(code, dates)]
    values = [Decimal(5000)]
    for c in cons:
        values.append(values[-1] + c)
    return _reading_row(meter_id, dates, values, cons, i, engineer_id)


def flat_reading(flat: demo.DemoFlat, n_flats: int, meter_id: int, dates: list[dt.date], i: int,
                 engineer_id: int | None) -> dict:
    cons = demo.monthly_consumptions(flat, dates)
    return _reading_row(meter_id, dates, demo.register_values(flat, cons), cons, i, engineer_id,
                        motor_share(flat, n_flats, dates))


def seed_bills(db, n_flats: int, today: dt.date, say: Say) -> None:
    """Bill every past month with the real bill run, then record payments."""
    dates = demo.reading_dates(today)
    for month_index, d in enumerate(dates[1:-1]):
        period = BillingPeriod.for_month(d)
        due = period.end + dt.timedelta(days=15)
        summary = db.generate_bills_for_month(period.start, period.end, due, actor=SEEDER)
        say(f"  bills {period.start:%Y-%m}: {summary.created:,} created, total {summary.total_amount:,}")
        pay_month(db, n_flats, period, due, month_index)
    overdue = db.storage.mark_overdue(today, SEEDER)
    say(f"  bills past due marked overdue: {len(overdue):,}")


def pay_month(db, n_flats: int, period: BillingPeriod, due: dt.date, month_index: int) -> None:
    full, partial = [], []
    offset = 0
    while True:
        page = db.storage.list_bills(BillFilter(period_month=period.start.strftime("%Y-%m")), offset, 5000,
                                     with_total=False)
        for bill in page.items:
            flat_index = flat_index_of(bill.account_code, n_flats)
            behaviour = demo.payment_behaviour(demo.flat_at(flat_index, n_flats), month_index) if flat_index is not None else "full"
            if behaviour == "full":
                full.append(bill.id)
            elif behaviour == "partial" and len(partial) < 2000:  # per-row path: keep big societies quick
                partial.append(bill)
        if not page.has_next:
            break
        offset += len(page.items)
    paid_on = min(due - dt.timedelta(days=3), db.today())
    db.storage.settle_bills_in_full(full, paid_on=paid_on, method="upi", reference=f"collection {period.start:%Y-%m}",
                                    actor=SEEDER)
    for bill in partial:
        half = (bill.total_amount / 2).quantize(Decimal("0.01"))
        if half > 0:
            db.record_payment(bill.id, half, paid_on=paid_on, method="cash", reference="part payment", actor=SEEDER)


def flat_index_of(code: str | None, n_flats: int) -> int | None:
    """Invert demo.flat_at for a flat code (B17-FF -> index)."""
    try:
        head, floor = code.split("-")
        block, number = head[0], int(head[1:])
        floor_pos = [c for c, _, _ in demo.FLOORS].index(floor)
        return (number - 1) * len(demo.BLOCKS) * len(demo.FLOORS) + demo.BLOCKS.index(block) * len(demo.FLOORS) + floor_pos
    except (AttributeError, ValueError, IndexError):
        return None
