"""Lists sort across every row in the database, by a whitelisted key; amounts sort as numbers."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.errors import ValidationError
from services.models import BILL_SORTS, READING_SORTS, BillFilter, ReadingFilter
from tests.contract.test_readings import _history
from tests.factories import admin_user, raw_bill

d = dt.date
# 9,158.64 sorts above 12,128.28 as text; as numbers it is the other way round.
TOTALS = {"B17-FF": D("9158.64"), "A1-GF": D("12128.28"), "C14-SF": D("950.00"), "D3-SF": D("100000.10")}


@pytest.fixture
def bills(storage, society):
    admin = admin_user(storage)
    return {code: storage.insert_bill(raw_bill(storage, code, d(2026, 9, 1), d(2026, 9, 30), total=total), admin)
            for code, total in TOTALS.items()}


def test_bills_sort_by_amount_as_numbers_across_pages(storage, bills):
    wanted = sorted(TOTALS.values(), reverse=True)
    first = storage.list_bills(BillFilter(sort="total"), 0, 2)
    second = storage.list_bills(BillFilter(sort="total"), 2, 2)
    assert [b.total_amount for b in first.items + second.items] == wanted
    up = storage.list_bills(BillFilter(sort="total", descending=False), 0, 1)
    assert up.items[0].total_amount == D("950.00") and up.total == 4


def test_bills_sort_by_account_and_number(storage, bills):
    by_code = storage.list_bills(BillFilter(sort="account", descending=False), 0, 10).items
    assert [b.account_code for b in by_code] == sorted(TOTALS)
    by_number = storage.list_bills(BillFilter(sort="number", descending=True), 0, 10).items
    assert [b.number for b in by_number] == sorted((b.number for b in by_number), reverse=True)


@pytest.mark.parametrize("key", sorted(BILL_SORTS))
def test_every_bill_sort_key_runs(storage, bills, key):
    for descending in (True, False):
        page = storage.list_bills(BillFilter(sort=key, descending=descending), 0, 10)
        assert len(page.items) == 4 and page.total == 4


def test_unknown_sort_key_refused(storage, bills):
    with pytest.raises(ValidationError) as e:
        storage.list_bills(BillFilter(sort="total_amount; drop table bills"), 0, 10)
    assert e.value.field == "sort"
    with pytest.raises(ValidationError):
        storage.list_readings(ReadingFilter(sort="nope"), 0, 10)


def test_readings_oldest_first_and_every_key(db, storage):
    admin = admin_user(storage)
    _history(db, storage, "19152159", ["1000", "1300", "1610"])
    oldest = db.list_pending_readings(ReadingFilter(sort="date", descending=False), actor=admin).items
    assert [r.reading_date for r in oldest] == sorted(r.reading_date for r in oldest)
    for key in READING_SORTS:
        for descending in (True, False):
            assert db.list_pending_readings(ReadingFilter(sort=key, descending=descending), actor=admin).total == 3
    by_value = db.list_pending_readings(ReadingFilter(sort="reading", descending=True), actor=admin).items
    assert [r.reading_value for r in by_value] == [D("1610"), D("1300"), D("1000")]
