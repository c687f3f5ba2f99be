"""A deterministic, realistic demo society (pure: no I/O).

Blocks A-D, floors GF/FF/SF/TF, flats like B17-FF (block, number, floor), 2/3/4/5 BHK types,
an owner with a phone per flat, one active meter per flat, a shared water motor (with its own
meter) per ten flat numbers of a block, and monthly meter readings. The same generator feeds
scripts/seed_demo.py (the database) and scripts/generate_master_data.py (the xlsx), so the
master data and the demo database agree. Everything is derived from the flat's index, so any
chunk can be generated on its own (300,000 flats never sit in memory at once).
"""
from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Iterator

BLOCKS = ("A", "B", "C", "D")
FLOORS = (("GF", "Ground Floor", 0), ("FF", "First Floor", 1), ("SF", "Second Floor", 2), ("TF", "Third Floor", 3))
FLAT_TYPES = (("2BHK", 2), ("3BHK", 3), ("4BHK", 4), ("5BHK", 5))
BLOCK_RATES = {"A": Decimal("11.50"), "B": Decimal("12.00"), "C": Decimal("12.50"), "D": Decimal("11.00")}
BASE_FIXED_CHARGE = {"2BHK": Decimal("1474"), "3BHK": Decimal("1680"), "4BHK": Decimal("1890"), "5BHK": Decimal("2311")}
TYPE_MONTHLY_KWH = {"2BHK": 170, "3BHK": 240, "4BHK": 310, "5BHK": 400}
SPECIAL_9_FLATS = {"C14-SF", "D3-SF", "D4-SF"}
FLATS_PER_MOTOR_NUMBER = 10  # one motor per ten flat numbers of a block (all four floors)
READING_DAY = 20
FIRST_NAMES = ("Aarav", "Vivaan", "Aditya", "Ananya", "Diya", "Ishaan", "Kavya", "Meera", "Rohan", "Saanvi",
               "Arjun", "Priya", "Rahul", "Sneha", "Vikram", "Neha", "Karan", "Pooja", "Amit", "Riya",
               "Suresh", "Lakshmi", "Farhan", "Zoya", "Gurpreet", "Harleen", "Joseph", "Mary", "Tenzin", "Naveen")
LAST_NAMES = ("Sharma", "Verma", "Iyer", "Nair", "Reddy", "Gupta", "Singh", "Kaur", "Khan", "Das",
              "Patel", "Mehta", "Joshi", "Menon", "Pillai", "Chatterjee", "Banerjee", "Rao", "Fernandes", "Kapoor")
SEASON = {1: 0.85, 2: 0.85, 3: 0.95, 4: 1.15, 5: 1.35, 6: 1.30, 7: 1.10, 8: 1.05, 9: 1.05, 10: 1.00, 11: 0.90, 12: 0.85}


@dataclass(frozen=True)
class DemoFlat:
    index: int
    code: str
    block: str
    number: int
    floor_code: str
    flat_type: str
    owner_name: str
    owner_phone: str
    meter_number: str
    motor_code: str
    motor_meter_number: str
    in_master_data: bool
    rate_per_unit: Decimal
    fixed_charge: Decimal


