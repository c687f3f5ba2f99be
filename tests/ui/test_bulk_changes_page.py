"""The Bulk changes page: a manager previews and marks the open bills of a filter paid (their areas
only), deactivates units with a reason; a missing reason changes nothing."""
from __future__ import annotations

from services.models import AccountFilter, BillFilter
from services.storage.sql_backend import SqlStorage
from tests.ui.seeded import signed_in
from tests.ui.test_reports_page import _staff
from tests.ui.test_staff_scope_pages import municipal_template, town_url  # noqa: F401

PAGE = "ui/bulk_changes.py"


def test_a_manager_marks_open_bills_of_a_union_council_paid(town_url, monkeypatch, tmp_path):
    st = SqlStorage(town_url)
    uc = st.list_areas(level=2)[0]
    name = _staff(town_url, "manager", [uc.path.split("/")[0]])
    open_ = BillFilter(area_id=uc.id, statuses=("pending", "partially_paid", "overdue"))
    before = st.list_bills(open_, 0, 1).total
    assert before > 0
    at = signed_in(town_url, monkeypatch, tmp_path, name, PAGE)
    assert not at.exception, at.exception
    at.selectbox(key="bk_area_1").set_value(st.get_area(path=uc.path.split("/")[0])).run()
    at.selectbox(key="bk_area_2").set_value(uc).run()
    assert any(f"{before:,} open bill(s) would be marked paid" in m.value for m in at.markdown)
    submit = next(b for b in at.button if b.label.startswith("Mark "))
    submit.click()
    at.run()
    assert any("reason" in e.value.lower() for e in at.error)  # no reason: nothing changes
    assert st.list_bills(open_, 0, 1).total == before
    next(t for t in at.text_input if t.label == "Reason (required)").input("bank confirmed the collection")
    next(b for b in at.button if b.label.startswith("Mark ")).click()
    at.run()
    assert not at.exception, at.exception
    assert any(f"Marked {before:,} bill(s) paid" in s.value for s in at.success)
    assert st.list_bills(open_, 0, 1).total == 0


def test_the_head_office_deactivates_units_with_a_reason(town_url, monkeypatch, tmp_path):
    st = SqlStorage(town_url)
    uc = st.list_areas(level=2)[1]
    active = st.list_accounts(AccountFilter(area_id=uc.id, is_active=True), 0, 1).total
    at = signed_in(town_url, monkeypatch, tmp_path, "head", PAGE)
    at.selectbox(key="bk_uarea_1").set_value(st.get_area(path=uc.path.split("/")[0])).run()
    at.selectbox(key="bk_uarea_2").set_value(uc).run()
    assert any(f"{active:,} consumer units would become **inactive**" in m.value for m in at.markdown)
    at.text_input(key="bk_ureason").input("units demolished, survey 2026-11")
    next(b for b in at.button if b.label.startswith("Make ")).click()
    at.run()
    assert not at.exception, at.exception
    assert st.list_accounts(AccountFilter(area_id=uc.id, is_active=True), 0, 1).total == 0
    assert st.list_audit(action_prefix="bulk.accounts_active").items[0].details["reason"].startswith("units demolished")
