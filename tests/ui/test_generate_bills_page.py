"""Admin: month-end bill run (dry run first, then the run with a summary; locked month refused)."""
from services.demo import society as demo
from services.clock import today as app_today
from services.database_service import DatabaseService
from services.models import BillFilter, ReadingFilter
from services.billing.periods import month_key
from services.accounts.roles import Actor
from tests.ui.seeded import plain, seeded_template, seeded_url, signed_in, storage_for  # noqa: F401

PAGE = "ui/generate_bills.py"
MONTH = month_key(demo.reading_dates(app_today())[-1])  # the month whose readings the seed left pending


def _approve_month(url) -> int:
    st = storage_for(url)
    admin = st.get_user(username="admin")
    ids = [r.id for r in st.list_readings(ReadingFilter(status="pending", account_meters_only=True), 0, 1000).items]
    return DatabaseService(st).bulk_approve_unflagged(ids, actor=Actor(admin.id, admin.username, admin.role))


def _metrics(at) -> dict:
    return {m.label: m.value for m in at.metric}


def _click(at, label_start: str):
    next(b for b in at.button if b.label.startswith(label_start)).click()
    return at.run()


def test_dry_run_then_run_then_nothing_left(seeded_url, monkeypatch, tmp_path):
    approved = _approve_month(seeded_url)
    st = storage_for(seeded_url)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.selectbox(key="run_month").set_value(MONTH).run()
    at = _click(at, "Preview (dry run)")
    assert not at.exception
    m = _metrics(at)
    assert m["Bills to create"] == f"{approved:,}" and m["Skipped: already billed"] == "0"
    assert m["Refused: locked month"] == "0" and m["Total amount"].startswith("₹")
    assert st.list_bills(BillFilter(period_month=MONTH)).total == 0  # a dry run writes nothing
    at = _click(at, f"Create {approved:,} bills")
    assert not at.exception
    assert st.list_bills(BillFilter(period_month=MONTH)).total == approved
    assert any("created" in plain(s.value) and f"{approved}" in s.value for s in at.success)
    runs = at.dataframe[0].value
    assert runs["status"][0] == "completed" and runs["created"][0] == approved
    # Running the month again: everything is skipped as already billed, nothing to create.
    at = _click(at, "Preview (dry run)")
    m = _metrics(at)
    assert m["Bills to create"] == "0" and m["Skipped: already billed"] == f"{approved:,}"
    assert any("Nothing to bill" in i.value for i in at.info)
    assert not any(b.label.startswith("Create ") for b in at.button)


def test_locked_month_refused_whole(seeded_url, monkeypatch, tmp_path):
    # A month the page offers (the last 13), locked here: the seeded November 2025 lock leaves the
    # list once the calendar moves past November 2026.
    st = storage_for(seeded_url)
    admin = st.get_user(username="admin")
    DatabaseService(st).lock_month(MONTH, "audited", actor=Actor(admin.id, admin.username, admin.role))
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.selectbox(key="run_month").set_value(MONTH).run()
    assert any(f"{MONTH} is a locked month" in w.value for w in at.warning)
    at = _click(at, "Preview (dry run)")
    assert any(e.value.startswith("Refused:") and f"locked month {MONTH}" in e.value for e in at.error)
    assert not any(b.label.startswith("Create ") for b in at.button)


def test_changed_parameters_need_a_new_preview(seeded_url, monkeypatch, tmp_path):
    _approve_month(seeded_url)
    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.selectbox(key="run_month").set_value(MONTH).run()
    at = _click(at, "Preview (dry run)")
    assert any(b.label.startswith("Create ") for b in at.button)
    other = next(o for o in at.selectbox(key="run_month").options if o != MONTH)
    at.selectbox(key="run_month").set_value(other).run()
    assert not any(b.label.startswith("Create ") for b in at.button)
    assert any("preview again" in c.value for c in at.caption)