def numbers_per_block(n_flats: int) -> int:
    per = len(BLOCKS) * len(FLOORS)
    return max(1, -(-n_flats // per))


def flat_at(index: int, n_flats: int) -> DemoFlat:
    """The index-th flat of a society of n_flats (deterministic)."""
    per_number = len(BLOCKS) * len(FLOORS)
    number = index // per_number + 1
    block = BLOCKS[(index // len(FLOORS)) % len(BLOCKS)]
    floor_code = FLOORS[index % len(FLOORS)][0]
    code = f"{block}{number}-{floor_code}"
    rng = random.Random(index * 7919 + 17)
    flat_type = FLAT_TYPES[(number + index) % len(FLAT_TYPES)][0]
    owner = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
    phone = f"+91{9000000000 + index * 37 % 999999999:010d}"
    meter = f"{19150000 + index * 13 + 7:08d}"
    if code == "B17-FF":  # the example flat of seed 002
        owner, phone, meter = "Test Owner", "+910000000000", "19152159"
    motor_group = (number - 1) // FLATS_PER_MOTOR_NUMBER + 1
    motor_code = f"MOTOR-{block}{motor_group}"
    motor_meter = f"8{BLOCKS.index(block) + 1}{motor_group:06d}"
    # Flats numbered 20 (and every 20th after) were added after the master data was last updated,
    # so they show the default-rate rule.
    in_master = number % 20 != 0
    rate = Decimal("9") if code in SPECIAL_9_FLATS else BLOCK_RATES[block]
    fixed = Decimal("0") if code in SPECIAL_9_FLATS else BASE_FIXED_CHARGE[flat_type]
    return DemoFlat(index, code, block, number, floor_code, flat_type, owner, phone, meter, motor_code, motor_meter,
                    in_master, rate, fixed)


def flats(n_flats: int, start: int = 0, stop: int | None = None) -> Iterator[DemoFlat]:
    for i in range(start, min(stop if stop is not None else n_flats, n_flats)):
        yield flat_at(i, n_flats)


def motors(n_flats: int) -> list[tuple[str, str]]:
    """[(motor code, motor meter number)] for the society, in order."""
    seen: dict[str, str] = {}
    groups = -(-numbers_per_block(n_flats) // FLATS_PER_MOTOR_NUMBER)
    for g in range(1, groups + 1):
        for block in BLOCKS:
            code = f"MOTOR-{block}{g}"
            seen[code] = f"8{BLOCKS.index(block) + 1}{g:06d}"
    return list(seen.items())


def reading_dates(today: dt.date, months: int = 6) -> list[dt.date]:
    """A baseline reading plus `months` monthly readings, the last in the latest month whose
    reading day has passed."""
    last = today.replace(day=READING_DAY)
    if today.day < READING_DAY:
        last = (last.replace(day=1) - dt.timedelta(days=1)).replace(day=READING_DAY)
    out = [last]
    for _ in range(months):
        prev = (out[-1].replace(day=1) - dt.timedelta(days=1)).replace(day=READING_DAY)
        out.append(prev)
    return list(reversed(out))


def monthly_consumptions(flat: DemoFlat, dates: list[dt.date]) -> list[Decimal]:
    """kWh used in each month ending at dates[1:]. A few flats get an anomaly in the last month."""
    rng = random.Random(flat.index * 104729 + 3)
    base = TYPE_MONTHLY_KWH[flat.flat_type] * rng.uniform(0.75, 1.25)
    out = []
    for d in dates[1:]:
        kwh = base * SEASON[d.month] * rng.uniform(0.9, 1.1)
        out.append(Decimal(kwh).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    marker = flat.index % 53
    if marker == 5:
        out[-1] = (out[-1] * 4).quantize(Decimal("0.1"))  # a spike: flagged for review
    elif marker == 11:
        out[-1] = Decimal("0.0")  # meter stuck or flat empty: flagged
    elif marker == 23:
        out[-1] = (out[-1] / 8).quantize(Decimal("0.1"))  # a sharp drop: flagged
    return out


def register_values(flat: DemoFlat, consumptions: list[Decimal]) -> list[Decimal]:
    start = Decimal(1000 + (flat.index * 7717) % 40000)
    values = [start]
    for c in consumptions:
        values.append(values[-1] + c)
    return values


def payment_behaviour(flat: DemoFlat, month_index: int) -> str:
    """'full', 'partial' or 'unpaid' for the flat's bill of a month (deterministic)."""
    roll = random.Random(flat.index * 31 + month_index * 1009).random()
    if roll < 0.80:
        return "full"
    if roll < 0.88:
        return "partial"
    return "unpaid"
