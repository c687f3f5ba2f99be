"""Checks shared by the seeding tests: every bill recomputes (total and lines) from its stored
inputs and the stored plan version that priced it, the billing invariants hold, and a snapshot of
what a database holds (to show a second seeding changes nothing)."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from scripts import verify_billing
from services.billing.pricing import PlanBook, recompute_bill
from services.models import BillFilter
from services.pricing_service import PricingService
from services.storage.sql_common import TABLES


def all_bills(storage, flt: BillFilter | None = None) -> list:
    out, after = [], 0
    while True:
        page = storage.list_bills_after(flt or BillFilter(), after, 1000)
        out += page
        if len(page) < 1000:
            return out
        after = page[-1].id


def assert_every_bill_recomputes(storage, bills) -> dict[int, list]:
    """Each bill's stored lines and total are exactly what its stored inputs give; returns {bill id: lines}."""
    book = PlanBook(storage.list_tariff_plans(), PricingService())
    lines = {}
    for bill in bills:
        lines[bill.id] = storage.list_bill_lines(bill.id)
        total, same_lines = recompute_bill(bill, lines[bill.id], book)
        assert total == bill.total_amount and same_lines, bill
        assert sum((ln.amount for ln in lines[bill.id]), Decimal("0")) == bill.total_amount
    return lines


def assert_billing_checks_pass(storage) -> None:
    ok, report = verify_billing.verify(storage)
    assert ok, report


def snapshot(storage) -> dict:
    """Row counts of every table and the bills' money: what a second seeding must leave alone."""
    counts = storage.table_counts([t for t in TABLES if t != "schema_info"])
    money = defaultdict(Decimal)
    for bill in all_bills(storage):
        money[bill.status] += bill.total_amount - bill.amount_paid
    return {"counts": counts, "open_by_status": dict(money)}
