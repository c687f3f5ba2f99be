"""Month-end bill runs: dry run, counts, idempotence, resumability, locks."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.models import BillFilter
from tests.factories import ADMIN, admin_user, engineer_user, make_service

d = dt.date
OCT = (d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 15))


def approved_readings(db, storage, date=d(2026, 10, 20)):
    """Two approved readings a month apart for each flat (a pending earlier one would hold the later back)."""
    eng, admin = engineer_user(storage), admin_user(storage)
    ids = {}
    for i, meter in enumerate(("19152159", "19150001", "19150002", "19150003")):
        first = db.insert_meter_reading(meter_number=meter, reading_value=1000, reading_date=date - dt.timedelta(days=30),
                                        actor=eng).reading
        db.approve_reading(first.id, actor=admin)
        r = db.insert_meter_reading(meter_number=meter, reading_value=1100 + 10 * i, reading_date=date, actor=eng).reading
        db.approve_reading(r.id, actor=admin)
        ids[meter] = r.id
    return ids


def test_dry_run_writes_nothing_then_run_creates(db, storage):
    approved_readings(db, storage)
    dry = db.generate_bills_for_month(*OCT, dry_run=True)
    assert (dry.created, dry.skipped, dry.refused, dry.run_id) == (4, 0, 0, None)
    assert storage.table_counts(["bills", "bill_runs"]) == {"bills": 0, "bill_runs": 0}
    run = db.generate_bills_for_month(*OCT, actor=admin_user(storage))
    assert (run.created, run.skipped, run.total_amount) == (4, 0, dry.total_amount)
    bills = db.list_bills(BillFilter(period_month="2026-10")).items
    by_flat = {b.account_code: b for b in bills}
    # Units are the readings' consumption; pricing is the same code as single bills.
    assert by_flat["B17-FF"].units == D("100.00") and by_flat["B17-FF"].total_amount == D("2674.00")
    assert by_flat["C14-SF"].rate_per_unit == D("9") and by_flat["C14-SF"].fixed_charge == 0
    assert all(b.bill_run_id == run.run_id for b in bills)
    runs = storage.list_bill_runs()
    assert runs[0].status == "completed" and runs[0].created_count == 4 and runs[0].total_amount == run.total_amount


def test_second_run_skips_everything(db, storage):
    approved_readings(db, storage)
    db.generate_bills_for_month(*OCT)
    again = db.generate_bills_for_month(*OCT)
    assert (again.created, again.skipped) == (0, 4)
    assert storage.table_counts(["bills"])["bills"] == 4


def test_run_resumes_after_a_partial_run(db, storage):
    ids = approved_readings(db, storage)
    db.bill_reading(ids["19150001"], *OCT)  # billed by hand before the run (or by a run that died)
    run = db.generate_bills_for_month(*OCT, batch_size=1)
    assert (run.created, run.skipped) == (3, 1)
    assert storage.table_counts(["bills"])["bills"] == 4


def test_locked_period_refused_whole_with_counts(db, storage):
    approved_readings(db, storage, date=d(2025, 11, 20))
    run = db.generate_bills_for_month(d(2025, 11, 1), d(2025, 11, 30), d(2025, 12, 15))
    assert run.status == "refused" and run.refused == 4 and run.created == 0 and "2025-11" in run.message
    assert storage.count_bills_ending_in("2025-11") == 0
    assert storage.list_bill_runs()[0].status == "refused"
    touching = db.generate_bills_for_month(d(2025, 10, 15), d(2025, 11, 14), d(2025, 11, 30), dry_run=True)
    assert touching.status == "refused"


def test_run_carries_arrears_forward_once(db, storage):
    sep = db.create_bill("B17-FF", d(2026, 9, 1), d(2026, 9, 30), d(2026, 10, 15), flat_units=100)
    db.record_payment(sep.id, "674", method="cash")
    approved_readings(db, storage)
    db.generate_bills_for_month(*OCT)
    octb = db.list_bills(BillFilter(period_month="2026-10", search="B17")).items[0]
    assert octb.previous_outstanding == D("2000.00") and octb.total_amount == D("4674.00")
    assert db.get_bill(sep.id).status == "carried_forward"
    assert db.flat_outstanding("B17-FF") == D("4674.00")


def test_reading_without_units_is_counted_not_billed(db, storage):
    admin = admin_user(storage)
    r = db.insert_meter_reading(meter_number="19152159", reading_value=50, reading_date=d(2026, 10, 20),
                                actor=engineer_user(storage)).reading
    db.approve_reading(r.id, actor=admin)
    run = db.generate_bills_for_month(*OCT)
    assert (run.created, run.missing_units) == (0, 1)


def test_progress_is_reported(db, storage):
    approved_readings(db, storage)
    seen = []
    db.generate_bills_for_month(*OCT, batch_size=2, progress=lambda done, created: seen.append((done, created)))
    assert seen[-1][1] == 4 and len(seen) >= 2


def test_a_run_prices_and_stores_with_the_cyclic_collector_off_and_restores_it(db, storage):
    import gc

    approved_readings(db, storage)
    assert gc.isenabled()
    with pytest.raises(ValueError):  # a run that fails gives the collector back too
        db.generate_bills_for_month(*OCT, batch_size=2, progress=lambda *_: (_ for _ in ()).throw(ValueError("stop")))
    assert gc.isenabled()
    during = []
    db.generate_bills_for_month(*OCT, batch_size=1, progress=lambda done, created: during.append(gc.isenabled()))
    assert during and not any(during) and gc.isenabled()


def test_due_date_before_period_refused(db):
    from services.errors import ValidationError

    with pytest.raises(ValidationError) as e:
        db.generate_bills_for_month(d(2026, 10, 1), d(2026, 10, 31), d(2026, 9, 30))
    assert e.value.field == "due_date"


def test_run_survives_a_payment_landing_before_a_batch_is_stored(db, storage, monkeypatch):
    """A partial payment between the run pricing a batch and storing it: that flat's bill would
    carry the old balance, so it is left out of the batch, priced again with what is still owed and
    stored; the rest of the batch is stored as priced and the run completes (it used to fail whole)."""
    sep = db.create_bill("B17-FF", d(2026, 9, 1), d(2026, 9, 30), d(2026, 10, 15), flat_units=100)  # 2674.00
    approved_readings(db, storage)
    real, calls = storage.insert_bill_batch, []

    def payment_lands_first(bills, *args, **kwargs):
        calls.append([nb.account_id for nb in bills])
        if len(calls) == 1:
            db.record_payment(sep.id, "674", method="cash")
        return real(bills, *args, **kwargs)

    monkeypatch.setattr(storage, "insert_bill_batch", payment_lands_first)
    run = db.generate_bills_for_month(*OCT, actor=admin_user(storage))
    assert (run.status, run.created, run.changed) == ("completed", 4, ())
    assert calls[1] == [sep.account_id]  # only that flat was priced again
    octb = db.list_bills(BillFilter(period_month="2026-10", search="B17")).items[0]
    assert octb.previous_outstanding == D("2000.00") and octb.total_amount == D("4674.00")
    assert db.get_bill(sep.id).status == "carried_forward" and db.flat_outstanding("B17-FF") == D("4674.00")
    record = storage.list_bill_runs()[0]
    assert (record.status, record.created_count, record.total_amount) == ("completed", 4, run.total_amount)


def test_run_skips_and_reports_a_flat_that_keeps_changing(db, storage, monkeypatch):
    """Payments landing on every attempt: the flat is tried twice, then skipped and reported; the
    other accounts are billed; running again later bills it with what it still owes."""
    sep = db.create_bill("B17-FF", d(2026, 9, 1), d(2026, 9, 30), d(2026, 10, 15), flat_units=100)  # 2674.00
    approved_readings(db, storage)
    real = storage.insert_bill_batch

    def payment_lands_each_time(bills, *args, **kwargs):
        db.record_payment(sep.id, "100", method="cash")
        return real(bills, *args, **kwargs)

    monkeypatch.setattr(storage, "insert_bill_batch", payment_lands_each_time)
    run = db.generate_bills_for_month(*OCT)
    assert (run.status, run.created, run.changed) == ("completed", 3, (sep.account_id,))
    assert "changed while being billed" in run.message and f"#{sep.account_id}" in run.message
    assert db.get_bill(sep.id).status == "partially_paid" and db.get_bill(sep.id).amount_paid == D("200.00")
    monkeypatch.setattr(storage, "insert_bill_batch", real)
    again = db.generate_bills_for_month(*OCT)
    octb = db.list_bills(BillFilter(period_month="2026-10", search="B17")).items[0]
    assert again.created == 1 and octb.previous_outstanding == D("2474.00")


def test_a_connection_is_billed_from_the_month_it_starts_never_before(storage, today):
    """A unit surveyed (connected) in October is not billed by September's run, even one run late;
    October's run bills it (the fee is not prorated)."""
    from tests.factories import make_municipal

    made = make_municipal(storage)
    storage.bulk_insert("accounts", [{"code": "SP-KSR-0000009", "name": "New shop", "category": "Small",
                                      "account_type": "Bakery", "area_id": made["areas"]["KSR/KSR-UC01"]}])
    new_id = storage.lookup_ids("accounts", "code", ["SP-KSR-0000009"])["SP-KSR-0000009"]
    storage.bulk_insert("service_connections", [{"account_id": new_id, "service": "sanitation",
                                                 "tariff_plan_id": made["plan_id"], "started_on": dt.date(2026, 10, 1)}])
    db = make_service(storage, today)
    sept = db.generate_bills_for_month(dt.date(2026, 9, 1), dt.date(2026, 9, 30), dt.date(2026, 10, 20), actor=ADMIN)
    assert sept.created == 4  # the four active units of make_municipal, not the new one
    assert not [b for b in db.list_bills(BillFilter(), 0, 100).items if b.account_id == new_id]
    again = db.generate_bills_for_month(dt.date(2026, 9, 1), dt.date(2026, 9, 30), dt.date(2026, 10, 20), actor=ADMIN,
                                        dry_run=True)
    assert (again.created, again.skipped) == (0, 4)
    octo = db.generate_bills_for_month(dt.date(2026, 10, 1), dt.date(2026, 10, 31), dt.date(2026, 11, 20), actor=ADMIN)
    assert octo.created == 5
    assert [b.billing_period_start for b in db.list_bills(BillFilter(), 0, 100).items if b.account_id == new_id] == [
        dt.date(2026, 10, 1)]


