"""A deterministic demo water utility: HydroSpark (seed 004), pure (no I/O).

Four service areas, each with four billing cycles (the seed's `cycle_number`); customers of the
seed's three types with a CCF meter; daily usage per customer with a seasonal shape, a weekly
rhythm and noise; and a few planted anomalies whose ground truth (`planted_anomalies`) lets a
detector be scored. Every customer is derived from its index alone, and every day's usage from
(customer, date), so any chunk of customers and any date range is generated on its own.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Iterator, NamedTuple
from zoneinfo import ZoneInfo

from services.demo.common import DemoArea, DemoContact, PaymentPlan, payment_plan, seeded, unit_pair

UTILITY_NAME = "HydroSpark"
CURRENCY = "USD"
TIMEZONE = "America/Los_Angeles"
ZONE = ZoneInfo(TIMEZONE)
AREA_LEVELS = ("Service area", "Billing cycle")
SERVICE = "water"
METER_UNIT = "CCF"                     # 1 CCF = 100 cubic feet = 748 US gallons
DEFAULT_CUSTOMERS = 1_000
DEFAULT_USAGE_DAYS = 400
MAX_CUSTOMERS = 9_999_999         # codes HS0000001 .. HS9999999

CUSTOMER_TYPES = ("residential", "commercial", "industrial")
TYPE_SHARES = {"residential": 0.85, "commercial": 0.12, "industrial": 0.03}
# (code, name, town, telephone area code)
SERVICE_AREAS = (("N", "North", "Cedar Heights", "530"), ("C", "Central", "Riverton", "916"),
                 ("S", "South", "Mission Flats", "209"), ("E", "Eastside", "Eastgate", "279"))
CYCLES_PER_AREA = 4
# Where each type lives: industry sits in the Eastside industrial district, shops downtown.
_AREA_WEIGHTS = {"residential": (30, 30, 30, 10), "commercial": (15, 50, 20, 15), "industrial": (5, 5, 15, 75)}

# CCF per day before season, weekday and noise: a household uses ~150-450 gallons a day
# (0.2-0.6 CCF), a shop or restaurant 2-8 CCF, a plant 20-60 CCF.
BASE_DAILY_CCF = {"residential": (0.2, 0.6), "commercial": (2.0, 8.0), "industrial": (20.0, 60.0)}
# Seasonal swing (+/- around the mean, peak mid-July, low mid-January): lawns and gardens make
# households swing most; process water barely moves.
SEASON_AMPLITUDE = {"residential": 0.40, "commercial": 0.15, "industrial": 0.05}
# Monday .. Sunday.
WEEKDAY_FACTORS = {
    "residential": (0.97, 0.97, 0.97, 0.97, 0.99, 1.06, 1.07),
    "commercial": (1.12, 1.12, 1.12, 1.12, 1.12, 0.75, 0.45),
    "industrial": (1.10, 1.10, 1.10, 1.10, 1.10, 0.85, 0.55),
}
NOISE_WIDTH = {"residential": 0.25, "commercial": 0.15, "industrial": 0.10}   # triangular +/- share
VACATION_SHARE = 0.25                  # households away 7-14 days a year (usage drops to ~15%)
_PEAK_ORDINAL = dt.date(2000, 7, 15).toordinal()
_YEAR_DAYS = 365.2425

# Planted anomalies: exactly 15 in every 1,000 consecutive customer indexes (1.5%).
ANOMALY_KINDS = ("leak", "spike", "stuck_zero", "inactive_usage")
_ANOMALY_SLOTS = {**{s: "leak" for s in range(0, 5)}, **{s: "spike" for s in range(5, 10)},
                  **{s: "stuck_zero" for s in range(10, 13)}, **{s: "inactive_usage" for s in range(13, 15)}}
_ANOMALY_DAYS = {"leak": (14, 28), "spike": (1, 3), "stuck_zero": (21, 56), "inactive_usage": (10, 30)}
INACTIVE_SHARE = 0.02                  # closed accounts besides the planted ones

FIRST_NAMES = ("Noah", "Olivia", "Liam", "Emma", "Mateo", "Sofia", "Ethan", "Ava", "Lucas", "Mia", "Daniel", "Isabella",
               "James", "Camila", "Benjamin", "Harper", "Jacob", "Evelyn", "Michael", "Abigail", "David", "Emily",
               "Jose", "Maria", "Wei", "Mei", "Minh", "Linh", "Arjun", "Priya", "Hiroshi", "Yuki", "Carlos", "Lucia",
               "Samuel", "Grace", "Anthony", "Chloe", "Kevin", "Rachel")
LAST_NAMES = ("Hernandez", "Garcia", "Smith", "Johnson", "Nguyen", "Lopez", "Martinez", "Kim", "Patel", "Williams",
              "Brown", "Chen", "Rodriguez", "Davis", "Miller", "Wilson", "Anderson", "Thomas", "Tran", "Lee",
              "Gonzalez", "Perez", "Sanchez", "Ramirez", "Torres", "Flores", "Rivera", "Wong", "Singh", "Moore",
              "Taylor", "Jackson", "White", "Harris", "Clark", "Lewis", "Young", "Walker", "Hall", "Allen")
STREETS = ("Oak", "Maple", "Cedar", "Pine", "Elm", "Walnut", "Willow", "Sycamore", "Madrone", "Manzanita",
           "Sierra Vista", "Orchard", "Vineyard", "Mission", "Canal", "Lincoln", "Jefferson", "Washington",
           "Hillcrest", "Riverbend", "Poplar", "Juniper", "Almond", "Olive", "Magnolia", "Aspen")
STREET_SUFFIXES = ("St", "Ave", "Dr", "Ct", "Ln", "Way", "Blvd", "Pl")
COMMERCIAL_KINDS = ("Laundromat", "Car Wash", "Cafe", "Diner", "Dental Office", "Hair Salon", "Motel", "Fitness Club",
                    "Market", "Bakery", "Auto Repair", "Daycare", "Dry Cleaners", "Garden Center", "Brewpub")
INDUSTRIES = ("Bottling", "Food Processing", "Cold Storage", "Paper", "Concrete", "Plastics", "Metal Finishing",
              "Brewing", "Dairy", "Textile")
NAME_PREFIXES = ("Sunrise", "Valley", "Golden State", "Riverside", "Sierra", "Blue Sky", "Evergreen", "Harbor",
                 "Cedar", "Mission", "Summit", "Pioneer", "Redwood", "Lakeview", "Orchard", "Pacific")
_INDUSTRIAL_STREETS = ("Industrial Pkwy", "Commerce Way", "Rail Spur Rd", "Foundry Rd")
_FACILITY_SUFFIXES = ("Plant", "Plant 2", "Works", "Facility", "Distribution Center")

_SALT_CUSTOMER = 0x5743
_SALT_USAGE = 0x5755
_SALT_ANOMALY = 0x5741
_SALT_VACATION = 0x5756


def _build_areas() -> list[DemoArea]:
    out = []
    for code, name, _town, _phone in SERVICE_AREAS:
        out.append(DemoArea(1, code, name, code, None))
    for code, _name, _town, _phone in SERVICE_AREAS:
        for k in range(1, CYCLES_PER_AREA + 1):
            out.append(DemoArea(2, f"C{k}", f"Cycle {k}", f"{code}/C{k}", code, "billing cycle"))
    return out


_AREAS = _build_areas()


def areas() -> list[DemoArea]:
    """Service areas (level 1), then their billing cycles (level 2, path like `N/C2`)."""
    return list(_AREAS)


@dataclass(frozen=True)
class WaterCustomer:
    """A customer = one account with a water service and a CCF meter (DESIGN12 `accounts`,
    `contacts`, `service_connections`, `meters`)."""
    index: int
    code: str                          # HS0000001: unique, upper-case
    name: str                          # the person (residential) or the business / facility
    account_type: str                  # residential | commercial | industrial (seed: customer_type)
    category: str                      # = account_type (the tiered plan prices every type alike)
    business_name: str | None          # commercial and industrial
    facility_name: str | None          # industrial: the metered plant
    area_path: str                     # leaf area: service area / billing cycle, "N/C2"
    service_area: str                  # "N"
    cycle_number: int                  # 1..4
    address: str
    contacts: tuple[DemoContact, ...]  # the customer (primary)
    meter_number: str
    meter_unit: str                    # "CCF"
    service: str                       # "water"
    is_active: bool
    payer_profile: str                 # autopay | prompt | irregular | chronic
    base_daily_ccf: float              # the customer's level before season, weekday and noise


class PlantedAnomaly(NamedTuple):
    """Ground truth of one planted anomaly: usage of customer `index` is abnormal on every day
    from `first` to `last` (inclusive).

    leak: a continuous flow added to normal use, so usage never drops below a raised floor
    (14-28 days). spike: 5-20x the normal day (1-3 days). stuck_zero: 0.00 every day on an active
    account (21-56 days). inactive_usage: normal-looking use on a closed account, whose other
    days are all 0.00 (10-30 days)."""
    index: int
    kind: str
    first: dt.date
    last: dt.date


# --- customers ---------------------------------------------------------------------------------
def customer_code(index: int) -> str:
    if not 0 <= index < MAX_CUSTOMERS:
        raise ValueError(f"customer index {index} is out of range 0..{MAX_CUSTOMERS - 1}")
    return f"HS{index + 1:07d}"


def customer_index_of(code: str) -> int | None:
    """Invert customer_code (None if the text is not a demo customer code)."""
    text = (code or "").strip().upper()
    if len(text) != 9 or not text.startswith("HS") or not text[2:].isdigit() or int(text[2:]) == 0:
        return None
    return int(text[2:]) - 1


def _anomaly_kind(index: int) -> str | None:
    # 7919 is coprime with 1000, so (index * 7919 + 500) mod 1000 visits every slot once in any
    # 1,000 consecutive indexes; the 15 slots below 15 are the planted ones.
    return _ANOMALY_SLOTS.get((index * 7919 + 500) % 1000)


def _phone(rng, area_code: str) -> str:
    return f"+1{area_code}555{100 + rng.randrange(100):04d}"   # 555-0100..0199: reserved for fiction


def _street_address(rng, town: str, zip_code: str, kind: str) -> str:
    if kind == "industrial":
        street = f"{rng.randint(10, 99) * 100} {rng.choice(_INDUSTRIAL_STREETS)}"
    elif kind == "commercial":
        street = f"{rng.randint(1, 40) * 25} {rng.choice(('Main St', 'Broadway', 'Market St', 'Center Ave'))}"
        if rng.random() < 0.4:
            street += f" Suite {rng.randint(1, 12)}"
    else:
        street = f"{rng.randint(100, 9899)} {rng.choice(STREETS)} {rng.choice(STREET_SUFFIXES)}"
    return f"{street}, {town}, CA {zip_code}"


def _payer_profile(rng, kind: str) -> str:
    weights = {"residential": (40, 45, 11, 4), "commercial": (30, 55, 12, 3), "industrial": (50, 45, 5, 0)}[kind]
    return rng.choices(("autopay", "prompt", "irregular", "chronic"), weights=weights)[0]


def customer_at(index: int) -> WaterCustomer:
    """The index-th customer (deterministic). Index 0 is the seed's Noah Hernandez."""
    code = customer_code(index)
    rng = seeded(_SALT_CUSTOMER, index)
    roll = rng.random()
    kind = "residential" if roll < 0.85 else "commercial" if roll < 0.97 else "industrial"
    if index == 0:
        kind = "residential"
    area_pos = rng.choices(range(len(SERVICE_AREAS)), weights=_AREA_WEIGHTS[kind])[0]
    area_code, _area_name, town, phone_area = SERVICE_AREAS[area_pos]
    cycle = rng.randint(1, CYCLES_PER_AREA)
    zip_code = f"95{6 + area_pos}{cycle:02d}"
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    person = f"{first} {last}"
    business = facility = None
    if kind == "commercial":
        business = f"{rng.choice(NAME_PREFIXES + (f'{last} Family',))} {rng.choice(COMMERCIAL_KINDS)}"
    elif kind == "industrial":
        business = f"{rng.choice(NAME_PREFIXES)} {rng.choice(INDUSTRIES)} {rng.choice(('Co.', 'Inc.', 'LLC', 'Corp.'))}"
        facility = f"{business} - {town} {rng.choice(_FACILITY_SUFFIXES)}"
    address = _street_address(rng, town, zip_code, kind)
    phone = _phone(rng, phone_area) if rng.random() >= 0.05 else None
    if kind == "residential":
        email = f"{first[0]}{last}{index}@example.com".lower() if rng.random() >= 0.08 else None
    else:
        words = [w for w in (business or "").lower().split() if w not in ("co.", "inc.", "llc", "corp.")]
        slug = "".join(ch for ch in "".join(words) if ch.isalnum())
        email = f"billing.{index}@{slug}.example.com"
    lo, hi = BASE_DAILY_CCF[kind]
    base = round(rng.triangular(lo, hi, lo + (hi - lo) * 0.35), 3)
    anomaly = _anomaly_kind(index)
    is_active = rng.random() >= INACTIVE_SHARE
    if anomaly is not None:             # the planted kinds other than inactive_usage need an open account
        is_active = anomaly != "inactive_usage"
    profile = _payer_profile(rng, kind)
    if index == 0:                      # the seed's example customer, who logs in to the portal
        person, email, is_active, profile = "Noah Hernandez", "noah@example.com", True, "prompt"
    name = facility or business or person
    contact = DemoContact(person, phone, email, address, "owner", True)
    return WaterCustomer(index, code, name, kind, kind, business, facility, f"{area_code}/C{cycle}", area_code, cycle,
                         address, (contact,), f"{61_000_000 + index:08d}", METER_UNIT, SERVICE, is_active, profile,
                         base)


