"""Estimated bills and their true-up (issue 20; services/billing/estimates.py), on every backend.

B17-FF's meter reads 1000 on June 1, 1090 on July 1 and 1183 on August 1: 183 kWh in 61 days, 3 a
day. July and August are billed from the readings (90 and 93 kWh). September has no reading: an
estimating run bills 30 days x 3 = 90 kWh, marked estimated. The October 5 reading (1283) measures
100 kWh since August 1; October's bill charges 100 - 90 = 10 kWh. Every kWh from 1000 to 1283 is
billed once: 90 + 93 + 90 + 10 = 283.
"""
import datetime as dt
from decimal import Decimal as D

from services.billing.estimates import deducted_units, is_estimated, open_estimate
from services.billing.periods import BillingPeriod
from services.models import BillFilter
from services.tariff_rules import TariffRules
from tests.factories import admin_user, engineer_user

METER = "19152159"


def _month(day):
    p = BillingPeriod.for_month(day)
    return p.start, p.end, p.end + dt.timedelta(days=15)


def _read(db, storage, value, day, approve=True):
    r = db.insert_meter_reading(meter_number=METER, reading_value=value, reading_date=day,
                                actor=engineer_user(storage)).reading
    if approve:
        db.approve_reading(r.id, actor=admin_user(storage))
    return r


def _history(db, storage):
    for value, day in ((1000, dt.date(2026, 6, 1)), (1090, dt.date(2026, 7, 1)), (1183, dt.date(2026, 8, 1))):
        _read(db, storage, value, day)
    for m in (7, 8):
        db.generate_bills_for_month(*_month(dt.date(2026, m, 1)), actor=admin_user(storage))


def _estimate_september(db, storage):
    """The history, then September estimated (90 kWh); returns that run's summary."""
    _history(db, storage)
    return db.generate_bills_for_month(*_month(dt.date(2026, 9, 1)), actor=admin_user(storage), estimate=True)


def _bills(db, storage):
    account = storage.get_account(code="B17-FF")
    bills = db.list_bills(BillFilter(account_id=account.id), 0, 100).items
    return sorted((b for b in bills if b.status not in ("superseded", "cancelled")), key=lambda b: b.billing_period_start)


def _open(storage, account_id):
    return open_estimate(storage.estimate_entries([account_id]).get(account_id, []))


def _checks(storage):
    return {k: n for k, (n, _) in storage.billing_checks().items() if n}


def test_an_estimating_run_bills_the_average_and_the_next_reading_trues_it_up(db, storage):
    sep = _estimate_september(db, storage)
    assert (sep.created, sep.estimated, sep.no_basis) == (1, 1, 3)  # the other flats have no readings at all
    assert "1 of them estimated" in sep.message
    est = _bills(db, storage)[-1]
    assert is_estimated(est.tariff_details) and est.units == D("90.00") and est.first_reading_id is None
    info = est.tariff_details["estimate"]
    assert (info["daily"], info["days"], info["basis_units"], info["basis_days"]) == ("3.0000", 30, "183.00", 61)
    assert TariffRules.recompute(est) == est.total_amount
    lines = storage.list_bill_lines(est.id)
    assert next(ln.label for ln in lines if ln.code == "energy") == "Energy: 90.00 kWh (estimated)"

    again = db.generate_bills_for_month(*_month(dt.date(2026, 9, 1)), actor=admin_user(storage), estimate=True)
    assert again.created == 0  # estimated once

    _read(db, storage, 1283, dt.date(2026, 10, 5))
    octo = db.generate_bills_for_month(*_month(dt.date(2026, 10, 1)), actor=admin_user(storage))
    assert octo.created == 1
    trued = _bills(db, storage)[-1]
    assert trued.units == D("10.00") and not is_estimated(trued.tariff_details)
    assert trued.tariff_details["estimate"] == {"actual_units": "100.00", "deducted_units": "90.00"}
    energy = next(ln.label for ln in storage.list_bill_lines(trued.id) if ln.code == "energy")
    assert energy == "Energy: 10.00 kWh (after 90.00 kWh estimated)"
    assert sum(b.units for b in _bills(db, storage)) == D("283.00")
    assert TariffRules.recompute(trued) == trued.total_amount
    assert _checks(storage) == {}
    assert _open(storage, trued.account_id) == D("0.00")


