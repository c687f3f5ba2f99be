"""Build a demo utility in the configured database (idempotent).

    python -m scripts.seed_demo                         # the society: 320 flats
    python -m scripts.seed_demo --utility municipal     # Suthra Punjab: 3,000 consumer units
    python -m scripts.seed_demo --utility water         # HydroSpark: 1,000 customers
    python -m scripts.seed_demo --utility water --accounts 200 --database-url sqlite:////tmp/water.db

society (Blessings City, electricity): blocks A-D and floors as areas, flats like B17-FF with
2/3/4/5 BHK types, owners, kWh meters, shared water motors, a baseline reading plus six months of
readings (the latest month pending review, a few anomalies flagged), five months of bills.
municipal (Suthra Punjab, sanitation fee): cities/tehsils and union councils as areas, surveyed
consumer units (survey fields, billing consumer, GPS) priced by the category_fee plan from the
month of their survey, places of worship exempt, a few units closed; 12 months of bills.
water (HydroSpark): service areas and billing cycles as areas, residential, commercial and
industrial customers with a CCF meter and 400 days of daily usage (a few anomalies planted);
12 months of bills by the tiered_seasonal plan.
Every utility's bills are made by the real month-end bill run, month by month, and paid as the
generators' payment behaviour says (most in full, some late, some in part, some not at all and
carried forward as arrears); bills past due are marked overdue. The demo users are created too.
Running it again on a seeded database changes nothing (the users are re-checked).
"""
from __future__ import annotations

import argparse
import datetime as dt
import sys
import time

from services.accounts.password_policy import check_password
from services.accounts.passwords import hash_password
from services.accounts.roles import Actor
from services.clock import today as local_today
from services.config import Settings, open_storage
from services.database_service import DatabaseService
from services.seeding import municipal as seeding_municipal, society as seeding_society, water as seeding_water
from services.seeding.common import SEEDER, quiet as say_nothing
from services.pricing_service import PricingService

UTILITIES = ("society", "municipal", "water")
DEFAULT_ACCOUNTS = {"society": 320, "municipal": 3000, "water": 1000}
SUMMARY_TABLES = {
    "society": ("accounts", "meters", "readings", "bills", "payments"),
    "municipal": ("areas", "accounts", "account_surveys", "service_connections", "bills", "bill_lines", "payments"),
    "water": ("areas", "accounts", "meters", "daily_usage", "bills", "bill_lines", "payments"),
}
# Documented in README ("Demo accounts"). These exist only in a demo database, and they pass the
# app's own password policy (services/accounts/password_policy.py), which ensure_demo_users checks.
DEMO_USERS = (
    ("admin", "admin", "Demo Administrator", "copper-lantern-meadow"),
    ("engineer", "field_engineer", "Demo Field Engineer", "river-stone-kettle"),
    ("engineer2", "field_engineer", "Second Field Engineer", "maple-orbit-thunder"),
)
# The water utility's staff (issue 13), besides the users above: Operations review anomalies,
# Billing runs months, Support changes customers' contact details.
WATER_DEMO_USERS = (
    ("operations", "operations", "Demo Operations", "harbor-willow-compass"),
    ("billing", "billing", "Demo Billing", "granite-sparrow-ledger"),
    ("support", "support", "Demo Support", "velvet-canyon-lantern"),
)


def demo_users(utility: str | None = None) -> tuple:
    return DEMO_USERS + (WATER_DEMO_USERS if utility == "water" else ())


def log(msg: str) -> None:
    print(msg, flush=True)


# The municipal demo's own sign-ins (seed 003's staff roles): the head office, and an agent who sees
# only their union councils (services/seeding/municipal_staff.py assigns them).
MUNICIPAL_DEMO_USERS = (
    ("head", "head", "Demo Head Office", "saffron-canal-lantern"),
    ("agent", "agent", "Demo Agent", "indigo-bridge-orchard"),
)


# The customer portal (issue 16): one customer sign-in per demo, linked to the demo's first account
# (by code). Documented in README ("Demo accounts") like the staff above.
CUSTOMER_DEMO_USERS = {
    "society": ("flatowner", "customer", "Demo Flat Owner", "amber-quill-harvest"),
    "municipal": ("shopowner", "customer", "Demo Shop Owner", "cedar-pebble-horizon"),
    "water": ("household", "customer", "Demo Household", "lotus-ember-cascade"),
}


def ensure_demo_customer(storage, utility: str, quiet: bool = False) -> str | None:
    """The demo's customer sign-in, linked to the first account (by code); returns that account's code."""
    from services.models import AccountFilter

    user = CUSTOMER_DEMO_USERS[utility]
    ensure_demo_users(storage, quiet=quiet, users=(user,))
    first = storage.list_accounts(AccountFilter(), 0, 1, with_total=False).items
    if not first:
        return None
    made = storage.get_user(username=user[0])
    storage.link_customer_account(made.id, first[0].id, Actor(None, "seed_demo", "system"))
    if not quiet:
        log(f"  the customer {user[0]} sees {first[0].code}")
    return first[0].code


