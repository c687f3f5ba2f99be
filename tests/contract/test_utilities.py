"""The three-utility core on every backend: a municipal fixed fee and a water utility's tiered,
seasonal bills made by the same month run, priced by their stored plans, with lines that add up;
runs limited to an area; plan versions; accounts and areas listed in the database."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import ValidationError
from services.tariffs import PlanError
from services.models import AccountFilter, BillFilter
from tests.factories import ADMIN, make_municipal, make_service, make_water

d = dt.date


@pytest.fixture
def municipal(storage, today):
    make_municipal(storage)
    return make_service(storage, today)


@pytest.fixture
def water(storage, today):
    out = make_water(storage)
    return make_service(storage, today), out


def bills_of(db, month):
    return sorted(db.list_bills(BillFilter(period_month=month), 0, 100).items, key=lambda b: b.account_code)


def lines_of(db, bill):
    return [(ln.code, ln.amount) for ln in db.storage.list_bill_lines(bill.id)]


def test_municipal_month_bills_every_active_unit_its_fee(municipal):
    db = municipal
    assert db.utility().account_label == "consumer unit" and db.utility().currency == "PKR"
    run = db.generate_bills_for_month(d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 20), actor=ADMIN)
    assert (run.created, run.skipped, run.status) == (4, 0, "completed")
    bills = bills_of(db, "2026-10")
    assert [(b.account_code, b.total_amount) for b in bills] == [
        ("SP-KSR-0000001", D("1000.00")), ("SP-KSR-0000002", D("1000.00")), ("SP-KSR-0000003", D("500.00")),
        ("SP-OKR-0000004", D("5000.00"))]
    for b in bills:
        assert (b.service, b.tariff_kind, b.units, b.plan_code) == ("sanitation", "category_fee", D("0"), "municipal-sanitation")
        assert [c for c, _ in lines_of(db, b)] == ["fee_monthly"] and db.bill_detail(b.id).arithmetic_ok
    again = db.generate_bills_for_month(d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 20), actor=ADMIN)
    assert (again.created, again.skipped) == (0, 4)  # every unit billed exactly once for the month


def test_municipal_arrears_carry_once_into_the_next_month(municipal):
    db = municipal
    db.generate_bills_for_month(d(2026, 9, 1), d(2026, 9, 30), d(2026, 10, 20), actor=ADMIN)
    paid = next(b for b in bills_of(db, "2026-09") if b.account_code == "SP-KSR-0000003")
    db.record_payment(paid.id, "200.00", paid_on=d(2026, 10, 5), method="cash", actor=ADMIN)
    db.generate_bills_for_month(d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 20), actor=ADMIN)
    oct_ = {b.account_code: b for b in bills_of(db, "2026-10")}
    assert oct_["SP-KSR-0000003"].previous_outstanding == D("300.00")
    assert oct_["SP-KSR-0000003"].total_amount == D("800.00")
    assert lines_of(db, oct_["SP-KSR-0000003"]) == [("fee_monthly", D("500.00")), ("arrears", D("300.00"))]
    assert db.account_outstanding("SP-KSR-0000003") == D("800.00")


def test_municipal_run_limited_to_one_city(municipal, storage):
    db = municipal
    okara = storage.get_area(path="OKR").id
    run = db.generate_bills_for_month(d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 20), actor=ADMIN, area_id=okara)
    assert run.created == 1 and [b.account_code for b in bills_of(db, "2026-10")] == ["SP-OKR-0000004"]
    assert db.list_bills(BillFilter(area_id=okara)).total == 1
    rest = db.generate_bills_for_month(d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 20), actor=ADMIN)
    assert (rest.created, rest.skipped) == (3, 1)


def test_water_bills_the_period_usage_by_tiers_and_season(water):
    db, _ = water
    assert db.utility().quantity_unit == "CCF"
    run = db.generate_bills_for_month(d(2026, 7, 1), d(2026, 7, 31), d(2026, 8, 21), actor=ADMIN)
    assert run.created == 3
    bills = {b.account_code: b for b in bills_of(db, "2026-07")}
    b1 = bills["HS0000001"]  # 15.5 CCF in July: 10 x 2.50 + 5.5 x 3.00 = 41.50, x 1.2 = 49.80, + 20.00
    assert (b1.units, b1.total_amount, b1.usage_from, b1.usage_to) == (D("15.50"), D("69.80"), d(2026, 7, 1), d(2026, 7, 31))
    assert lines_of(db, b1) == [("tier_1", D("25.00")), ("tier_2", D("16.50")), ("seasonal", D("8.30")),
                                ("fee_base", D("15.00")), ("fee_infrastructure", D("5.00"))]
    b2 = bills["HS0000002"]  # 31 CCF: 25.00 + 30.00 + 11 x 3.50 = 93.50, x 1.2 = 112.20, + 20.00
    assert b2.total_amount == D("132.20") and db.bill_detail(b2.id).arithmetic_ok


def test_water_run_limited_to_one_billing_cycle(water, storage):
    db, made = water
    cycle = made["areas"]["S/C2"]
    run = db.generate_bills_for_month(d(2026, 7, 1), d(2026, 7, 31), d(2026, 8, 21), actor=ADMIN, area_id=cycle)
    assert run.created == 1 and [b.account_code for b in bills_of(db, "2026-07")] == ["HS0000003"]


def test_water_account_without_usage_in_the_period_is_not_billed(water):
    db, _ = water
    run = db.generate_bills_for_month(d(2026, 8, 1), d(2026, 8, 31), d(2026, 9, 21), actor=ADMIN)
    assert run.created == 0  # the fixture's usage ends on July 31


def test_a_new_plan_version_prices_bills_from_its_date_and_old_bills_keep_theirs(water, storage):
    db, _ = water
    db.generate_bills_for_month(d(2026, 7, 1), d(2026, 7, 31), d(2026, 8, 21), actor=ADMIN)
    july = {b.account_code: b for b in bills_of(db, "2026-07")}
    plan = db.tariff_plans()[0].plan
    assert [v.version for v in plan.versions] == [1, 2]  # the shipped file has a 2027 review
    from services.tariffs.registry import charge_model

    raw = charge_model(plan.kind).dump_params(plan.latest.params)
    raw["fees"][1]["amount"] = "7.00"
    with pytest.raises(PlanError):  # not after the last version's date: refused, nothing stored
        db.add_tariff_plan_version("water-standard", raw, "2026-12-01", actor=ADMIN)
    stored = db.add_tariff_plan_version("water-standard", raw, "2027-06-01", "infrastructure fee up", actor=ADMIN)
    assert [v.version for v in stored.plan.versions] == [1, 2, 3]
    again = db.tariff_plans()[0]
    assert again.plan.version(3).effective_from == d(2027, 6, 1) and set(again.version_ids) == {1, 2, 3}
    b1 = db.get_bill(july["HS0000001"].id)
    assert b1.plan_version == 1 and db.bill_detail(b1.id).arithmetic_ok  # still recomputes by version 1
    preview = db.preview_tariff(again.plan, quantity=D("25"), period_end="2027-07-31")
    assert ("fee_infrastructure", D("7.00")) in [(ln.code, ln.amount) for ln in preview.lines]


def test_accounts_and_areas_are_listed_in_the_database(municipal, storage):
    db = municipal
    kasur = storage.get_area(path="KSR")
    assert [a.path for a in db.list_areas(level=1)] == ["KSR", "OKR"]
    assert [a.path for a in db.list_areas(parent_id=kasur.id)] == ["KSR/KSR-UC01", "KSR/KSR-UC02"]
    page = db.list_accounts(AccountFilter(area_id=kasur.id), 0, 2, actor=ADMIN)
    assert page.total == 3 and [a.code for a in page.items] == ["SP-KSR-0000001", "SP-KSR-0000002"]
    assert db.list_accounts(AccountFilter(category="Small"), actor=ADMIN).total == 2
    assert [a.code for a in db.list_accounts(AccountFilter(search="sp-okr"), actor=ADMIN).items] == [
        "SP-OKR-0000004", "SP-OKR-0000005"]
    assert db.list_accounts(AccountFilter(is_active=False), actor=ADMIN).total == 1
    unit = db.get_account("SP-KSR-0000003")
    assert (unit.area_path, unit.area_name, unit.category, unit.account_type) == (
        "KSR/KSR-UC02", "KSR-UC02", "Residential", "5 to 10 Marla")
    with pytest.raises(ValidationError) as e:
        db.get_account("SP-NOPE")
    assert e.value.field == "account" and "consumer unit" in str(e.value)


def test_usage_totals_are_summed_in_the_database(water, storage):
    db, made = water
    ids = made["accounts"]
    got = storage.usage_totals(list(ids.values()), d(2026, 7, 1), d(2026, 7, 10))
    assert got[ids["HS0000001"]].quantity == D("5.00") and got[ids["HS0000001"]].days == 10
    assert got[ids["HS0000002"]].quantity == D("10.00")