def test_fewer_actual_units_than_estimated_charge_none_and_leave_the_rest_open(db, storage):
    _estimate_september(db, storage)
    _read(db, storage, 1243, dt.date(2026, 10, 5))  # 60 kWh since August 1: less than the 90 estimated
    db.generate_bills_for_month(*_month(dt.date(2026, 10, 1)), actor=admin_user(storage))
    octo = _bills(db, storage)[-1]
    assert octo.units == D("0.00") and octo.total_amount >= 0
    assert octo.tariff_details["estimate"]["deducted_units"] == "60.00"
    account_id = octo.account_id
    assert _open(storage, account_id) == D("30.00")
    _read(db, storage, 1293, dt.date(2026, 11, 5))  # 50 more: 30 still open, 20 charged
    db.generate_bills_for_month(*_month(dt.date(2026, 11, 1)), actor=admin_user(storage))
    nov = _bills(db, storage)[-1]
    assert nov.units == D("20.00") and nov.tariff_details["estimate"]["deducted_units"] == "30.00"
    assert sum(b.units for b in _bills(db, storage)) == D("293.00")  # 1293 - 1000, each kWh once
    assert _checks(storage) == {}


def test_a_single_bill_trues_up_too_and_its_reissue_deducts_the_same(db, storage):
    _estimate_september(db, storage)
    r = _read(db, storage, 1283, dt.date(2026, 10, 5))
    start, end, due = _month(r.reading_date)
    bill = db.bill_reading(r.id, start, end, due, actor=admin_user(storage))
    assert bill.units == D("10.00") and bill.tariff_details["estimate"]["deducted_units"] == "90.00"
    again = db.bill_reading(r.id, start, end, due, actor=admin_user(storage))  # a re-issue
    assert again.reissue_of == bill.id and again.units == D("10.00")
    assert sum(b.units for b in _bills(db, storage)) == D("283.00")
    assert _checks(storage) == {}


def test_replacing_the_estimate_with_the_actual_reading_bills_the_reading_whole(db, storage):
    _estimate_september(db, storage)
    est = _bills(db, storage)[-1]
    r = _read(db, storage, 1283, dt.date(2026, 9, 28))  # the September reading arrives late
    bill = db.bill_reading(r.id, est.billing_period_start, est.billing_period_end, est.due_date,
                           actor=admin_user(storage))
    assert bill.reissue_of == est.id and bill.units == D("100.00") and "estimate" not in bill.tariff_details
    assert sum(b.units for b in _bills(db, storage)) == D("283.00")
    assert _checks(storage) == {}


def test_an_account_with_a_pending_reading_in_the_period_is_not_estimated(db, storage):
    _history(db, storage)
    _read(db, storage, 1270, dt.date(2026, 9, 20), approve=False)
    sep = db.generate_bills_for_month(*_month(dt.date(2026, 9, 1)), actor=admin_user(storage), estimate=True)
    assert (sep.created, sep.estimated) == (0, 0)


def test_a_run_without_estimating_leaves_accounts_without_readings_alone(db, storage):
    _history(db, storage)
    sep = db.generate_bills_for_month(*_month(dt.date(2026, 9, 1)), actor=admin_user(storage))
    assert (sep.created, sep.estimated, sep.no_basis) == (0, 0, 0)


def test_a_month_before_the_newest_reading_is_not_estimated(db, storage):
    _history(db, storage)
    _read(db, storage, 1283, dt.date(2026, 10, 5))  # measures September: nothing to estimate there
    sep = db.generate_bills_for_month(*_month(dt.date(2026, 9, 1)), actor=admin_user(storage), estimate=True)
    assert (sep.created, sep.estimated) == (0, 0)