def ensure_demo_users(storage, quiet: bool = False, utility: str | None = None,
                      users=None) -> list[tuple[str, str, str]]:
    seeder = Actor(None, "seed_demo", "system")
    made = []
    users = demo_users(utility) if users is None else users
    for username, role, name, password in users:
        check_password(password, username)  # a demo account is no exception to the policy
    for username, role, name, password in users:
        if storage.get_user(username=username) is None:
            storage.create_user(username=username, role=role, password_hash=hash_password(password), actor=seeder,
                                display_name=name)
            made.append((username, role, password))
    if not quiet:
        log("Demo accounts (demo database only; change or deactivate them before real use):")
        for username, role, _, password in users:
            log(f"  {role:15s} username: {username:10s} password: {password}")
    return made


def held_utility(storage) -> str | None:
    """The template of the utility the database holds (None before it was set up)."""
    row = storage.utility_settings_row()
    return row["template"] if row else None


def seed(storage, n_accounts: int | None = None, today: dt.date | None = None, pricing: PricingService | None = None,
         quiet: bool = False, *, utility: str = "society") -> bool:
    """Seed an empty database with the demo `utility`; return False (and change nothing but users)
    if it already has accounts."""
    if utility not in UTILITIES:
        raise ValueError(f"unknown utility {utility!r}: use one of {', '.join(UTILITIES)}")
    today = today or local_today()
    n = n_accounts or DEFAULT_ACCOUNTS[utility]
    say = say_nothing if quiet else log
    if storage.table_counts(["accounts"])["accounts"] > 0:
        held = held_utility(storage) or "society"
        ensure_demo_users(storage, quiet=quiet, utility=held)  # the staff of the utility it holds
        ensure_demo_customer(storage, held, quiet=quiet)
        say(f"The database already has accounts ({held}): the {utility} demo was not seeded again.")
        return False
    ensure_demo_users(storage, quiet=quiet, utility=utility)
    t0 = time.time()
    db = DatabaseService(storage, pricing or PricingService(), today=lambda: today)
    settings = db.set_up_utility(utility, actor=SEEDER)
    say(f"Seeding the demo {utility} {settings.name}: {n:,} {settings.account_label_plural} ...")
    if utility == "society":
        engineer = storage.get_user(username="engineer")
        seeding_society.seed_reference(storage, n, today, engineer.id if engineer else None, say)
        seeding_society.seed_bills(db, n, today, say)
    elif utility == "municipal":
        seeding_municipal.seed(db, n, today, say)
        from services.seeding import municipal_staff

        ensure_demo_users(storage, quiet=quiet, users=MUNICIPAL_DEMO_USERS)
        municipal_staff.assign_demo_signins(storage, municipal_staff.seed_staff(storage, say))
    else:
        seeding_water.seed(db, n, today, say)
    ensure_demo_customer(storage, utility, quiet=quiet)
    storage.refresh_statistics()
    say(f"Done in {time.time() - t0:.1f} s: " + ", ".join(
        f"{k} {v:,}" for k, v in storage.table_counts(SUMMARY_TABLES[utility]).items()))
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.seed_demo", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2] + "\n\nConfiguration: DATABASE_URL / "
                                 "SUPABASE_URL+SUPABASE_KEY, else data/meterline.db.")
    ap.add_argument("--utility", choices=UTILITIES, default="society",
                    help="which demo utility to build (default society)")
    ap.add_argument("--accounts", "--flats", dest="accounts", type=int,
                    help="number of accounts (default: society 320, municipal 3000, water 1000; --flats is the "
                         "society's old name for it)")
    ap.add_argument("--database-url", help="SQLAlchemy URL to seed instead of the configured database")
    ap.add_argument("--today", help="pretend today is this date (YYYY-MM-DD), for reproducible data")
    args = ap.parse_args(argv)
    if args.accounts is not None and args.accounts < 1:
        ap.error("--accounts must be at least 1")
    settings = Settings.from_env()
    if args.database_url:
        from services.storage.sql_backend import SqlStorage

        storage = SqlStorage(args.database_url)
    else:
        storage = open_storage(settings)
    today = dt.date.fromisoformat(args.today) if args.today else None
    seeded = seed(storage, args.accounts, today, PricingService(settings.master_data_path), utility=args.utility)
    held = held_utility(storage)
    if not seeded and held is not None and held != args.utility:
        print(f"This database holds the {held} utility, not {args.utility}: one database holds one utility. "
              f"Seed the {args.utility} demo into an empty database (--database-url).", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
