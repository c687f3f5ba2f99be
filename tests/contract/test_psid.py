"""Every bill gets a PSID when it is stored, on every backend: a single bill, the month run's
batches; unique; a re-issue gets a new one and the old bill keeps its own (now expired)."""
import datetime as dt
from decimal import Decimal as D

from services.billing.psid import is_valid, make_psid
from services.models import BillFilter
from tests.factories import ADMIN, make_municipal, make_service

d = dt.date


def test_the_month_run_gives_every_bill_its_psid(storage, today):
    make_municipal(storage)
    db = make_service(storage, today)
    db.generate_bills_for_month(d(2026, 9, 1), d(2026, 9, 30), d(2026, 10, 20), actor=ADMIN)
    db.generate_bills_for_month(d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 20), actor=ADMIN)
    bills = db.list_bills(BillFilter(), 0, 100).items
    assert len(bills) == 8
    for b in bills:
        assert b.psid == make_psid(b.id, b.billing_period_end) and is_valid(b.psid)
    assert len({b.psid for b in bills}) == 8


def test_a_single_bill_and_its_reissue_get_their_own_psids(db, storage):
    first = db.create_bill("B17-FF", "2026-10-01", "2026-10-31", "2026-11-15", flat_units=100, actor=ADMIN)
    assert first.psid == make_psid(first.id, d(2026, 10, 31))
    again = db.create_bill("B17-FF", "2026-10-01", "2026-10-31", "2026-11-15", flat_units=120, actor=ADMIN)
    assert again.reissue_of == first.id and again.psid != first.psid and is_valid(again.psid)
    old = db.get_bill(first.id)
    assert old.status == "superseded" and old.psid == first.psid  # kept, and no longer payable
    assert again.total_amount > D("0")