def test_the_pdf_says_estimated_and_the_true_up_says_what_it_deducted(db, storage):
    import io

    from pypdf import PdfReader

    from services.documents.service import BillDocuments

    def text(bill_id):
        pdf = BillDocuments(db).bill_pdf(bill_id, admin_user(storage))
        return " ".join(PdfReader(io.BytesIO(pdf.data)).pages[0].extract_text().split())

    _estimate_september(db, storage)
    est = text(_bills(db, storage)[-1].id)
    assert "Electricity bill (estimated)" in est and "ESTIMATED BILL: no meter reading this month" in est
    assert "3.0000 kWh a day (your readings used 183.00 kWh in the 61 days from 1 Jun 2026 to 1 Aug 2026) x 30 " \
           "days = 90.00 kWh" in est
    _read(db, storage, 1283, dt.date(2026, 10, 5))
    db.generate_bills_for_month(*_month(dt.date(2026, 10, 1)), actor=admin_user(storage))
    trued = text(_bills(db, storage)[-1].id)
    assert "(estimated)" not in trued.split("Bill number")[0]
    assert "charges the 100.00 kWh your meter measured since its last reading, less 90.00 kWh already billed on " \
           "estimated bills" in trued


def test_an_estimate_of_a_later_month_is_not_deducted_from_an_earlier_reading(db, storage):
    """September's reading waits for review while October is estimated; billing September's reading
    then charges it whole: it measures August 1 to September 20, not October."""
    _history(db, storage)
    r = _read(db, storage, 1270, dt.date(2026, 9, 20), approve=False)
    octo = db.generate_bills_for_month(*_month(dt.date(2026, 10, 1)), actor=admin_user(storage), estimate=True)
    assert octo.estimated == 1
    db.approve_reading(r.id, actor=admin_user(storage))
    db.generate_bills_for_month(*_month(dt.date(2026, 9, 1)), actor=admin_user(storage))
    sep = next(b for b in _bills(db, storage) if b.billing_period_start == dt.date(2026, 9, 1))
    assert sep.units == D("87.00") and "estimate" not in sep.tariff_details
    _read(db, storage, 1370, dt.date(2026, 11, 3))  # measures October: its estimate (3 a day x 31) comes off
    db.generate_bills_for_month(*_month(dt.date(2026, 11, 1)), actor=admin_user(storage))
    nov = _bills(db, storage)[-1]
    assert nov.tariff_details["estimate"]["deducted_units"] == "93.00" and nov.units == D("7.00")
    assert sum(b.units for b in _bills(db, storage)) == D("370.00")
    assert _checks(storage) == {}


def test_an_estimate_already_deducted_cannot_be_replaced_on_its_own(db, storage):
    from services.errors import ConflictError

    _estimate_september(db, storage)
    est = _bills(db, storage)[-1]
    _read(db, storage, 1283, dt.date(2026, 10, 5))
    db.generate_bills_for_month(*_month(dt.date(2026, 10, 1)), actor=admin_user(storage))
    trued = _bills(db, storage)[-1]
    try:
        db.create_bill("B17-FF", est.billing_period_start, est.billing_period_end, est.due_date, flat_units=50,
                       previous_outstanding=est.previous_outstanding, actor=admin_user(storage))
    except ConflictError as exc:
        assert f"#{trued.id}" in str(exc) and "Nothing was stored" in str(exc)
    else:
        raise AssertionError("an estimate already deducted was replaced")
    assert sum(b.units for b in _bills(db, storage)) == D("283.00")


def test_a_single_bill_racing_the_run_deducts_the_estimate_once(db, storage):
    """While the run holds October's priced batch (the estimate deducted), an admin bills the same
    reading by hand (deducting it too). The run's bill is refused as stale and priced again: nothing
    is left to bill, and the estimate is deducted once."""
    _estimate_september(db, storage)
    r = _read(db, storage, 1283, dt.date(2026, 10, 5))
    real = storage.insert_bill_batch

    def meanwhile(bills, actor):
        storage.insert_bill_batch = real
        db.bill_reading(r.id, *_month(r.reading_date), actor=admin_user(storage))
        return real(bills, actor)

    storage.insert_bill_batch = meanwhile
    try:
        run = db.generate_bills_for_month(*_month(dt.date(2026, 10, 1)), actor=admin_user(storage))
    finally:
        storage.insert_bill_batch = real
    assert run.created == 0
    bills = _bills(db, storage)
    assert [b.units for b in bills] == [D("90.00"), D("93.00"), D("90.00"), D("10.00")]
    assert sum(deducted_units(b.tariff_details) for b in bills) == D("90.00") and _open(storage, bills[0].account_id) == 0
    assert _checks(storage) == {}