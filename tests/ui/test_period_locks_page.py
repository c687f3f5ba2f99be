"""Admin: the Period locks page locks a month (month + reason, confirmed, audited) and lists the
locks; nothing on it removes one, and a field engineer cannot open it."""
from streamlit.testing.v1 import AppTest

from services.accounts.roles import Actor, Permission
from tests.ui.harness import ROOT
from tests.ui.seeded import seeded_template, seeded_url, signed_in, storage_for  # noqa: F401
from ui.registry import PAGES

PAGE = "ui/period_locks.py"


def _lock(at, month, reason, confirm=True):
    at.text_input(key="lock_month_value").set_value(month)
    at.text_input(key="lock_reason").set_value(reason)
    at.checkbox(key="lock_confirm").set_value(confirm)
    next(b for b in at.button if b.label == "Lock month").click()
    return at.run()


def test_registered_for_manage_locks():
    spec = {p.path: p for p in PAGES}[PAGE]
    assert spec.permission == Permission.MANAGE_LOCKS and spec.section == "Admin"


def test_admin_locks_a_month_and_sees_it_listed(seeded_url, monkeypatch, tmp_path):
    st = storage_for(seeded_url)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    assert at.title[0].value.endswith("Period locks")
    table = at.dataframe[0].value
    assert list(table["Month"]) == ["2025-11"] and list(table["Locked by"]) == ["system"]

    at = _lock(at, "2026-06", "committee audit", confirm=False)  # not confirmed: nothing stored
    assert any("cannot be removed" in e.value for e in at.error)
    assert st.locked_months() == ["2025-11"]

    bills_then = st.count_bills_ending_in("2026-06")
    at = _lock(at, "2026-06", "committee audit")
    assert not at.exception
    assert any("Locked 2026-06" in s.value for s in at.success)
    assert st.locked_months() == ["2025-11", "2026-06"]
    row = at.dataframe[0].value.set_index("Month").loc["2026-06"]
    assert (row["Reason"], row["Locked by"], row["Bills at lock"]) == ("committee audit", "admin", bills_then)
    audit = st.list_audit(action_prefix="period.").items
    assert [(a.action, a.entity_id, a.actor_name) for a in audit] == [("period.lock", "2026-06", "admin")]

    at = _lock(at, "2026-06", "committee audit")  # again: said plainly, nothing changes
    assert any("already locked" in s.value for s in at.success)
    at = _lock(at, "2099-01", "far future")
    assert any("has not begun yet" in e.value for e in at.error)
    at = _lock(at, "June", "committee audit")
    assert any("is not a month" in e.value for e in at.error)
    assert st.locked_months() == ["2025-11", "2026-06"]
    # There is no way to remove a lock through the app.
    assert not any(w in b.label.lower() for b in at.button for w in ("unlock", "remove", "delete"))


def test_engineer_is_refused(seeded_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", seeded_url)
    monkeypatch.setattr("ui.common.current_actor", lambda: Actor(2, "engineer", "field_engineer"))
    at = AppTest.from_file(str(ROOT / PAGE), default_timeout=60).run()
    assert [e.value for e in at.error] == ["You do not have access to this page."]
    assert not at.title and not at.button and not at.dataframe
