"""PlanBook remembers priced bills of the kinds whose answer depends only on the quote's inputs:
a remembered answer is exactly the one a fresh PlanBook gives, 10 and 10.00 are not conflated (they
are stored differently in tariff_details), and the flat-rate kind is never remembered (the flat's
code and its master-data terms are inputs)."""
import datetime as dt
from decimal import Decimal as D

from services.billing.pricing import PlanBook
from services.config import ROOT
from services.models import StoredPlan
from services.pricing_service import PricingService
from services.tariffs import TariffPlan

START, END = dt.date(2026, 7, 1), dt.date(2026, 7, 31)


def book() -> PlanBook:
    plans = [StoredPlan(i + 1, TariffPlan.load(ROOT / "data" / "tariffs" / f"{name}.toml"), {1: 10 * (i + 1) + 1, 2: 10 * (i + 1) + 2})
             for i, name in enumerate(("municipal", "water", "society"))]
    return PlanBook(plans, PricingService(table={"A1-GF": (D("11.50"), D("1474"))}))


def price(b: PlanBook, plan_id: int, **kw):
    args = dict(period_start=START, period_end=END, previous_outstanding=D("0.00"), account_code="A1-GF",
                category=None, account_type=None, units=None)
    return b.price(plan_id, **{**args, **kw})


def test_a_remembered_bill_is_the_fresh_one():
    b = book()
    cases = [(1, dict(category="Residential", account_type="5 to 10 Marla")),
             (1, dict(category="Small", account_type="Bakery", previous_outstanding=D("1000.00"))),
             (2, dict(category="residential", units=D("25.00"))), (2, dict(category="commercial", units=D("250.37")))]
    for plan_id, kw in cases:
        first = price(b, plan_id, **kw)
        assert price(b, plan_id, **kw) is first  # remembered
        assert price(book(), plan_id, **kw) == first  # what a fresh book says
    assert price(b, 1, category="Small", account_type="Bakery").total_amount == D("1000.00")  # arrears are a key


def test_equal_numbers_written_differently_are_not_conflated():
    b = book()
    ten = price(b, 2, units=D("10"))
    ten_00 = price(b, 2, units=D("10.00"))
    assert ten is not ten_00 and ten.total_amount == ten_00.total_amount
    assert ten.tariff_details["quantity"] == "10" and ten_00.tariff_details["quantity"] == "10.00"


def test_flat_rate_bills_are_priced_every_time():
    b = book()
    one = price(b, 3, category="2BHK", units=D("200.0"), motor_units=D("10.00"))
    assert price(b, 3, category="2BHK", units=D("200.0"), motor_units=D("10.00")) is not one
    other = price(b, 3, category="2BHK", units=D("200.0"), motor_units=D("10.00"), account_code="B1-GF")
    assert other.tariff_details["account_code"] == "B1-GF" and other.rate_per_unit != one.rate_per_unit
