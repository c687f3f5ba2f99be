"""The per-month, per-area summary rows (database/bill_totals.py, issue 19): the database keeps them in
the statement that changes a bill, whatever wrote it (here: direct SQL, below every service), the
dashboard and reports read them, verify_billing compares them with the bills, and an upgraded
database fills them once. SQLite and PostgreSQL."""
import datetime as dt
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from database import bill_totals
from database.migrations import apply_schema
from services.accounts.scopes import Scope
from tests.factories import make_society

INSERT = sa.text(
    "INSERT INTO bills (account_id, area_id, tariff_plan_version_id, billing_period_start, billing_period_end, due_date, "
    "units, motor_units, total_units, rate_per_unit, fixed_charge, previous_outstanding, total_amount) "
    "VALUES (:flat, (SELECT area_id FROM accounts WHERE id = :flat), (SELECT min(id) FROM tariff_plan_versions), "
    ":start, :end, :due, :units, 0, :units, 12, 0, :arrears, :total)")


@pytest.fixture(params=["sqlite", "postgresql"])
def st(request, tmp_path):
    from tests.backends import FACTORIES

    storage = FACTORIES[request.param](request, tmp_path)
    make_society(storage)
    yield storage
    storage.dispose()


def _flats(st) -> list[int]:
    with st.engine.connect() as c:
        return list(c.execute(sa.text("SELECT id FROM accounts ORDER BY id LIMIT 2")).scalars())


def _bill(c, flat, month="2026-10", units=10, arrears=0, due="2026-11-15") -> int:
    first = dt.date.fromisoformat(f"{month}-01")
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    c.execute(INSERT, {"flat": flat, "start": first, "end": last, "due": due, "units": units, "arrears": str(arrears),
                       "total": str(units * 12 + arrears)})
    return c.execute(sa.text("SELECT max(id) FROM bills")).scalar()


def _rows(st, month="2026-10") -> list[tuple]:
    t = bill_totals.KEY + bill_totals.SUMS
    with st.engine.connect() as c:
        rows = c.execute(sa.text(f"SELECT {', '.join(t)} FROM bill_month_totals WHERE bill_month = :m AND bills <> 0 "
                                 "ORDER BY status, paid_any, arrears"), {"m": month}).all()
    return [(r.status, bool(r.paid_any), bool(r.arrears), r.bills, r.units, r.billed, r.due, r.paid) for r in rows]


def _mismatches(st) -> int:
    return st.billing_checks()["totals_mismatch"][0]


def test_rows_follow_every_change_of_a_bill_made_by_direct_sql(st):
    a, b = _flats(st)
    with st.engine.begin() as c:
        first = _bill(c, a)
        _bill(c, b, units=20, arrears=D("55.50"))
    # 10 x 12 = 120.00 and 20 x 12 + 55.50 = 295.50, one due date, nothing paid
    assert _rows(st) == [("pending", False, False, 1, 1000, 12000, 12000, 0),
                         ("pending", False, True, 1, 2000, 24000, 29550, 0)]
    with st.engine.begin() as c:  # a payment, as a bank file's SQL would write it
        c.execute(sa.text("UPDATE bills SET amount_paid = 50, status = 'partially_paid' WHERE id = :i"), {"i": first})
        c.execute(sa.text("UPDATE bills SET overdue_notified_at = CURRENT_TIMESTAMP"))  # moves nothing
    assert _rows(st) == [("partially_paid", True, False, 1, 1000, 12000, 12000, 5000),
                         ("pending", False, True, 1, 2000, 24000, 29550, 0)]
    with st.engine.begin() as c:
        c.execute(sa.text("UPDATE bills SET amount_paid = 120, status = 'paid' WHERE id = :i"), {"i": first})
    assert _rows(st)[0] == ("paid", True, False, 1, 1000, 12000, 12000, 12000)
    assert _mismatches(st) == 0
    # what the reports and the dashboard read
    rows = st.collection_report("2026-10", False)
    assert [sum(getattr(r, k) for r in rows) for k in ("bills", "billed", "due", "collected", "paid", "arrears")] == [
        2, D("360.00"), D("415.50"), D("120.00"), 1, 1]
    fig = st.dashboard_figures("2026-10", dt.date(2026, 11, 20))
    assert (fig.bill_count, fig.billed, fig.outstanding, fig.overdue_count) == (2, D("360.00"), D("295.50"), 1)
    [point] = st.monthly_series(["2026-10"])
    assert (point.consumption, point.billed, point.bill_count) == (D("30.00"), D("360.00"), 2)
    assert st.monthly_consumption(["2026-09", "2026-10"]) == {"2026-09": D("0.00"), "2026-10": D("30.00")}
    aging = st.aging_report(dt.date(2026, 11, 20), False)
    assert [(r.bills, r.d0_30) for r in aging if r.bills] == [(1, D("295.50"))]


