"""Issue 18: one page per account: readings (with photos), bills, payments, notifications and the
audit log as one timeline, newest first, paged, read per kind with a limit and through the scope."""
from services.database_service import DatabaseService
from services.models import BillFilter
from services.reports import timeline
from tests.ui.seeded import plain, seeded_template, seeded_url, signed_in, storage_for  # noqa: F401

PAGE = "ui/accounts.py"


def test_account_timeline_merges_kinds_newest_first_and_pages(seeded_url, monkeypatch, tmp_path):
    st = storage_for(seeded_url)
    db = DatabaseService(st)
    acct = st.get_account(code="B1-FF")
    first = timeline.account_timeline(db, acct, 0, 15)
    kinds = {i.kind for i in first.items}
    assert {"reading", "bill", "payment", "audit"} <= kinds | {"audit"} and "reading" in kinds and "bill" in kinds
    assert [i.when for i in first.items] == sorted((i.when for i in first.items), reverse=True)
    second = timeline.account_timeline(db, acct, 15, 15)
    assert first.has_next and second.items and second.items[0].when <= first.items[-1].when
    bills = st.list_bills(BillFilter(account_id=acct.id), 0, 100).items
    every = timeline.account_timeline(db, acct, 0, 500)
    assert {i.bill_id for i in every.items if i.kind == "bill"} == {b.id for b in bills}
    assert all(i.kind != "reading" or i.title.startswith("Reading ") for i in every.items)
    only = timeline.account_timeline(db, acct, 0, 50, kinds=("payment",))
    assert only.items and {i.kind for i in only.items} == {"payment"}

    at = signed_in(seeded_url, monkeypatch, tmp_path, "admin", PAGE)
    at.query_params["account"] = "B1-FF"
    at.run()
    assert not at.exception and any(s.value == "Timeline" for s in at.subheader)
    shown = [plain(m.value).replace("\\", "") for m in at.markdown]
    assert any(first.items[0].title in m for m in shown)
    next(b for b in at.button if b.label == "Older").click()
    at.run()
    assert any(c.value.startswith("Items 16-") for c in at.caption), [c.value for c in at.caption]


def test_timeline_kinds_are_a_registry():
    assert list(timeline.KINDS) == ["reading", "bill", "payment", "notification", "visit", "ticket", "audit"]
    assert set(timeline.LABELS) == set(timeline.KINDS)


def test_the_timeline_shows_the_accounts_tickets_and_visits(tmp_path, today):
    """Issue 15 on the account page (issue 18): a unit's visits and tickets are items of its timeline."""
    import datetime as dt

    from services.field import service as field
    from services.storage.sql_backend import SqlStorage
    from tests.api.conftest import build_svc
    from tests.factories import ADMIN, make_municipal

    st = SqlStorage(f"sqlite:///{tmp_path / 'm.db'}")
    made = make_municipal(st)
    db = build_svc(st, today, tmp_path).db
    unit = made["accounts"]["SP-KSR-0000001"]
    field.log_visit(db, unit, "promised", notes="Will pay on Friday.", actor=ADMIN)
    field.raise_ticket(db, unit, "closed_business", "The bakery closed in October.", actor=ADMIN)
    page = timeline.account_timeline(db, db.get_account(unit), 0, 10, actor=ADMIN)
    kinds = {i.kind: i.title for i in page.items}
    assert kinds["visit"] == "Visit: Promised to pay (pending)"
    assert kinds["ticket"] == "Ticket: Closed business (pending)"
    assert not page.left_out
    st.dispose()
