"""Seeding the demo municipal utility (Suthra Punjab, seed 003) from services/demo/municipal.py.

Cities/tehsils and their union councils (kind = the UC's type) as areas; each surveyed consumer
unit as an account in its UC, with its billing consumer as the primary contact, GPS, and its
field survey (account_surveys); a sanitation connection to the category_fee plan for every
billable unit (places of worship are surveyed but exempt: no connection); no meters (a fixed fee).
Then 12 months of bills by the real month run, with the generator's payment behaviour.

Tariff class (the one place the survey's words meet the plan's, `tariff_class`): the survey
records a unit's size category (Small / Medium / Large) and its type (House, Bakery, ...), as seed
003's survey_units does. data/tariffs/municipal.toml prices houses by plot size band within
"Residential" (urban and peri-urban UCs) or "Rural residential" (rural UCs), businesses by size
category with rows for some types, factories as "Industrial" and schools as "Institutional".
The account's category and account_type are the tariff class, since the month run prices the
account by them; the survey's own words are kept on account_surveys (unit_type, size_category,
and the house's plot size in size_marla).

A unit is billed from the month it was surveyed in (the monthly fee is not prorated): its
connection starts on the first of that month and is made before that month's run. Units closed
since (is_active false) keep an inactive connection and are never billed.
"""
from __future__ import annotations

import datetime as dt
import time
from decimal import Decimal

from services.demo import municipal as m
from services.demo.common import PaymentPlan
from services.seeding.common import CHUNK, SEEDER, Say, area_rows, bill_history, bill_months
from services.models import Bill

PLAN_CODE = "municipal-sanitation"
MONTHS = 12

# Residential bands of the plan (upper bound included, in marla), urban and peri-urban UCs.
RESIDENTIAL_BANDS = ((Decimal(5), "Up to 5 Marla"), (Decimal(10), "5 to 10 Marla"), (Decimal(20), "10 to 20 Marla"),
                     (Decimal(40), "20 to 40 Marla"))
RESIDENTIAL_TOP = "Above 40 Marla"
RURAL_BANDS = ((Decimal(10), "Up to 10 Marla"),)
RURAL_TOP = "Above 10 Marla"
# Unit types the plan classes apart from the business size categories (plan spelling).
INSTITUTIONS = {"School": "Private school", "Mosque": "Mosque", "Madrasa": "Madrassa", "Church": "Church"}
INDUSTRIAL_TYPES = frozenset({"Factory"})


def _band(size: Decimal, bands, top: str) -> str:
    return next((name for upper, name in bands if size <= upper), top)


def tariff_class(unit_type: str, category: str, size_marla: Decimal, uc_type: str) -> tuple[str, str]:
    """(category, account_type) of a surveyed unit in the plan's words."""
    if unit_type == "House":
        if uc_type == "Rural":
            return "Rural residential", _band(size_marla, RURAL_BANDS, RURAL_TOP)
        return "Residential", _band(size_marla, RESIDENTIAL_BANDS, RESIDENTIAL_TOP)
    if unit_type in INSTITUTIONS:
        return "Institutional", INSTITUTIONS[unit_type]
    if unit_type in INDUSTRIAL_TYPES:
        return "Industrial", unit_type
    return category, unit_type


def unit_class(unit: m.MunicipalUnit) -> tuple[str, str]:
    return tariff_class(unit.account_type, unit.category, unit.survey.size_marla, unit.uc_type)


def survey_month(unit: m.MunicipalUnit) -> dt.date:
    """The first of the month the unit was surveyed in (local time): its connection starts then."""
    return unit.survey.surveyed_at.date().replace(day=1)


def _rows(chunk: list[m.MunicipalUnit], areas: dict[str, int]) -> list[dict]:
    out = []
    for u in chunk:
        category, account_type = unit_class(u)
        out.append({"code": u.code, "name": u.name, "area_id": areas[u.area_path], "category": category,
                    "account_type": account_type, "is_active": u.is_active, "address": u.address,
                    "gps_lat": u.gps_lat, "gps_lon": u.gps_lon})
    return out