def test_the_reports_read_the_rows_and_verify_billing_sees_a_row_that_is_wrong(st):
    a, _ = _flats(st)
    with st.engine.begin() as c:
        _bill(c, a)
    assert st.collection_report("2026-10", False)[0].due == D("120.00") and _mismatches(st) == 0
    with st.engine.begin() as c:  # planted below the triggers
        c.execute(sa.text("UPDATE bill_month_totals SET due = due + 100"))
    assert st.collection_report("2026-10", False)[0].due == D("121.00")  # the report reads the row
    n, first = st.billing_checks()["totals_mismatch"]
    assert n == 1 and first[0]["stored_due"] == 12100 and first[0]["recomputed_due"] == 12000
    with st.engine.begin() as c:  # a row missing altogether
        c.execute(sa.text("DELETE FROM bill_month_totals"))
    assert _mismatches(st) == 1 and st.collection_report("2026-10", False) == []
    with st.engine.begin() as c:
        bill_totals.rebuild(c)
    assert _mismatches(st) == 0 and st.collection_report("2026-10", False)[0].due == D("120.00")


def test_an_upgraded_database_fills_the_rows_once(st):
    a, b = _flats(st)
    with st.engine.begin() as c:
        _bill(c, a, month="2026-09", due="2026-10-15")
        _bill(c, b)
        # as a database made before the summary rows: no rows, not filled
        c.execute(sa.text("DELETE FROM bill_month_totals"))
        c.execute(sa.text("DELETE FROM schema_info WHERE key = 'bill_totals'"))
    assert _mismatches(st) == 2
    apply_schema(st.engine)
    assert _mismatches(st) == 0 and len(_rows(st, "2026-09")) == 1
    with st.engine.begin() as c:  # filled once: a later start does not recompute (it costs one key lookup)
        c.execute(sa.text("UPDATE bill_month_totals SET paid = 7"))
    apply_schema(st.engine)
    assert _mismatches(st) == 2


def test_a_customers_scope_sums_only_their_own_bills(st):
    mine, theirs = _flats(st)
    with st.engine.begin() as c:
        _bill(c, mine)
        _bill(c, theirs, units=30)
    assert sum(r.due for r in st.collection_report("2026-10", False)) == D("480.00")
    view = st.scoped(Scope(None, frozenset({mine})))  # the rows know no accounts: recomputed from the bills
    assert [r.due for r in view.collection_report("2026-10", False)] == [D("120.00")]
    assert view.dashboard_figures("2026-10", dt.date(2026, 11, 1)).outstanding == D("120.00")


def test_payments_at_once_on_bills_of_one_month_keep_the_rows_exact(st):
    """Staff recording payments at the same moment on bills of one month and area all move the same few
    summary rows: each waits for the other's row (PostgreSQL) or the write lock (SQLite); none is lost."""
    from concurrent.futures import ThreadPoolExecutor

    from services.database_service import DatabaseService
    from tests.factories import admin_user

    with st.engine.begin() as c:
        flats = list(c.execute(sa.text("SELECT id FROM accounts ORDER BY id")).scalars())
        bills = [_bill(c, f, units=10) for f in flats]  # 120.00 each
    db, admin = DatabaseService(st), admin_user(st)

    def pay(bill_id):
        for _ in range(3):
            db.record_payment(bill_id, D("40.00"), paid_on=dt.date(2026, 11, 2), actor=admin)

    with ThreadPoolExecutor(max_workers=len(bills)) as pool:
        list(pool.map(pay, bills))  # re-raises any error of a thread
    assert _mismatches(st) == 0
    assert _rows(st) and all(r[0] == "paid" and r[6] == r[7] for r in _rows(st))
    assert sum(r.collected for r in st.collection_report("2026-10", False)) == D("120.00") * len(bills)