def _priced(db):
    """The run's priced batch of October, as the run holds it before storing it."""
    from services.billing.bill_run import Batch, RunScope, _price
    from services.billing.periods import BillingPeriod

    scope = RunScope(BillingPeriod(OCT[0], OCT[1]), OCT[2], "electricity", "readings", db.plan_book())
    cands, _ = db.storage.bill_run_candidates(OCT[0], OCT[1], after_account_id=0, limit=100)
    return _price(Batch(cands, []), scope, db.storage).bills


def test_a_reading_sent_back_to_pending_meanwhile_leaves_that_flat_out_of_the_batch(db, storage):
    """A reviewer undoes the approval of a reading the run priced, before the batch is stored: the
    bill would cover a pending reading. That flat is left out (stale); the run prices it again and
    finds it waiting for review; approved again, the next run bills it once."""
    approved_readings(db, storage)
    priced = _priced(db)
    nb = priced[0]
    reading_id = nb.covered[-1].reading_id
    db.undo_review(reading_id, actor=ADMIN)
    res = storage.insert_bill_batch(priced, ADMIN)
    assert (res.created, res.skipped, tuple(res.stale)) == (3, 0, (nb.account_id,))
    assert db.storage.get_reading(reading_id).status == "pending"
    assert all(b.account_id != nb.account_id for b in db.list_bills(BillFilter(period_month="2026-10")).items)
    assert db.generate_bills_for_month(*OCT).created == 0  # waiting for review
    db.approve_reading(reading_id, actor=ADMIN)
    assert db.generate_bills_for_month(*OCT).created == 1
    (bill,) = [b for b in db.list_bills(BillFilter(period_month="2026-10")).items if b.account_id == nb.account_id]
    assert bill.units == nb.units and bill.total_amount == nb.total_amount



