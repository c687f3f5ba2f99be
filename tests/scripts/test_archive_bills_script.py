"""python -m scripts.archive_bills: --help, a dry run moves nothing, a move, --list, --find and --account,
a restore, and bad input exits 2 naming the field."""
import datetime as dt

import pytest

from scripts import archive_bills
from services.models import BillFilter
from services.storage.sql_backend import SqlStorage
from tests.factories import ADMIN, make_municipal, make_service

d = dt.date


@pytest.fixture
def url(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    st = SqlStorage(url)
    make_municipal(st)
    db = make_service(st, d(2027, 3, 22))
    db.generate_bills_for_month(d(2026, 1, 1), d(2026, 1, 31), d(2026, 2, 15), actor=ADMIN)
    for b in st.list_bills(BillFilter(), 0, 50).items:
        db.record_payment(b.id, b.total_amount, paid_on=d(2026, 2, 5), actor=ADMIN)
    db.generate_bills_for_month(d(2026, 3, 1), d(2026, 3, 31), d(2026, 4, 15), actor=ADMIN)
    st.dispose()
    return url


def test_help():
    with pytest.raises(SystemExit) as e:
        archive_bills.main(["--help"])
    assert e.value.code == 0


def test_dry_run_move_list_find_restore(url, capsys):
    st = SqlStorage(url)
    jan = [b for b in st.list_bills(BillFilter(), 0, 50).items if b.billing_period_start == d(2026, 1, 1)]
    common = ["--database-url", url, "--today", "2027-03-22"]
    assert archive_bills.main(common + ["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "2026-01: would move 4 bills" in out and "would move 4 bills of 1 month(s)" in out
    assert st.list_archived_months() == []
    assert archive_bills.main(common) == 0
    assert "[1/1] 2026-01: moved 4 bills" in capsys.readouterr().out
    assert all(st.get_bill(b.id) is None for b in jan)
    assert archive_bills.main(common + ["--list"]) == 0
    assert "2026-01: 4 bills" in capsys.readouterr().out
    assert archive_bills.main(common + ["--find", jan[0].psid]) == 0
    assert f"PSID {jan[0].psid}" in capsys.readouterr().out
    assert archive_bills.main(common + ["--account", jan[1].account_code]) == 0
    assert "1 archived bill(s)" in capsys.readouterr().out
    assert archive_bills.main(common + ["--restore", "2026-01"]) == 0
    assert "2026-01: restored 4 bills" in capsys.readouterr().out
    assert [st.get_bill(b.id).status for b in jan] == ["paid"] * 4


def test_bad_input_exits_2_naming_the_field(url, capsys):
    assert archive_bills.main(["--database-url", url, "--month", "2026-02-30"]) == 2
    assert "month" in capsys.readouterr().err
    assert archive_bills.main(["--database-url", url, "--months", "1"]) == 2
    assert "at least 3" in capsys.readouterr().err
