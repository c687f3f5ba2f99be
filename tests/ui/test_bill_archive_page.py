"""The Bill archive page (issue 14): the head office previews a month (nothing moves), archives it (the
month is listed with its counts, its bills leave the bills list), finds an archived bill by PSID and by
account, and restores the month (confirmed; the bills are back unchanged). Agents cannot open it."""
from __future__ import annotations

import datetime as dt

import pytest

from scripts.seed_demo import ensure_demo_users
from services.accounts.roles import Permission
from services.clock import today as app_today
from services.models import BillFilter
from services.storage.sql_backend import SqlStorage
from tests.factories import ADMIN, make_municipal, make_service
from tests.ui.seeded import signed_in
from ui.registry import PAGES

PAGE = "ui/bill_archive.py"


def _month(today: dt.date, back: int) -> dt.date:
    i = today.year * 12 + today.month - 1 - back
    return dt.date(i // 12, i % 12 + 1, 1)


def _end(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


@pytest.fixture
def archive_url(tmp_path):
    """Municipal units billed 15 and 14 months ago (the older month paid in full) and last month."""
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    st = SqlStorage(url)
    ensure_demo_users(st, quiet=True, utility="municipal")
    make_municipal(st)
    today = app_today()
    db = make_service(st, today)
    locked = set(st.locked_months())
    old = [m for m in (_month(today, b) for b in range(15, 30)) if f"{m:%Y-%m}" not in locked][:2][::-1]
    for i, first in enumerate(old + [_month(today, 1)]):
        db.generate_bills_for_month(first, _end(first), _end(first) + dt.timedelta(days=15), actor=ADMIN)
        if i == 0:
            for b in st.list_bills(BillFilter(), 0, 50).items:
                db.record_payment(b.id, b.total_amount, paid_on=_end(first) + dt.timedelta(days=5), actor=ADMIN)
    st.dispose()
    return url, f"{old[0]:%Y-%m}"


def test_registered_for_the_head_office():
    spec = {p.path: p for p in PAGES}[PAGE]
    assert spec.permission == Permission.MANAGE_ARCHIVE and spec.whole_utility


def _click(at, label):
    next(b for b in at.button if b.label == label).click()
    return at.run()


def test_archive_find_and_restore_a_month(archive_url, monkeypatch, tmp_path):
    url, month = archive_url
    st = SqlStorage(url)
    paid = [b for b in st.list_bills(BillFilter(), 0, 50).items if f"{b.billing_period_start:%Y-%m}" == month]
    assert len(paid) == 4 and all(b.status == "paid" for b in paid)
    at = signed_in(url, monkeypatch, tmp_path, "admin", PAGE)
    assert at.title[0].value.endswith("Bill archive")
    assert any("No month is archived" in i.value for i in at.info)

    at.text_input(key="archive_month_value").set_value(month)
    at = _click(at, "Preview")
    assert not at.exception and any("would move 4 bills" in i.value and "Nothing was moved" in i.value for i in at.info)
    assert st.list_archived_months() == []

    at = _click(at, "Archive the month")
    assert not at.exception
    assert any(f"{month}: moved 4 bills" in s.value for s in at.success), [s.value for s in at.success]
    table = at.dataframe[0].value
    assert list(table["Month"]) == [month] and list(table["Bills"]) == ["4"]
    assert all(st.get_bill(b.id) is None for b in paid)

    unit = signed_in(url, monkeypatch, tmp_path, "admin", "ui/accounts.py")  # the unit's page lists them too
    unit.query_params["account"] = paid[1].account_code
    unit.run()
    assert not unit.exception
    assert [e.label for e in unit.expander if e.label.startswith("Archived bills")] == ["Archived bills (1)"]

    at.text_input(key="archive_psid").set_value(paid[0].psid)
    at = _click(at, "Search the archive")
    found = at.dataframe[0].value
    assert list(found["PSID"]) == [paid[0].psid] and list(found["Status"]) == ["paid"]
    at.text_input(key="archive_psid").set_value("")
    at.text_input(key="archive_account").set_value(paid[1].account_code)
    at = _click(at, "Search the archive")
    assert list(at.dataframe[0].value["Account"]) == [paid[1].account_code]

    at = _click(at, "Restore the month")  # not confirmed: nothing moves
    assert any("Confirm" in e.value for e in at.error) and len(st.list_archived_months()) == 1
    at.checkbox(key="archive_restore_sure").set_value(True)
    at = _click(at, "Restore the month")
    assert not at.exception and any(f"{month}: restored 4 bills" in s.value for s in at.success)
    assert [st.get_bill(b.id) for b in paid] == paid
    assert [a.action for a in st.list_audit(action_prefix="bill_archive.").items] == ["bill_archive.restore",
                                                                                     "bill_archive.move"]


def test_a_month_inside_the_kept_year_is_refused_by_name(archive_url, monkeypatch, tmp_path):
    url, _ = archive_url
    at = signed_in(url, monkeypatch, tmp_path, "admin", PAGE)
    at.text_input(key="archive_month_value").set_value(f"{_month(app_today(), 1):%Y-%m}")
    at = _click(at, "Archive the month")
    assert any("stay live" in e.value for e in at.error)
    at.text_input(key="archive_month_value").set_value("last year")
    at = _click(at, "Preview")
    assert any("not a month" in e.value for e in at.error)