def _survey_row(u: m.MunicipalUnit, account_id: int) -> dict:
    s = u.survey
    return {"account_id": account_id, "survey_id": s.survey_id, "surveyor_name": s.surveyor_name,
            "surveyed_at": s.surveyed_at, "survey_name": s.survey_name, "survey_mobile": s.survey_mobile,
            "survey_address": s.survey_address, "house_type": s.house_type, "water_connection": s.water_connection,
            "size_marla": s.size_marla, "photo_ref": s.photo_ref, "gps_text": s.gps_text,
            "unit_type": u.account_type, "size_category": u.category}  # the survey's own words


class Connections:
    """Sanitation connections not made yet, by the month they start (a few ints per unit)."""

    def __init__(self, storage, plan_id: int):
        self.storage, self.plan_id = storage, plan_id
        self.waiting: dict[dt.date, list[tuple[int, bool]]] = {}

    def add(self, starts: dt.date, account_id: int, active: bool) -> None:
        self.waiting.setdefault(starts, []).append((account_id, active))

    def connect(self, up_to: dt.date | None = None) -> int:
        """Make the connections starting on or before `up_to` (all when None)."""
        made = 0
        for starts in sorted(d for d in self.waiting if up_to is None or d <= up_to):
            pending = self.waiting.pop(starts)
            for i in range(0, len(pending), CHUNK):
                self.storage.bulk_insert("service_connections", [
                    {"account_id": aid, "service": m.SERVICE, "tariff_plan_id": self.plan_id, "is_active": active,
                     "started_on": starts} for aid, active in pending[i:i + CHUNK]])
            made += len(pending)
        return made


def seed_reference(storage, n: int, today: dt.date, say: Say) -> Connections:
    """Areas, accounts, contacts, surveys; returns the connections to make month by month."""
    plan_id = storage.get_tariff_plan(code=PLAN_CODE).id
    areas = storage.ensure_areas(area_rows(m.areas()), SEEDER)
    connections = Connections(storage, plan_id)
    t0 = time.time()
    for lo in range(0, n, CHUNK):
        chunk = list(m.units(n, lo, lo + CHUNK, today=today))
        storage.bulk_insert("accounts", _rows(chunk, areas))
        ids = storage.lookup_ids("accounts", "code", [u.code for u in chunk])
        contacts = [c for u in chunk for c in u.contacts]
        contact_ids = storage.bulk_insert("contacts", [{"name": c.name, "phone": c.phone, "email": c.email,
                                                        "address": c.address} for c in contacts], return_ids=True)
        owners = [ids[u.code] for u in chunk for _ in u.contacts]
        storage.bulk_insert("account_contacts", [
            {"account_id": aid, "contact_id": cid, "role": c.role, "is_primary": c.is_primary}
            for aid, cid, c in zip(owners, contact_ids, contacts)])
        storage.bulk_insert("account_surveys", [_survey_row(u, ids[u.code]) for u in chunk])
        for u in chunk:
            if u.billable:
                connections.add(survey_month(u), ids[u.code], u.is_active)
        done = min(lo + CHUNK, n)
        if n > CHUNK:
            say(f"  consumer units: {done:,}/{n:,} ({done / max(time.time() - t0, 1e-9):,.0f}/s)")
    return connections


def payment_plan(bill: Bill, today: dt.date, month_index: int) -> PaymentPlan | None:
    index = m.unit_index_of(bill.account_code)
    return None if index is None else m.payment_plan_for(m.unit_at(index, today=today), month_index)


def payment_method(plan: PaymentPlan) -> tuple[str, str]:
    """Full payments through the banks' bill payment (1Bill, by PSID); part payments in cash at the office."""
    if plan.behaviour == "partial":
        return "cash", "part payment at the office"
    return "bank_transfer", "1Bill payment by PSID"


def seed(db, n: int, today: dt.date, say: Say) -> None:
    connections = seed_reference(db.storage, n, today, say)
    months = bill_months(today, MONTHS, db.utility().billing_day, db.utility().due_days)
    bill_history(db, months, plan_for=lambda bill, month: payment_plan(bill, today, month.index),
                 method_for=payment_method, today=today, say=say,
                 before_run=lambda month: connections.connect(month.period.start))
    connections.connect()  # surveyed since the last billed month: billed from the next run on
