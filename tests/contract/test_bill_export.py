"""list_bills_after: keyset pages over a filter (what exports walk), on every backend."""
import datetime as dt

from services.models import BillFilter

d = dt.date


def _bills(db):
    ids = []
    for code in ("B17-FF", "A1-GF", "C14-SF", "D3-SF"):
        for month in (9, 10):
            start = d(2026, month, 1)
            end = d(2026, month, 30 if month == 9 else 31)
            ids.append(db.create_bill(code, start, end, end + dt.timedelta(days=15), flat_units=10,
                                      previous_outstanding=0).id)
    return ids


def test_keyset_pages_cover_the_filter_once_in_id_order(db, storage):
    ids = _bills(db)
    seen, after = [], 0
    while True:
        page = storage.list_bills_after(BillFilter(), after, 3)
        if not page:
            break
        assert len(page) <= 3
        seen += [b.id for b in page]
        after = page[-1].id
    assert seen == sorted(ids)


def test_keyset_respects_the_filter(db, storage, society):
    _bills(db)
    october = storage.list_bills_after(BillFilter(period_month="2026-10"), 0, 100)
    assert len(october) == 4 and {b.billing_period_start.month for b in october} == {10}
    block_b = storage.list_bills_after(BillFilter(area_id=society["areas"]["B"], search="Test"), 0, 100)
    assert {b.account_code for b in block_b} == {"B17-FF"} and block_b[0].contact_name == "Test Owner"


def test_service_iterates_every_page(db):
    ids = _bills(db)
    assert [b.id for b in db.iter_bills(BillFilter(), page_size=3)] == sorted(ids)
    assert [b.id for b in db.iter_bills(BillFilter(period_month="2026-09"), page_size=2)] == sorted(ids)[0::2]
