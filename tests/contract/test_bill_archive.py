"""The bill archive (issue 14) on SQLite and PostgreSQL: settled bills older than the kept months move
with every row of theirs; counts and sums are equal before and after; an open bill, an account's
last bill, a bill a ticket names and a bill a live row points at stay live; archived bills are found
by PSID and account (an agent sees only their areas); a month is restored unchanged; the bill chain and
the billing checks hold across the move; the database refuses a bill for an archived period and a
delete that is not a move. On Supabase the move is refused with the way to run it."""
import datetime as dt
from decimal import Decimal as D

import pytest
import sqlalchemy as sa

from database import bill_chain, bill_totals

from services.accounts.scopes import Scope
from services.errors import ConfigurationError, ConflictError, NotFoundError, ValidationError
from services.field.service import raise_ticket
from services.models import BillFilter
from tests.factories import ADMIN, make_municipal, make_service

d = dt.date
TODAY = d(2027, 3, 22)  # the kept months start at 2026-03


def _sql_only(storage):
    if storage.backend_name not in ("sqlite", "postgresql"):
        pytest.skip("the move runs on the SQL backends (Supabase: on its PostgreSQL, test_supabase_refuses_the_move)")


@pytest.fixture
def town(storage):
    _sql_only(storage)
    ids = make_municipal(storage)["accounts"]
    db = make_service(storage, TODAY)
    db.generate_bills_for_month(d(2026, 1, 1), d(2026, 1, 31), d(2026, 2, 15), actor=ADMIN)
    sep = _bills(db, "2026-01-01")
    for code in ("SP-KSR-0000001", "SP-KSR-0000003", "SP-OKR-0000004"):
        db.record_payment(sep[code].id, sep[code].total_amount, paid_on=d(2026, 2, 5), actor=ADMIN)
    db.generate_bills_for_month(d(2026, 2, 1), d(2026, 2, 28), d(2026, 3, 15), actor=ADMIN)
    # SP-KSR-0000003 leaves before March: its February bill stays its last
    storage.set_accounts_active([ids["SP-KSR-0000003"]], False, "moved away", ADMIN)
    db.generate_bills_for_month(d(2026, 3, 1), d(2026, 3, 31), d(2026, 4, 15), actor=ADMIN)
    raise_ticket(db, ids["SP-OKR-0000004"], "payment_not_posted", "Paid twice in January?", actor=ADMIN,
                 bill_id=sep["SP-OKR-0000004"].id)
    assert len(_bills(db, "2026-03-01")) == 3
    return db, ids


def _bills(db, start: str) -> dict:
    return {b.account_code: b for b in db.list_bills(BillFilter(), 0, 100).items if str(b.billing_period_start) == start}


def _rows(storage, table: str) -> int:
    with storage.engine.connect() as c:
        return c.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def _month_totals(storage) -> list:
    with storage.engine.connect() as c:
        return c.execute(sa.text("SELECT * FROM bill_month_totals WHERE bills <> 0 ORDER BY 1, 2, 3, 4, 5, 6")).all()


def _all_checks_clean(storage) -> None:
    dirty = {k: v for k, v in storage.billing_checks().items() if v[0]}
    assert not dirty, dirty
    with storage.engine.connect() as c:
        report = bill_chain.verify(c)
        assert report.ok and report.checked == _rows(storage, "bill_seals") + _rows(storage, "archived_bill_seals"), \
            report.text()
        assert bill_totals.mismatches(c)[0] == 0


