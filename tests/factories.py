"""Small, explicit test data: seed 002's example society plus the special flats."""
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


def make_society(storage, with_motor: bool = True) -> dict:
    """Insert floors, types, the FLATS above with owners and meters, and a shared motor."""
    storage.bulk_insert("floors", [{"code": "GF", "name": "Ground Floor", "sort_order": 0},
                                   {"code": "FF", "name": "First Floor", "sort_order": 1},
                                   {"code": "SF", "name": "Second Floor", "sort_order": 2}])
    storage.bulk_insert("flat_types", [{"name": n, "bhk": b} for n, b in (("2BHK", 2), ("3BHK", 3), ("4BHK", 4), ("5BHK", 5))])
    floors = storage.lookup_ids("floors", "code", ["GF", "FF", "SF"])
    types = storage.lookup_ids("flat_types", "name", ["2BHK", "3BHK", "4BHK", "5BHK"])
    storage.bulk_insert("flats", [{"code": c, "block": b, "floor_id": floors[fl], "type_id": types[t]}
                                  for c, b, fl, t, *_ in FLATS])
    flat_ids = storage.lookup_ids("flats", "code", [f[0] for f in FLATS])
    storage.bulk_insert("owners", [{"name": o, "phone": p} for *_, o, p, _ in FLATS])
    owner_ids = storage.lookup_ids("owners", "phone", [f[5] for f in FLATS])
    storage.bulk_insert("flat_owners", [{"flat_id": flat_ids[f[0]], "owner_id": owner_ids[f[5]], "is_primary": True}
                                        for f in FLATS])
    storage.bulk_insert("meters", [{"meter_number": f[6], "flat_id": flat_ids[f[0]], "status": "active"} for f in FLATS])
    meter_ids = storage.lookup_ids("meters", "meter_number", [f[6] for f in FLATS])
    out = {"flats": flat_ids, "meters": meter_ids, "owners": owner_ids}
    if with_motor:
        storage.bulk_insert("motors", [{"code": "MOTOR-B1", "name": "Block B motor"}])
        motor_id = storage.lookup_ids("motors", "code", ["MOTOR-B1"])["MOTOR-B1"]
        storage.bulk_insert("meters", [{"meter_number": "81000001", "motor_id": motor_id, "status": "active"}])
        storage.bulk_insert("flat_motors", [{"flat_id": flat_ids["B17-FF"], "motor_id": motor_id}])
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
