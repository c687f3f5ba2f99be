"""A synthetic society for the benchmark (loaded by scripts/bench_data.py's plain bulk path).

Per flat: a floor (area under its block) and BHK type, an owner (primary contact), an electricity
connection to the society's flat-rate plan, one meter, three readings (a baseline on the 20th of
last month with last month's units, the billed month's reading approved with its consumption and a
water-motor share,
next month's reading pending review, 2% of them flagged) and last month's bill, covering the
baseline (80% paid with a payment row, 8% partly paid, 12% unpaid: the bill run carries those
forward). Everything follows from the flat's index, so it is built a chunk at a time.

    python -m scripts.bench_society --accounts 20000 --database-url sqlite:////tmp/society.db
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache

from scripts.bench_data import MONTH, Context, account_rows, last_months_bill, main as load_main, merge
from services.billing.periods import BillingPeriod

BLOCKS = ("A", "B", "C", "D")
FLOORS = (("GF", "Ground Floor"), ("FF", "First Floor"), ("SF", "Second Floor"), ("TF", "Third Floor"))
TYPES = (("2BHK", 2), ("3BHK", 3), ("4BHK", 4), ("5BHK", 5))
RATES = {"A": Decimal("11.50"), "B": Decimal("12.00"), "C": Decimal("12.50"), "D": Decimal("11.00")}
FIXED = {"2BHK": Decimal("1474"), "3BHK": Decimal("1680"), "4BHK": Decimal("1890"), "5BHK": Decimal("2311")}
NAMES = ("Aarav Sharma", "Diya Iyer", "Rohan Nair", "Saanvi Reddy", "Arjun Gupta", "Priya Singh", "Farhan Khan",
         "Meera Das", "Vikram Patel", "Neha Mehta", "Tenzin Rao", "Mary Fernandes")
COLUMNS = {
    "meters": "id, meter_number, account_id, service, unit, status, is_smart, created_at",
    "readings": "id, meter_id, reading_value, reading_date, consumption, previous_reading_id, motor_share, source, "
                "status, flags, reviewed_at, created_at, updated_at",
    "bill_readings": "id, bill_id, reading_id, units, motor_units",  # last month's bill covers the baseline
}


def account_code(i: int) -> tuple[str, str, int, str]:
    """(code, block, floor index, type) of the i-th flat: A1-GF, A1-FF, ..., D1-TF, A2-GF, ..."""
    number, block, floor = i // 16 + 1, BLOCKS[(i // 4) % 4], i % 4
    return f"{block}{number}-{FLOORS[floor][0]}", block, floor, TYPES[(number + i) % 4][0]


def price_table(n_flats: int) -> dict[str, tuple[Decimal, Decimal]]:
    """Master data for the society: every flat but those numbered 20, 40, ... (default-rate rule)."""
    out = {}
    for i in range(n_flats):
        code, block, _, kind = account_code(i)
        if (i // 16 + 1) % 20:
            out[code] = (RATES[block], FIXED[kind])
    return out


def areas(_utility: str = "society") -> list[tuple[str, str, str | None]]:
    return [(b, f"Block {b}", None) for b in BLOCKS] + [(f"{b}/{c}", n, None) for b in BLOCKS for c, n in FLOORS]


def dates(month: str = MONTH) -> tuple[dt.date, dt.date, dt.date]:
    p = BillingPeriod.for_month(month)
    base = (p.start - dt.timedelta(days=1)).replace(day=20)
    nxt = (p.end + dt.timedelta(days=1)).replace(day=20)
    return base, p.start.replace(day=20), nxt


@lru_cache(maxsize=4096)
def _quote(plan, start: dt.date, end: dt.date, units: Decimal, kind: str, rate: Decimal, fixed: Decimal):
    """Last month's bill (memoised: only the inputs matter, the flat's code is not on its lines)."""
    from services.tariff_rules import TariffRules

    return TariffRules.quote(plan, quantity=units, shared_units=Decimal(0), period_start=start, period_end=end,
                             unit_type=kind, rate_per_unit=rate, fixed_charge=fixed, pricing_rule="master_data")


def chunk_rows(_utility: str, ctx: Context, lo: int, hi: int) -> dict[str, list[tuple]]:
    """Rows of flats [lo, hi) for every table. Reading ids follow time, as in a real database: every
    baseline reading, then every reading of the billed month, then next month's."""
    e, n = ctx.e, ctx.n
    base, billed, nxt = dates(ctx.month)
    prev = ctx.previous
    out: dict[str, list[tuple]] = {}
    for i in range(lo, hi):
        fid = i + 1
        code, block, floor, kind = account_code(i)
        area = ctx.areas[f"{block}/{FLOORS[floor][0]}"]
        merge(out, account_rows(ctx, i, code, NAMES[i % len(NAMES)], area, kind, "flat", f"+91{9000000000 + i:010d}"))
        out.setdefault("meters", []).append((fid, f"{20000000 + i:08d}", fid, "electricity", "kWh", "active",
                                             e.flag(False), ctx.ts))
        v0 = Decimal(1000 + (i * 7717) % 40000)
        c1 = Decimal(150 + (i * 37) % 250) + Decimal(i % 10) / 10
        c2 = Decimal(140 + (i * 53) % 260) + Decimal(i % 7) / 10
        share = Decimal(8 + i % 5) + Decimal(i % 4) / 4
        r0, r1, r2 = i + 1, n + i + 1, 2 * n + i + 1
        units = Decimal(200 + i % 300)  # last month's, measured by the baseline reading (from one not kept here)
        flags = [{"code": "spike", "reason": "far above this meter's usual"}] if i % 50 == 7 else None
        for rid, day, value, cons, prev_id, share_, status, fl in (
                (r0, base, v0, units, None, None, "approved", None),
                (r1, billed, v0 + c1, c1, r0, share, "approved", None),
                (r2, nxt, v0 + c1 + c2, c2, r1, share, "pending", flags)):
            out.setdefault("readings", []).append((
                rid, fid, e.money(value), e.day(day), e.money(cons), prev_id, e.money(share_), "ui", status,
                e.json(fl), ctx.ts if status == "approved" else None, ctx.ts, ctx.ts))
        q = _quote(ctx.plan, prev.start, prev.end, units, kind, RATES[block], FIXED[kind])
        merge(out, last_months_bill(ctx, i, q, account_area=area, category=kind, units=units, rate=RATES[block],
                                    fixed=FIXED[kind], last_reading_id=r0, tariff_details=False))
        out.setdefault("bill_readings", []).append((fid, fid, r0, e.money(units), e.money(Decimal(0))))
    return out


def main(argv: list[str] | None = None) -> int:
    return load_main(argv, prog="python -m scripts.bench_society", fixed_utility="society")


if __name__ == "__main__":
    raise SystemExit(main())