def test_a_settled_month_moves_whole_and_comes_back_unchanged(storage, town):
    db, ids = town
    sep = _bills(db, "2026-01-01")
    assert sep["SP-KSR-0000002"].status == "carried_forward"  # unpaid, its balance is on October's bill
    kept = {c: storage.get_bill(b.id) for c, b in sep.items()}
    lines_before = {c: storage.list_bill_lines(b.id) for c, b in sep.items()}
    totals_before = _month_totals(storage)

    dry = storage.archive_bill_month("2026-01", TODAY, ADMIN, after_months=12, dry_run=True)
    assert dry.dry_run and dry.moved.bills == 2 and dry.kept_live == 2
    assert storage.get_bill(sep["SP-KSR-0000001"].id) is not None and storage.list_archived_months() == []

    out = storage.archive_bill_month("2026-01", TODAY, ADMIN, after_months=12)
    # paid (0001) and carried forward (0002) move; 0003 has no bill after October, 0004's bill has a ticket
    assert (out.moved.bills, out.kept_live) == (2, 2)
    moved = [sep["SP-KSR-0000001"], sep["SP-KSR-0000002"]]
    assert out.moved.total_amount == sum(b.total_amount for b in moved)
    assert out.moved.amount_paid == sep["SP-KSR-0000001"].total_amount
    assert out.moved.payments == 1 and out.moved.payment_amount == sep["SP-KSR-0000001"].total_amount
    assert out.moved.lines == sum(len(lines_before[b.account_code]) for b in moved)
    assert out.moved.other_rows >= 2  # their seals at least
    for b in moved:
        assert storage.get_bill(b.id) is None
    for code in ("SP-KSR-0000003", "SP-OKR-0000004"):
        assert storage.get_bill(sep[code].id) is not None
    [month] = storage.list_archived_months()
    assert month.month == "2026-01" and month.counts == out.moved and month.archived_by == ADMIN.username
    assert storage.list_audit(action_prefix="bill_archive.move").items[0].entity_id == "2026-01"

    # found by PSID and by account; the totals, the chain and the checks hold
    found = storage.find_archived_bills(psid=sep["SP-KSR-0000001"].psid)
    assert [b.id for b in found.items] == [sep["SP-KSR-0000001"].id] and found.items[0].status == "paid"
    assert found.items[0].account_code == "SP-KSR-0000001"
    by_account = storage.find_archived_bills(account_code="SP-KSR-0000002")
    assert [b.billing_period_start for b in by_account.items] == [d(2026, 1, 1)]
    _all_checks_clean(storage)
    assert _month_totals(storage) == totals_before  # the summary rows still count the archived month

    # the same month again moves nothing new
    again = storage.archive_bill_month("2026-01", TODAY, ADMIN, after_months=12)
    assert again.moved.bills == 0 and storage.list_archived_months()[0].counts == out.moved

    back = storage.restore_bill_month("2026-01", ADMIN)
    assert back.restored and back.moved == out.moved
    for code, bill in kept.items():
        assert storage.get_bill(bill.id) == bill
        assert storage.list_bill_lines(bill.id) == lines_before[code]
    assert storage.list_archived_months() == [] and _rows(storage, "archived_bills") == 0
    _all_checks_clean(storage)
    assert _month_totals(storage) == totals_before
    assert storage.find_archived_bills(account_code="SP-KSR-0000002").total == 0


def test_the_kept_months_never_move_and_bad_months_are_refused(storage, town):
    with pytest.raises(ValidationError, match="stay live"):
        storage.archive_bill_month("2026-03", TODAY, ADMIN, after_months=12)
    with pytest.raises(ValidationError, match="month"):
        storage.archive_bill_month("2026-13", TODAY, ADMIN, after_months=12)
    with pytest.raises(NotFoundError, match="2025-12"):
        storage.restore_bill_month("2025-12", ADMIN)
    with pytest.raises(ValidationError, match="at least"):
        storage.archive_bill_month("2026-01", TODAY, ADMIN, after_months=1)


def test_the_database_keeps_a_bill_in_one_place(storage, town):
    db, ids = town
    sep = _bills(db, "2026-01-01")
    storage.archive_bill_month("2026-01", TODAY, ADMIN, after_months=12)
    gone, live = sep["SP-KSR-0000001"], sep["SP-KSR-0000003"]
    with storage.engine.connect() as c:
        # a live bill is deleted only as a move; an archived one is never changed, nor removed while not live
        for sql in (f"DELETE FROM bills WHERE id = {live.id}",
                    f"DELETE FROM payments WHERE bill_id = {live.id}",
                    f"UPDATE archived_bills SET total_amount = 1 WHERE id = {gone.id}",
                    f"DELETE FROM archived_bills WHERE id = {gone.id}",
                    f"DELETE FROM archived_bill_seals WHERE bill_id = {gone.id}",
                    # a row is copied to the archive only while its live row exists
                    f"INSERT INTO archived_bill_lines (id, bill_id, seq, code, label, amount) VALUES (999999, {gone.id}, 9, 'x', 'x', 1)"):
            with pytest.raises(sa.exc.DBAPIError, match="BILL_IMMUTABLE|APPEND_ONLY|ARCHIVE_COPY"):
                with c.begin():
                    c.execute(sa.text(sql))
    # a new bill for an archived account and period is refused, by the service and by the database
    with pytest.raises(ConflictError, match="archive"):
        db.create_bill("SP-KSR-0000001", d(2026, 1, 1), d(2026, 1, 31), d(2026, 2, 15), actor=ADMIN)
    assert _rows(storage, "archived_bills") == 2


