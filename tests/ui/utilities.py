"""Small municipal and water utilities for page tests (the society has the seeded demo).

Built the way tests/factories.py builds the society: DatabaseService.set_up_utility(template), a
few areas (two at the top level, a child each), accounts with a primary contact and a service
connection, the demo users; water customers also get a CCF meter with a baseline and a pending
reading, and daily usage for last month. Last month is billed by the month run (so the bills
list and a bill's lines have something to show) and one bill is part paid.

    url = utility_url(tmp_path, "water")   # a fresh SQLite database

Fixtures `municipal_url` and `water_url` do that per test: `from tests.ui.utilities import municipal_url, water_url  # noqa: F401`.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from scripts.seed_demo import ensure_demo_users
from services.accounts.roles import Actor
from services.billing.periods import BillingPeriod
from services.clock import today as app_today
from services.database_service import DatabaseService
from services.models import BillFilter
from services.storage.sql_backend import SqlStorage

SETUP = Actor(None, "pytest", "system")

AREAS = {
    "municipal": [("LHC", "Lahore Cantt", None), ("LHC/UC-12", "Saddar Bazar", "Urban"),
                  ("MUL", "Multan", None), ("MUL/UC-3", "Shah Rukn-e-Alam", "Peri-Urban")],
    "water": [("NORTH", "North service area", None), ("NORTH/C1", "Cycle 1", None),
              ("SOUTH", "South service area", None), ("SOUTH/C2", "Cycle 2", None)],
}
# code, name, area path, category, account type, contact phone
ACCOUNTS = {
    "municipal": [
        ("LHC-000101", "Ali Bakers", "LHC/UC-12", "Small", "Bakery", "+923001234501"),
        ("LHC-000102", "Rana Residence", "LHC/UC-12", "Residential", "5 to 10 Marla", "+923001234502"),
        ("MUL-000301", "Shah Hotel", "MUL/UC-3", "Large", "Hotel", "+923001234503"),
    ],
    "water": [
        ("HS-100001", "Jane Alvarez", "NORTH/C1", "residential", "residential", "+14155550101"),
        ("HS-100002", "Bay Bakery LLC", "NORTH/C1", "commercial", "commercial", "+14155550102"),
        ("HS-200001", "Sam Okafor", "SOUTH/C2", "residential", "residential", "+14155550103"),
    ],
}
DAILY_CCF = {"HS-100001": Decimal("0.50"), "HS-100002": Decimal("2.40"), "HS-200001": Decimal("0.75")}


def last_month(today: dt.date | None = None) -> BillingPeriod:
    first = (today or app_today()).replace(day=1)
    return BillingPeriod.for_month(first - dt.timedelta(days=1))


def build(storage, template: str, today: dt.date | None = None) -> dict:
    """Set up the utility in an empty database; returns ids and what was billed."""
    today = today or app_today()
    ensure_demo_users(storage, quiet=True, utility=template)
    admin = storage.get_user(username="admin")
    actor = Actor(admin.id, admin.username, admin.role)
    db = DatabaseService(storage, today=lambda: today)
    settings = db.set_up_utility(template, actor=SETUP)
    plan_id = next(sp.id for sp in storage.list_tariff_plans() if sp.plan.service == settings.service)
    areas = storage.ensure_areas([{"path": p, "name": n, "kind": k, "sort_order": i}
                                  for i, (p, n, k) in enumerate(AREAS[template])], SETUP)
    rows = ACCOUNTS[template]
    storage.bulk_insert("accounts", [{"code": c, "name": n, "area_id": areas[a], "category": cat, "account_type": t}
                                     for c, n, a, cat, t, _ in rows])
    ids = storage.lookup_ids("accounts", "code", [r[0] for r in rows])
    storage.bulk_insert("service_connections", [{"account_id": ids[r[0]], "service": settings.service,
                                                  "tariff_plan_id": plan_id} for r in rows])
    storage.bulk_insert("contacts", [{"name": r[1], "phone": r[5]} for r in rows])
    contacts = storage.lookup_ids("contacts", "phone", [r[5] for r in rows])
    storage.bulk_insert("account_contacts", [{"account_id": ids[r[0]], "contact_id": contacts[r[5]], "is_primary": True}
                                             for r in rows])
    period = last_month(today)
    if template == "water":
        storage.bulk_insert("meters", [{"meter_number": f"W{r[0][3:]}", "account_id": ids[r[0]], "service": "water",
                                        "unit": "CCF", "status": "active"} for r in rows])
        meters = storage.lookup_ids("meters", "meter_number", [f"W{r[0][3:]}" for r in rows])
        now = dt.datetime.now(dt.timezone.utc)
        storage.bulk_insert("readings", [{"meter_id": meters[f"W{r[0][3:]}"], "reading_value": Decimal("1000.00"),
                                          "reading_date": period.start - dt.timedelta(days=1), "status": "approved",
                                          "source": "import", "created_at": now, "updated_at": now} for r in rows])
        usage = []
        day = period.start
        while day <= period.end:
            usage += [{"account_id": ids[c], "usage_date": day, "quantity": q, "source": "import"}
                      for c, q in DAILY_CCF.items()]
            day += dt.timedelta(days=1)
        storage.bulk_insert("daily_usage", usage)
        engineer = storage.get_user(username="engineer")
        db.insert_meter_reading(meter_number="W100001", reading_value="1015.50", reading_date=period.end,
                                actor=Actor(engineer.id, engineer.username, engineer.role))
    run = db.generate_bills_for_month(period.start, period.end, period.end + dt.timedelta(days=settings.due_days),
                                      actor=actor)
    bills = storage.list_bills(BillFilter(), 0, 10).items
    db.record_payment(bills[0].id, "10", method="cash", actor=actor)
    return {"accounts": ids, "areas": areas, "plan_id": plan_id, "period": period, "run": run,
            "bills": [b.id for b in bills], "settings": settings}


def utility_url(tmp_path, template: str) -> str:
    path = tmp_path / f"{template}.db"
    storage = SqlStorage(f"sqlite:///{path}")
    build(storage, template)
    storage.dispose()
    return f"sqlite:///{path}"


@pytest.fixture
def municipal_url(tmp_path) -> str:
    return utility_url(tmp_path, "municipal")


@pytest.fixture
def water_url(tmp_path) -> str:
    return utility_url(tmp_path, "water")
