"""Bank payment files on every backend (issue 14): rows matched by PSID are recorded as payments;
a duplicate row and the same file twice change nothing; unknown PSIDs, amount mismatches, paid
bills and PSIDs of replaced bills are reported row by row and not applied; the summary's counts and
amounts add up; a malformed file names its rows and columns and stores nothing."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.billing.psid import make_psid
from services.errors import MasterDataError
from services.models import BillFilter
from services.payments.bank_files import import_file
from tests.factories import ADMIN, make_municipal, make_service

d = dt.date
HEADER = "psid,consumer_number,transaction_id,amount,date,time,bank,channel,fine\n"


@pytest.fixture
def town(storage, today):
    make_municipal(storage)
    db = make_service(storage, today)
    db.generate_bills_for_month(d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 20), actor=ADMIN)
    bills = {b.account_code: b for b in db.list_bills(BillFilter(), 0, 50).items}
    return db, bills


def _csv(*rows: str) -> bytes:
    return (HEADER + "".join(r + "\n" for r in rows)).encode()


def _paid(storage, bill_id) -> D:
    return storage.get_bill(bill_id).amount_paid


def test_a_bank_file_is_matched_row_by_row(storage, town):
    db, bills = town
    a, b, c = bills["SP-KSR-0000001"], bills["SP-KSR-0000002"], bills["SP-OKR-0000004"]
    wrong_digit = a.psid[:-1] + str((int(a.psid[-1]) + 1) % 10)
    content = _csv(
        f"{a.psid},{a.account_code},TXN-1,{a.balance},2026-11-10,10:15:00,HBL,branch,0",
        f"{a.psid},,TXN-1,{a.balance},2026-11-10,10:15,HBL,branch,0",          # the same payment again
        f"{b.psid},,TXN-2,{b.balance - D('1')},2026-11-10,11:00:00,MCB,ATM,",  # one rupee short
        f"{make_psid(999_999, d(2026, 10, 31))},,TXN-3,500.00,2026-11-10,11:05:00,UBL,internet,0",  # no such bill
        f"{wrong_digit},,TXN-4,{a.balance},2026-11-10,11:10:00,UBL,internet,0",  # a mistyped PSID
        f"{c.psid},SP-KSR-0000001,TXN-5,{c.balance},2026-11-10,11:15:00,UBL,internet,0",  # another unit's
        f"{c.psid},{c.account_code},TXN-6,{c.balance},2026-11-11,09:00:00,ABL,mobile,25.00",
    )
    out = import_file(db, content, "hbl-2026-11-10.csv", ADMIN)
    got = {o.row.transaction_id: o.outcome for o in out.outcomes if o.outcome != "duplicate"}
    assert [o.outcome for o in out.outcomes] == ["matched", "duplicate", "refused_amount", "refused_unknown",
                                                 "refused_unknown", "refused_unknown", "matched"], got
    assert out.counts == {"matched": 2, "duplicate": 1, "refused": 4} and not out.already_imported
    assert out.amounts["matched"] == a.balance + c.balance
    assert out.amounts["refused"] == (b.balance - D("1")) + D("500.00") + a.balance + c.balance
    assert _paid(storage, a.id) == a.total_amount and storage.get_bill(a.id).status == "paid"
    assert _paid(storage, b.id) == D("0")
    assert _paid(storage, c.id) == c.total_amount
    pay = storage.list_payments(a.id)[0]
    assert pay.method == "bank_transfer" and pay.reference == "HBL TXN-1" and pay.paid_on == d(2026, 11, 10)
    # every row is kept with its outcome and reason
    rows = storage.list_bank_payments(out.file_id, offset=0, limit=50)
    assert rows.total == 7 and [r.row_no for r in rows.items] == list(range(2, 9))
    assert rows.items[-1].fine == D("25.00") and rows.items[-1].bank == "ABL"
    refused = storage.list_bank_payments(out.file_id, ("refused_amount",))
    assert refused.total == 1 and "open balance" in refused.items[0].reason
    assert storage.list_bank_files(0, 10).items[0].matched_count == 2
    assert storage.list_audit(action_prefix="bank_file.import").items[0].details["matched"] == 2

    # the same file again: nothing changes, the first import's summary is shown
    again = import_file(db, content, "hbl-2026-11-10 (1).csv", ADMIN)
    assert again.already_imported and again.file_id == out.file_id and again.counts == out.counts
    assert storage.list_bank_files(0, 10).total == 1
    # the same payments in another file: duplicates, nothing paid twice
    other = import_file(db, content + b"\n", "resent.csv", ADMIN)
    assert [o.outcome for o in other.outcomes][:1] == ["duplicate"] and other.counts["matched"] == 0
    assert _paid(storage, a.id) == a.total_amount and len(storage.list_payments(a.id)) == 1
    assert other.counts["refused"] == 4 and other.counts["duplicate"] == 3


def test_a_replaced_bills_psid_has_expired(storage, town):
    db, bills = town
    old = bills["SP-KSR-0000003"]
    new = db.create_bill("SP-KSR-0000003", "2026-10-01", "2026-10-31", "2026-11-20", actor=ADMIN)
    assert new.reissue_of == old.id and new.psid != old.psid
    out = import_file(db, _csv(f"{old.psid},,TXN-9,{old.total_amount},2026-11-12,12:00:00,HBL,branch,0",
                               f"{new.psid},,TXN-10,{new.balance},2026-11-12,12:01:00,HBL,branch,0"), "f.csv", ADMIN)
    assert [o.outcome for o in out.outcomes] == ["refused_expired", "matched"]
    assert f"bill #{new.id}" in out.outcomes[0].reason
    assert _paid(storage, old.id) == D("0") and _paid(storage, new.id) == new.total_amount
    # the new bill is paid now: another payment on it is refused, not applied
    out = import_file(db, _csv(f"{new.psid},,TXN-11,{new.total_amount},2026-11-13,08:00:00,HBL,branch,0"), "g.csv",
                      ADMIN)
    assert out.outcomes[0].outcome == "refused_paid" and _paid(storage, new.id) == new.total_amount


def test_a_malformed_file_names_rows_and_columns_and_stores_nothing(storage, town):
    db, bills = town
    a = bills["SP-KSR-0000001"]
    bad = _csv(f"{a.psid},,TXN-1,{a.balance},2026-11-10,10:15:00,HBL,branch,0",
               "1234,,TXN-2,12.345,2026-13-01,25:00,HBL,branch,x",
               f"{a.psid},,,100,2099-01-01,10:00:00,,,")
    with pytest.raises(MasterDataError) as err:
        import_file(db, bad, "bad.csv", ADMIN)
    text = str(err.value)
    for where in ("row 3, column 'psid'", "row 3, column 'amount'", "row 3, column 'date'", "row 3, column 'time'",
                  "row 3, column 'fine'", "row 4, column 'transaction_id'", "row 4, column 'date'"):
        assert where in text, (where, text)
    assert _paid(storage, a.id) == D("0") and storage.list_bank_files(0, 10).total == 0
    with pytest.raises(MasterDataError, match="column 'amount': is missing from the header"):
        import_file(db, b"psid,transaction_id,date,time\n1,2,3,4\n", "h.csv", ADMIN)


def test_only_the_head_office_imports_bank_files(storage, town):
    from services.accounts.scopes import actor_for
    from services.errors import PermissionDeniedError

    db, bills = town
    user = storage.create_user(username="manager1", role="manager", password_hash=None, actor=ADMIN)
    manager = actor_for(storage, user)
    a = bills["SP-KSR-0000001"]
    with pytest.raises(PermissionDeniedError):
        import_file(db, _csv(f"{a.psid},,TXN-1,{a.balance},2026-11-10,10:15:00,HBL,branch,0"), "x.csv", manager)
    assert _paid(storage, a.id) == D("0")


def test_an_agent_sees_only_the_bank_rows_of_their_areas(storage, town):
    from services.accounts.scopes import Scope

    db, bills = town
    a, c = bills["SP-KSR-0000001"], bills["SP-OKR-0000004"]
    out = import_file(db, _csv(f"{a.psid},,TXN-1,{a.balance},2026-11-10,10:15:00,HBL,branch,0",
                               f"{c.psid},,TXN-2,{c.balance},2026-11-10,10:16:00,HBL,branch,0",
                               f"{make_psid(999_999, d(2026, 10, 31))},,TXN-3,5.00,2026-11-10,10:17:00,HBL,branch,0"),
                      "f.csv", ADMIN)
    view = storage.scoped(Scope.of(["KSR/KSR-UC01"]))
    rows = view.list_bank_payments(out.file_id)
    assert [r.transaction_id for r in rows.items] == ["TXN-1"] and rows.total == 1