def test_an_agent_finds_only_their_areas_archived_bills(storage, town):
    db, ids = town
    sep = _bills(db, "2026-01-01")
    storage.archive_bill_month("2026-01", TODAY, ADMIN, after_months=12)
    okara = storage.scoped(Scope(paths=frozenset({"OKR"})))
    kasur = storage.scoped(Scope(paths=frozenset({"KSR/KSR-UC01"})))
    assert okara.find_archived_bills(psid=sep["SP-KSR-0000001"].psid).total == 0
    assert okara.find_archived_bills(account_code="SP-KSR-0000002").total == 0
    assert kasur.find_archived_bills(account_code="SP-KSR-0000002").total == 1
    from services.errors import PermissionDeniedError
    with pytest.raises(PermissionDeniedError):
        kasur.archive_bill_month("2026-01", TODAY, ADMIN, after_months=12)


def test_supabase_refuses_the_move_and_names_the_way(storage):
    if storage.backend_name in ("sqlite", "postgresql"):
        pytest.skip("the SQL backends move months themselves")
    with pytest.raises(ConfigurationError, match="archive_bills --database-url"):
        storage.archive_bill_month("2026-01", TODAY, ADMIN, after_months=12)
    assert storage.list_archived_months() == []
    assert storage.find_archived_bills(psid="00000000000000000").total == 0


def test_money_in_the_archive_is_exact(storage, town):
    out = storage.archive_bill_month("2026-01", TODAY, ADMIN, after_months=12)
    assert isinstance(out.moved.total_amount, D) and out.moved.total_amount == out.moved.total_amount.quantize(D("0.01"))


def test_an_archived_bill_still_covers_its_readings(db, storage):
    """Electricity: August's bill (paid) moves; its reading stays billed, the next run counts from
    September's reading, and every check over live and archived bills holds."""
    _sql_only(storage)
    from tests.contract.test_bill_coverage import reading
    from services.models import ReadingFilter
    from tests.factories import admin_user

    reading(db, storage, "1000", d(2026, 7, 25))
    aug = reading(db, storage, "1100", d(2026, 8, 25))
    assert db.generate_bills_for_month(d(2026, 8, 1), d(2026, 8, 31), d(2026, 9, 15)).created == 1
    aug_bill = db.list_bills(BillFilter(period_month="2026-08")).items[0]
    db.record_payment(aug_bill.id, aug_bill.total_amount, paid_on=d(2026, 9, 10), actor=ADMIN)
    paid_aug = storage.get_bill(aug_bill.id)
    reading(db, storage, "1200", d(2026, 9, 25))
    assert db.generate_bills_for_month(d(2026, 9, 1), d(2026, 9, 30), d(2026, 10, 15)).created == 1

    out = storage.archive_bill_month("2026-08", d(2026, 12, 5), ADMIN, after_months=3)
    assert out.moved.bills == 1 and out.moved.other_rows >= 2  # its covered reading and its seal
    assert storage.get_bill(aug_bill.id) is None
    assert storage.readings_billed([aug.id]) == {aug.id}
    unbilled = db.list_readings(ReadingFilter(status="approved", unbilled_only=True), actor=admin_user(storage))
    assert unbilled.total == 0
    with storage.engine.connect() as c:  # the database refuses a second cover of an archived bill's reading
        with pytest.raises(sa.exc.DBAPIError, match="BILL_READING_TAKEN"):
            with c.begin():
                sep_bill = db.list_bills(BillFilter(period_month="2026-09")).items[0]
                c.execute(sa.text(f"INSERT INTO bill_readings (bill_id, reading_id, units) VALUES ({sep_bill.id}, {aug.id}, 1)"))
    _all_checks_clean(storage)

    reading(db, storage, "1250", d(2026, 10, 25))
    assert db.generate_bills_for_month(d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 15)).created == 1
    assert db.list_bills(BillFilter(period_month="2026-10")).items[0].units == D("50.00")
    _all_checks_clean(storage)
    storage.restore_bill_month("2026-08", ADMIN)
    assert storage.get_bill(aug_bill.id) == paid_aug
    _all_checks_clean(storage)


