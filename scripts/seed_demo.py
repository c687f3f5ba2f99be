"""Build the demo society in the configured database (idempotent).

    python -m scripts.seed_demo                 # 320 accounts into the configured database
    python -m scripts.seed_demo --accounts 300000  # a municipal-size data set for benchmarks
    python -m scripts.seed_demo --database-url sqlite:////tmp/demo.db

Blocks A-D, floors GF/FF/SF/TF, accounts like B17-FF with 2/3/4/5 BHK types, contacts with phones,
active meters, shared water motors, a baseline reading plus six months of readings (the latest
month pending review, with a few anomalies flagged), bills for the earlier months produced by the
real month-end bill run, payments (most in full, some partial, some unpaid and carried forward),
and demo users. Running it again on a seeded database changes nothing (users are re-checked).
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from decimal import Decimal

from services.demo import society as demo
from services.clock import today as local_today
from services.config import Settings, open_storage
from services.database_service import DatabaseService
from services.accounts.password_policy import check_password
from services.accounts.passwords import hash_password
from services.billing.periods import BillingPeriod
from services.pricing_service import PricingService
from services.readings.checks import HistoryPoint, check_reading
from services.accounts.roles import Actor

CHUNK = 5000
SOCIETY_PLAN = "society-electricity"
# Documented in README ("Demo accounts"). These exist only in a demo database, and they pass the
# app's own password policy (services/accounts/password_policy.py), which ensure_demo_users checks.
DEMO_USERS = (
    ("admin", "admin", "Demo Administrator", "copper-lantern-meadow"),
    ("engineer", "field_engineer", "Demo Field Engineer", "river-stone-kettle"),
    ("engineer2", "field_engineer", "Second Field Engineer", "maple-orbit-thunder"),
)


def log(msg: str) -> None:
    print(msg, flush=True)


def ensure_demo_users(storage, quiet: bool = False) -> list[tuple[str, str, str]]:
    seeder = Actor(None, "seed_demo", "system")
    made = []
    for username, role, name, password in DEMO_USERS:
        check_password(password, username)  # a demo account is no exception to the policy
    for username, role, name, password in DEMO_USERS:
        if storage.get_user(username=username) is None:
            storage.create_user(username=username, role=role, password_hash=hash_password(password), actor=seeder,
                                display_name=name)
            made.append((username, role, password))
    if not quiet:
        log("Demo accounts (demo database only; change or deactivate them before real use):")
        for username, role, _, password in DEMO_USERS:
            log(f"  {role:15s} username: {username:10s} password: {password}")
    return made


def seed_reference(storage, n_flats: int, today: dt.date, engineer_id: int | None) -> None:
    seeder = Actor(None, "seed_demo", "system")
    plan_id = storage.get_tariff_plan(code=SOCIETY_PLAN).id
    areas = storage.ensure_areas(
        [{"path": b, "name": f"Block {b}", "sort_order": i} for i, b in enumerate(demo.BLOCKS)]
        + [{"path": f"{b}/{c}", "name": n, "sort_order": o} for b in demo.BLOCKS for c, n, o in demo.FLOORS], seeder)
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
            log(f"  flats: {done:,}/{n_flats:,} ({done / max(time.time() - t0, 1e-9):,.0f} flats/s)")
    # Readings go in month by month, as a live system accumulates them, so reading ids follow time
    # (the newest, pending readings have the highest ids, which the review queue's count relies on).
    for i, date in enumerate(dates):
        rows = [motor_reading(code, meter_id_of[mn], dates, i, engineer_id) for code, mn in motors]
        storage.bulk_insert("readings", rows)
        for start in range(0, n_flats, CHUNK):
            storage.bulk_insert("readings", [flat_reading(f, n_flats, meter_id_of[f.meter_number], dates, i, engineer_id)
                                             for f in demo.flats(n_flats, start, start + CHUNK)])
        if n_flats > CHUNK:
            log(f"  readings of {date}: {n_flats:,} accounts ({time.time() - t0:,.0f} s)")


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


def seed_bills(db: DatabaseService, n_flats: int, today: dt.date, say=log) -> None:
    """Bill every past month with the real bill run, then record payments."""
    seeder = Actor(None, "seed_demo", "system")
    dates = demo.reading_dates(today)
    for month_index, d in enumerate(dates[1:-1]):
        period = BillingPeriod.for_month(d)
        due = period.end + dt.timedelta(days=15)
        summary = db.generate_bills_for_month(period.start, period.end, due, actor=seeder)
        say(f"  bills {period.start:%Y-%m}: {summary.created:,} created, total {summary.total_amount:,}")
        pay_month(db, n_flats, period, due, month_index, seeder)
    overdue = db.storage.mark_overdue(today, seeder)
    say(f"  bills past due marked overdue: {len(overdue):,}")


def pay_month(db: DatabaseService, n_flats: int, period: BillingPeriod, due: dt.date, month_index: int, seeder) -> None:
    from services.models import BillFilter

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
                                    actor=seeder)
    for bill in partial:
        half = (bill.total_amount / 2).quantize(Decimal("0.01"))
        if half > 0:
            db.record_payment(bill.id, half, paid_on=paid_on, method="cash", reference="part payment", actor=seeder)


def flat_index_of(code: str | None, n_flats: int) -> int | None:
    """Invert demo.flat_at for a flat code (B17-FF -> index)."""
    try:
        head, floor = code.split("-")
        block, number = head[0], int(head[1:])
        floor_pos = [c for c, _, _ in demo.FLOORS].index(floor)
        return (number - 1) * len(demo.BLOCKS) * len(demo.FLOORS) + demo.BLOCKS.index(block) * len(demo.FLOORS) + floor_pos
    except (AttributeError, ValueError, IndexError):
        return None


def seed(storage, n_flats: int, today: dt.date | None = None, pricing: PricingService | None = None,
         quiet: bool = False) -> bool:
    """Seed an empty database; return False (and change nothing but users) if it already has accounts."""
    today = today or local_today()
    ensure_demo_users(storage, quiet=quiet)
    if storage.table_counts(["accounts"])["accounts"] > 0:
        if not quiet:
            log("The database already has accounts: the society was not seeded again.")
        return False
    engineer = storage.get_user(username="engineer")
    t0 = time.time()
    if not quiet:
        log(f"Seeding a demo society of {n_flats:,} flats ...")
    db = DatabaseService(storage, pricing or PricingService(), today=lambda: today)
    db.set_up_utility("society", actor=Actor(None, "seed_demo", "system"))
    seed_reference(storage, n_flats, today, engineer.id if engineer else None)
    seed_bills(db, n_flats, today, say=(lambda _msg: None) if quiet else log)
    storage.refresh_statistics()
    if not quiet:
        log(f"Done in {time.time() - t0:.1f} s: " + ", ".join(f"{k} {v:,}" for k, v in storage.table_counts(
            ["accounts", "meters", "readings", "bills", "payments"]).items()))
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.seed_demo", description=__doc__.split("\n\n")[0],
                                 epilog="Configuration: DATABASE_URL / SUPABASE_URL+SUPABASE_KEY, else data/meterline.db.")
    ap.add_argument("--accounts", type=int, default=320, help="number of accounts (default 320; 300000 for benchmarks)")
    ap.add_argument("--database-url", help="SQLAlchemy URL to seed instead of the configured database")
    ap.add_argument("--today", help="pretend today is this date (YYYY-MM-DD), for reproducible data")
    args = ap.parse_args(argv)
    if args.accounts < 1:
        ap.error("--accounts must be at least 1")
    settings = Settings.from_env()
    if args.database_url:
        from services.storage.sql_backend import SqlStorage

        storage = SqlStorage(args.database_url)
    else:
        storage = open_storage(settings)
    today = dt.date.fromisoformat(args.today) if args.today else None
    seed(storage, args.accounts, today, PricingService(settings.master_data_path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