def customers(n: int = DEFAULT_CUSTOMERS, start: int = 0, stop: int | None = None) -> Iterator[WaterCustomer]:
    """Customers start..stop-1 of a utility of n customers (one at a time)."""
    for i in range(start, min(stop if stop is not None else n, n)):
        yield customer_at(i)


# --- anomalies ---------------------------------------------------------------------------------
def usage_window(end: dt.date, days: int = DEFAULT_USAGE_DAYS) -> tuple[dt.date, dt.date]:
    """(first, last) day of a usage history of `days` days ending on `end`."""
    if days < 1:
        raise ValueError("days must be at least 1")
    return end - dt.timedelta(days=days - 1), end


def _planted(index: int, end: dt.date, days: int) -> tuple[PlantedAnomaly, tuple[float, ...]] | None:
    """The customer's planted anomaly in the window (and its per-day factors), or None. It starts
    after the first quarter of the window (at most 60 days in) so a detector has a baseline."""
    kind = _anomaly_kind(index)
    if kind is None:
        return None
    rng = seeded(_SALT_ANOMALY, index)
    lo, hi = _ANOMALY_DAYS[kind]
    length = min(rng.randint(lo, hi), days)
    earliest = min(60, days // 4)
    offset = earliest + rng.randrange(max(1, days - length - earliest - 7))
    offset = min(offset, days - length)
    first = end - dt.timedelta(days=days - 1 - offset)
    if kind == "spike":
        factors = tuple(rng.uniform(5.0, 20.0) for _ in range(length))
    elif kind == "leak":
        factors = (rng.uniform(1.0, 3.0),)          # leak flow, as a multiple of the base level
    else:
        factors = ()
    return PlantedAnomaly(index, kind, first, first + dt.timedelta(days=length - 1)), factors


def planted_anomalies(n: int = DEFAULT_CUSTOMERS, start: int = 0, stop: int | None = None, *, end: dt.date,
                      days: int = DEFAULT_USAGE_DAYS) -> list[PlantedAnomaly]:
    """Ground truth for customers start..stop-1 of n over the usage window ending on `end`:
    [(customer index, kind, first date, last date)], by index."""
    out = []
    for i in range(start, min(stop if stop is not None else n, n)):
        planted = _planted(i, end, days)
        if planted is not None:
            out.append(planted[0])
    return out


# --- daily usage -------------------------------------------------------------------------------
@lru_cache(maxsize=8)
def _calendar(first_ordinal: int, days: int) -> tuple[tuple[dt.date, ...], tuple[float, ...], tuple[int, ...]]:
    """Dates, seasonal phase (cos, 1 at mid-July) and weekday of each day of a window: shared by
    every customer generated over the same window."""
    ordinals = range(first_ordinal, first_ordinal + days)
    return (tuple(dt.date.fromordinal(o) for o in ordinals),
            tuple(math.cos(2 * math.pi * (o - _PEAK_ORDINAL) / _YEAR_DAYS) for o in ordinals),
            tuple((o - 1) % 7 for o in ordinals))


def _vacation(customer: WaterCustomer, days: int) -> range:
    """Window offsets of the household's time away (empty for most)."""
    if customer.account_type != "residential" or _anomaly_kind(customer.index) is not None:
        return range(0)
    rng = seeded(_SALT_VACATION, customer.index)
    if rng.random() >= VACATION_SHARE or days < 30:
        return range(0)
    length = rng.randint(7, 14)
    start = rng.randrange(days - length)
    return range(start, start + length)


def daily_usage(customer: WaterCustomer, end: dt.date, days: int = DEFAULT_USAGE_DAYS
                ) -> Iterator[tuple[dt.date, Decimal]]:
    """(date, CCF) for each of the `days` days ending on `end`, oldest first: never negative, at
    most 2 decimals. A day's normal use depends on (customer, date) only; the planted anomaly and
    time away are placed within the window."""
    first_day, _ = usage_window(end, days)
    dates, season, weekday = _calendar(first_day.toordinal(), days)
    kind = customer.account_type
    amp, week, width = SEASON_AMPLITUDE[kind], WEEKDAY_FACTORS[kind], NOISE_WIDTH[kind]
    base = customer.base_daily_ccf
    key = (_SALT_USAGE << 32) | customer.index
    planted = _planted(customer.index, end, days)
    a_kind, a_from, a_to, factors = None, -1, -1, ()
    if planted is not None:
        truth, factors = planted
        a_kind = truth.kind
        a_from = (truth.first - first_day).days
        a_to = (truth.last - first_day).days
    away = _vacation(customer, days)
    for i in range(days):
        d = dates[i]
        u1, u2 = unit_pair(key, d.toordinal())
        q = base * (1 + amp * season[i]) * week[weekday[i]] * (1 + width * (u1 + u2 - 1))
        in_anomaly = a_from <= i <= a_to
        if not customer.is_active and not (in_anomaly and a_kind == "inactive_usage"):
            q = 0.0
        elif in_anomaly:
            if a_kind == "leak":
                q += base * factors[0]
            elif a_kind == "spike":
                q *= factors[i - a_from]
            elif a_kind == "stuck_zero":
                q = 0.0
        elif i in away:
            q *= 0.15                   # still some use: fridge, toilet cisterns
        yield d, Decimal(f"{q:.2f}")


# --- payments ----------------------------------------------------------------------------------
def payment_plan_for(customer: WaterCustomer, month_index: int) -> PaymentPlan:
    """What the customer does with its bill of month `month_index` (0 = first billed month)."""
    return payment_plan(customer.payer_profile, customer.index, month_index)


def payment_behaviour(customer: WaterCustomer, month_index: int) -> str:
    """'full', 'late', 'partial' or 'unpaid'."""
    return payment_plan_for(customer, month_index).behaviour