def test_a_bank_payment_on_an_archived_bill_is_reported_not_applied(storage, town):
    from services.payments.bank_files import import_file

    db, ids = town
    sep = _bills(db, "2026-01-01")
    storage.archive_bill_month("2026-01", TODAY, ADMIN, after_months=12)
    gone = sep["SP-KSR-0000001"]
    content = ("psid,transaction_id,amount,date,time,bank,channel\n"
               f"{gone.psid},TXN-9,{gone.total_amount},2027-03-01,10:00:00,HBL,branch\n").encode()
    out = import_file(db, content, "late.csv", ADMIN)
    [row] = out.outcomes
    assert row.outcome == "refused_paid" and "bill archive" in row.reason and out.counts["matched"] == 0
    assert storage.find_archived_bills(psid=gone.psid).items[0].amount_paid == gone.total_amount


def test_months_come_back_newest_first(storage, town):
    """January's unpaid bill carried its balance into February's, and February's into March's: both months
    move (March's bills stay live). January cannot come back before February (its bill names February's)."""
    from services.billing.archiving import archive_old_months

    db, ids = town
    feb = _bills(db, "2026-02-01")["SP-KSR-0000002"]
    assert feb.status == "carried_forward"
    done = archive_old_months(storage, TODAY, ADMIN, after_months=12)
    # February: every unit's bill carried into March, except SP-KSR-0000003's, its last
    assert [(o.month, o.moved.bills, o.kept_live) for o in done] == [("2026-01", 2, 2), ("2026-02", 3, 1)]
    with pytest.raises(ConflictError, match="restore 2026-02 first"):
        storage.restore_bill_month("2026-01", ADMIN)
    assert len(storage.list_archived_months()) == 2  # nothing moved
    _all_checks_clean(storage)
    storage.restore_bill_month("2026-02", ADMIN)
    storage.restore_bill_month("2026-01", ADMIN)
    assert storage.get_bill(feb.id) == feb and storage.list_archived_months() == []
    _all_checks_clean(storage)


def test_an_estimate_is_not_where_the_next_bill_counts_from(db, storage):
    """August's paid bill stays live while the only newer bill is September's estimate: the next actual
    bill counts from August's reading, so August's bill is the anchor until a real bill follows."""
    _sql_only(storage)
    from tests.contract.test_bill_coverage import reading

    reading(db, storage, "1000", d(2026, 7, 25))
    reading(db, storage, "1100", d(2026, 8, 25))
    assert db.generate_bills_for_month(d(2026, 8, 1), d(2026, 8, 31), d(2026, 9, 15)).created == 1
    aug = db.list_bills(BillFilter(period_month="2026-08")).items[0]
    db.record_payment(aug.id, aug.total_amount, paid_on=d(2026, 9, 10), actor=ADMIN)
    est = db.generate_bills_for_month(d(2026, 9, 1), d(2026, 9, 30), d(2026, 10, 15), estimate=True)
    assert est.estimated == 1
    out = storage.archive_bill_month("2026-08", d(2026, 12, 5), ADMIN, after_months=3)
    assert (out.moved.bills, out.kept_live) == (0, 1) and storage.get_bill(aug.id) is not None


def test_the_bills_list_counts_live_bills_with_a_month_archived(storage, town):
    """Issue 19: a list filtered on month, status and area alone is counted from the summary rows,
    which still count archived bills; the count is the live bills listed, for staff limited to an area
    too, and the unfiltered list reads no bills to count them."""
    before = len(storage.list_bills(BillFilter(), 0, 100, with_total=False).items)
    storage.archive_bill_month("2026-01", TODAY, ADMIN, after_months=12)
    assert storage.list_archived_months()[0].counts.bills == 2
    kasur = storage.get_area(path="KSR").id
    counted = []
    listen = lambda conn, cursor, sql, *a: counted.append(sql) if "count(" in sql.lower() else None  # noqa: E731
    sa.event.listen(storage.engine, "before_cursor_execute", listen)
    try:
        assert storage.list_bills(BillFilter(), 0, 1).total == before - 2
    finally:
        sa.event.remove(storage.engine, "before_cursor_execute", listen)
    assert not [x for x in counted if "FROM bills" in x], counted
    for view in (storage, storage.scoped(Scope(paths=frozenset({"KSR"})))):
        for month in (None, "2026-01", "2026-02", "2026-04"):
            for statuses in ((), ("paid",), ("carried_forward",), ("pending", "overdue", "partially_paid")):
                for area in (None, kasur):
                    flt = BillFilter(period_month=month, statuses=statuses, area_id=area)
                    listed = view.list_bills(flt, 0, 100, with_total=False).items
                    assert view.list_bills(flt, 0, 1).total == len(listed), flt
