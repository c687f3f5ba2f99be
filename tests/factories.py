"""Small, explicit test data: seed 002's example society plus the special accounts."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from services.database_service import DatabaseService
from services.pricing_service import PricingService
from services.accounts.roles import Actor

ADMIN = Actor(None, "test-admin", "admin", "pytest")
ENGINEER = Actor(None, "test-engineer", "field_engineer", "pytest")

# Master data rows as the seeds use them: B17-FF at 12 with a 1474 base, C14-SF special.
PRICE_TABLE = {
    "B17-FF": (Decimal("12"), Decimal("1474")),
    "A1-GF": (Decimal("11.5"), Decimal("1680")),
    "C14-SF": (Decimal("11"), Decimal("1890")),
}

FLATS = (
    # code, block, floor, type, owner, phone, meter
    ("B17-FF", "B", "FF", "2BHK", "Test Owner", "+910000000000", "19152159"),
    ("A1-GF", "A", "GF", "3BHK", "Asha Rao", "+919800000001", "19150001"),
    ("C14-SF", "C", "SF", "4BHK", "Farhan Khan", "+919800000002", "19150002"),
    ("D3-SF", "D", "SF", "5BHK", "Meera Nair", "+919800000003", "19150003"),
)


def set_up_utility(storage, template: str = "society") -> int:
    """The utility's settings row and tariff plan (as DatabaseService.set_up_utility stores them);
    returns the plan id."""
    from services.accounts.utility import TEMPLATES
    from services.config import ROOT
    from services.tariffs import TariffPlan

    settings = TEMPLATES[template]
    storage.save_utility_settings(settings.as_row(), ADMIN)
    return storage.save_tariff_plan(TariffPlan.load(ROOT / settings.plan_file), ADMIN).id


FLOOR_NAMES = {"GF": "Ground Floor", "FF": "First Floor", "SF": "Second Floor", "TF": "Third Floor"}


def make_society(storage, with_motor: bool = True) -> dict:
    """The society utility, its blocks and floors (areas), the FLATS above as accounts with
    contacts, electricity connections and meters, and a shared motor."""
    plan_id = set_up_utility(storage, "society")
    paths = sorted({f"{b}/{fl}" for _, b, fl, *_ in FLATS})
    areas = storage.ensure_areas([{"path": b, "name": f"Block {b}"} for b in sorted({p[0] for p in paths})]
                                 + [{"path": p, "name": FLOOR_NAMES[p[2:]]} for p in paths], ADMIN)
    storage.bulk_insert("accounts", [{"code": c, "name": o, "area_id": areas[f"{b}/{fl}"], "category": t,
                                      "account_type": "flat"} for c, b, fl, t, o, *_ in FLATS])
    account_ids = storage.lookup_ids("accounts", "code", [f[0] for f in FLATS])
    storage.bulk_insert("service_connections", [{"account_id": account_ids[f[0]], "service": "electricity",
                                                  "tariff_plan_id": plan_id} for f in FLATS])
    storage.bulk_insert("contacts", [{"name": o, "phone": p} for *_, o, p, _ in FLATS])
    contact_ids = storage.lookup_ids("contacts", "phone", [f[5] for f in FLATS])
    storage.bulk_insert("account_contacts", [{"account_id": account_ids[f[0]], "contact_id": contact_ids[f[5]],
                                              "is_primary": True} for f in FLATS])
    storage.bulk_insert("meters", [{"meter_number": f[6], "account_id": account_ids[f[0]], "status": "active"}
                                   for f in FLATS])
    meter_ids = storage.lookup_ids("meters", "meter_number", [f[6] for f in FLATS])
    out = {"accounts": account_ids, "meters": meter_ids, "contacts": contact_ids, "areas": areas, "plan_id": plan_id}
    if with_motor:
        storage.bulk_insert("motors", [{"code": "MOTOR-B1", "name": "Block B motor"}])
        motor_id = storage.lookup_ids("motors", "code", ["MOTOR-B1"])["MOTOR-B1"]
        storage.bulk_insert("meters", [{"meter_number": "81000001", "motor_id": motor_id, "status": "active"}])
        storage.bulk_insert("account_motors", [{"account_id": account_ids["B17-FF"], "motor_id": motor_id}])
        out["motor_meter"] = storage.lookup_ids("meters", "meter_number", ["81000001"])["81000001"]
    return out


def make_service(storage, today: dt.date) -> DatabaseService:
    return DatabaseService(storage, PricingService(table=PRICE_TABLE), today=lambda: today)


def admin_user(storage) -> Actor:
    """A real admin user row (audit rows reference it)."""
    u = storage.get_user(username="admin1") or storage.create_user(
        username="admin1", role="admin", password_hash=None, actor=ADMIN)
    return Actor(u.id, u.username, u.role, "pytest")


def engineer_user(storage) -> Actor:
    u = storage.get_user(username="eng1") or storage.create_user(
        username="eng1", role="field_engineer", password_hash=None, actor=ADMIN)
    return Actor(u.id, u.username, u.role, "pytest")


def raw_bill(storage, account: str, start: dt.date, end: dt.date, *, units: Decimal = Decimal("1"),
             total: Decimal | None = None, **extra):
    """A NewBill built by hand (flat rate 12, no fixed charge), for tests that store below the service."""
    from services.models import BillLine, NewBill

    acct = storage.get_account(code=account)
    plan = storage.list_tariff_plans()[0]
    total = total if total is not None else (units * 12).quantize(Decimal("0.01"))
    values = dict(account_id=acct.id, area_id=acct.area_id, tariff_plan_version_id=plan.version_id(1),
                  billing_period_start=start, billing_period_end=end, due_date=end + dt.timedelta(days=15),
                  tariff_kind="flat_rate", pricing_rule="default_rate", units=units, motor_units=Decimal("0"),
                  total_units=units, rate_per_unit=Decimal("12"), fixed_charge=Decimal("0"),
                  previous_outstanding=Decimal("0"), total_amount=total,
                  lines=(BillLine(seq=1, code="energy", label="Energy", amount=total, quantity=units, unit="kWh",
                                  rate=Decimal("12")),))
    values.update(extra)
    return NewBill(**values)


# Municipal consumer units: (code, union council path, category, unit type, active).
UNITS = (
    ("SP-KSR-0000001", "KSR/KSR-UC01", "Small", "Bakery", True),       # the schedule's own row: 1000
    ("SP-KSR-0000002", "KSR/KSR-UC01", "Medium", "General Store", True),  # the category's default: 1000
    ("SP-KSR-0000003", "KSR/KSR-UC02", "Residential", "5 to 10 Marla", True),  # 500
    ("SP-OKR-0000004", "OKR/OKR-UC01", "Large", "Marriage Hall", True),  # the schedule's row: 5000
    ("SP-OKR-0000005", "OKR/OKR-UC01", "Small", "Tailor", False),        # inactive: not billed
)


def make_municipal(storage) -> dict:
    """The municipal utility, two cities with union councils, and UNITS with sanitation connections."""
    plan_id = set_up_utility(storage, "municipal")
    areas = storage.ensure_areas([{"path": "KSR", "name": "Kasur"}, {"path": "OKR", "name": "Okara"}]
                                 + [{"path": p, "name": p.split("/")[1], "kind": "urban"} for p in sorted({u[1] for u in UNITS})],
                                 ADMIN)
    storage.bulk_insert("accounts", [{"code": c, "name": f"Unit {c[-1]}", "area_id": areas[a], "category": cat,
                                      "account_type": t, "is_active": active} for c, a, cat, t, active in UNITS])
    ids = storage.lookup_ids("accounts", "code", [u[0] for u in UNITS])
    storage.bulk_insert("service_connections", [{"account_id": ids[u[0]], "service": "sanitation",
                                                 "tariff_plan_id": plan_id} for u in UNITS])
    return {"accounts": ids, "areas": areas, "plan_id": plan_id}


# Water customers: (code, cycle path, type, CCF a day).
CUSTOMERS = (
    ("HS0000001", "N/C1", "residential", Decimal("0.5")),   # 15.5 CCF in a 31-day month
    ("HS0000002", "N/C1", "commercial", Decimal("1.0")),    # 31 CCF
    ("HS0000003", "S/C2", "residential", Decimal("0.25")),  # another cycle
)


def make_water(storage, start: dt.date = dt.date(2026, 7, 1), days: int = 31) -> dict:
    """The water utility, service areas with billing cycles, CUSTOMERS with CCF meters, water
    connections and `days` of daily usage from `start`."""
    plan_id = set_up_utility(storage, "water")
    areas = storage.ensure_areas([{"path": "N", "name": "North"}, {"path": "S", "name": "South"},
                                  {"path": "N/C1", "name": "Cycle 1"}, {"path": "S/C2", "name": "Cycle 2"}], ADMIN)
    storage.bulk_insert("accounts", [{"code": c, "name": f"Customer {c[-1]}", "area_id": areas[a], "category": t,
                                      "account_type": t} for c, a, t, _ in CUSTOMERS])
    ids = storage.lookup_ids("accounts", "code", [c[0] for c in CUSTOMERS])
    storage.bulk_insert("service_connections", [{"account_id": ids[c[0]], "service": "water", "tariff_plan_id": plan_id}
                                                for c in CUSTOMERS])
    storage.bulk_insert("meters", [{"meter_number": f"610000{i}", "account_id": ids[c[0]], "service": "water",
                                    "unit": "CCF", "status": "active"} for i, c in enumerate(CUSTOMERS)])
    storage.bulk_insert("daily_usage", [{"account_id": ids[c[0]], "usage_date": start + dt.timedelta(days=d),
                                         "quantity": c[3], "source": "import"} for c in CUSTOMERS for d in range(days)])
    return {"accounts": ids, "areas": areas, "plan_id": plan_id}