def test_a_reading_re_measured_meanwhile_leaves_that_flat_out_of_the_batch(db, storage):
    """An engineer stores a reading dated between the flat's last two, after the run priced the
    flat: the priced reading is re-measured from it (fewer units). The bill would charge the old
    units, so that flat is left out (stale) and, priced again, waits for the new reading's review."""
    ids = approved_readings(db, storage)
    priced = _priced(db)
    nb = next(b for b in priced if b.covered[-1].reading_id == ids["19152159"])
    before = storage.get_reading(ids["19152159"])
    between = db.insert_meter_reading(meter_number="19152159", reading_value=1040, reading_date=d(2026, 10, 5),
                                      actor=engineer_user(storage)).reading
    assert storage.get_reading(ids["19152159"]).consumption != before.consumption, "the test needs a re-measure"
    res = storage.insert_bill_batch(priced, ADMIN)
    assert (res.created, tuple(res.stale)) == (3, (nb.account_id,))
    assert all(b.account_id != nb.account_id for b in db.list_bills(BillFilter(period_month="2026-10")).items)
    db.approve_reading(between.id, actor=ADMIN)
    assert db.generate_bills_for_month(*OCT).created == 1  # both readings, every unit once
    (bill,) = [b for b in db.list_bills(BillFilter(period_month="2026-10")).items if b.account_id == nb.account_id]
    assert bill.units == nb.units
