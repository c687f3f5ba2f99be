"""Field operations on every backend (issue 15): visits and tickets stored, listed (filtered, sorted,
paged in the database), decided once (PENDING -> APPROVED | REJECTED; the database refuses any other
change), approval applying a ticket's proposed change in the same unit of work (audited, nothing on
rejection), and everything scoped: an agent of one union council sees nothing of another."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.accounts.scopes import actor_for
from services.errors import ConflictError, MeterlineError, NotFoundError, ValidationError
from services.field.models import NewTicket, NewVisit, TicketFilter, VisitFilter
from tests.factories import ADMIN, make_municipal

T0 = dt.datetime(2026, 11, 20, 9, 0, tzinfo=dt.timezone.utc)
MINE, OTHER = "SP-KSR-0000001", "SP-OKR-0000004"


@pytest.fixture
def town(storage):
    made = make_municipal(storage)
    users = {}
    for name, role, area in (("agent1", "agent", "KSR/KSR-UC01"), ("agent9", "agent", "OKR/OKR-UC01"),
                             ("super1", "supervisor", "KSR/KSR-UC01")):
        u = storage.create_user(username=name, role=role, password_hash=None, actor=ADMIN)
        storage.set_user_areas(u.id, [made["areas"][area]], ADMIN)
        users[name] = actor_for(storage, u)
    return {**made, **users}


def _visit(account_id, hour=9, **kw):
    at = T0 + dt.timedelta(hours=hour)
    return NewVisit(account_id=account_id, outcome=kw.pop("outcome", "promised"), visited_at=at, visit_date=at.date(),
                    gps_lat=D("31.116000"), gps_lon=D("74.450000"), distance_m=kw.pop("distance_m", D("12.5")),
                    radius_m=100, **kw)


def _ticket(account_id, minutes=0, **kw):
    return NewTicket(account_id=account_id, kind=kw.pop("kind", "wrong_category"),
                     description=kw.pop("description", "Sign says bakery"),
                     raised_at=T0 + dt.timedelta(minutes=minutes), **kw)


def test_visits_are_stored_listed_and_decided_once(storage, town):
    ids, agent = town["accounts"], town["agent1"]
    view = storage.scoped(agent.scope)
    first = view.create_visit(_visit(ids[MINE], 9, photo_ref="2026-11/x.jpg"), agent)
    second = view.create_visit(_visit(ids[MINE], 11, outcome="paid", distance_m=D("250.0"), flagged=True), agent)
    assert first.status == "pending" and first.agent_name == "agent1" and first.account_code == MINE
    assert first.area_path == "KSR/KSR-UC01" and first.distance_m == D("12.5") and first.photo_ref == "2026-11/x.jpg"
    page = view.list_visits(VisitFilter(), 0, 1)
    assert [v.id for v in page.items] == [second.id] and page.total == 2 and page.has_next  # newest first
    assert [v.id for v in view.list_visits(VisitFilter(newest_first=False), 0, 5).items] == [first.id, second.id]
    assert [v.id for v in view.list_visits(VisitFilter(flagged=True), 0, 5).items] == [second.id]
    sup = town["super1"]
    done = storage.scoped(sup.scope).review_visit(first.id, approve=True, reason=None, actor=sup)
    assert done.status == "approved" and done.reviewed_by_name == "super1" and done.reviewed_at is not None
    with pytest.raises(ConflictError):
        storage.review_visit(first.id, approve=False, reason="changed my mind", actor=ADMIN)
    assert storage.get_visit(first.id).status == "approved"
    rejected = storage.review_visit(second.id, approve=False, reason="too far from the unit", actor=ADMIN)
    assert rejected.status == "rejected" and rejected.review_reason == "too far from the unit"
    with pytest.raises(NotFoundError):
        storage.review_visit(999_999, approve=True, reason=None, actor=ADMIN)
    per_agent = storage.visits_per_agent(dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert [(x.agent_name, x.visits, x.approved, x.rejected, x.flagged, x.units) for x in per_agent] == [
        ("agent1", 2, 1, 1, 1, 1)]
    assert {e.action for e in storage.list_audit(entity_type="field_visit").items} == {
        "visit.log", "visit.approve", "visit.reject"}


def test_tickets_queue_oldest_first_with_counts_and_notes(storage, town):
    ids, agent = town["accounts"], town["agent1"]
    view = storage.scoped(agent.scope)
    older = view.create_ticket(_ticket(ids[MINE], 0, photo_refs=("2026-11/a.jpg",)), agent)
    newer = view.create_ticket(_ticket(ids["SP-KSR-0000002"], 30, kind="meter_fault", description="Meter dead"), agent)
    assert older.status == "pending" and older.attachments == 1 and older.raised_by_name == "agent1"
    page = view.list_tickets(TicketFilter(), 0, 10)
    assert [t.id for t in page.items] == [older.id, newer.id] and page.total == 2
    assert [t.id for t in view.list_tickets(TicketFilter(kind="meter_fault"), 0, 10).items] == [newer.id]
    aged = view.list_tickets(TicketFilter(raised_before=T0 + dt.timedelta(minutes=10)), 0, 10)
    assert [t.id for t in aged.items] == [older.id]
    view.add_ticket_comment(older.id, "Checked the sign myself", agent)
    notes = view.list_ticket_notes(older.id)
    assert [(n.body, n.photo_ref) for n in notes] == [(None, "2026-11/a.jpg"), ("Checked the sign myself", None)]
    assert view.get_ticket(older.id).comments == 1
    storage.review_ticket(newer.id, approve=False, reason="duplicate of another", actor=ADMIN)
    assert view.ticket_counts() == {"pending": 1, "approved": 0, "rejected": 1}
    assert view.ticket_counts(area_id=town["areas"]["KSR/KSR-UC02"]) == {"pending": 0, "approved": 0, "rejected": 0}


def test_approval_applies_the_proposed_change_in_the_same_unit_of_work(storage, town):
    ids = town["accounts"]
    cat = storage.create_ticket(_ticket(ids[MINE], proposed_change={"category": "Medium", "account_type": "Bakery"}),
                                ADMIN)
    off = storage.create_ticket(_ticket(ids["SP-KSR-0000002"], kind="closed_business", proposed_change={"active": False}),
                                ADMIN)
    rej = storage.create_ticket(_ticket(ids["SP-KSR-0000003"], proposed_change={"category": "Large"}), ADMIN)
    done = storage.review_ticket(cat.id, approve=True, reason=None, actor=ADMIN)
    assert done.status == "approved" and done.applied == {"category": {"old": "Small", "new": "Medium"}}
    assert storage.get_account(account_id=ids[MINE]).category == "Medium"
    storage.review_ticket(off.id, approve=True, reason=None, actor=ADMIN)
    assert storage.get_account(account_id=ids["SP-KSR-0000002"]).is_active is False
    storage.review_ticket(rej.id, approve=False, reason="survey says residential", actor=ADMIN)
    assert storage.get_account(account_id=ids["SP-KSR-0000003"]).category == "Residential"  # nothing on rejection
    applied = storage.list_audit(action_prefix="ticket.apply").items
    assert {(e.entity_id, e.details["ticket_id"]) for e in applied} == {
        (str(ids[MINE]), cat.id), (str(ids["SP-KSR-0000002"]), off.id)}
    # A correction of a contact the unit does not have refuses the approval: nothing changes.
    bad = storage.create_ticket(_ticket(ids[MINE], proposed_change={"category": "Large", "contact": {"phone": "1"}}),
                                ADMIN)
    with pytest.raises(ValidationError):
        storage.review_ticket(bad.id, approve=True, reason=None, actor=ADMIN)
    assert storage.get_ticket(bad.id).status == "pending"
    assert storage.get_account(account_id=ids[MINE]).category == "Medium"


def test_an_agent_of_another_union_council_sees_nothing(storage, town):
    ids, mine, other = town["accounts"], town["agent1"], town["agent9"]
    visit = storage.scoped(mine.scope).create_visit(_visit(ids[MINE]), mine)
    ticket = storage.scoped(mine.scope).create_ticket(_ticket(ids[MINE], source="visit", visit_id=visit.id), mine)
    storage.scoped(mine.scope).add_ticket_comment(ticket.id, "note", mine)
    view = storage.scoped(other.scope)
    assert view.get_visit(visit.id) is None and view.get_ticket(ticket.id) is None
    assert view.list_visits(VisitFilter(), 0, 50).total == 0
    assert view.list_visits(VisitFilter(account_id=ids[MINE]), 0, 50).items == []
    assert view.list_tickets(TicketFilter(status=None), 0, 50).total == 0
    assert view.ticket_counts() == {"pending": 0, "approved": 0, "rejected": 0}
    assert view.list_ticket_notes(ticket.id) == []
    assert view.visits_per_agent(dt.date(2026, 11, 1), dt.date(2026, 11, 30)) == []
    for call in (lambda: view.review_visit(visit.id, approve=False, reason="x", actor=other),
                 lambda: view.review_ticket(ticket.id, approve=True, reason=None, actor=other),
                 lambda: view.add_ticket_comment(ticket.id, "peek", other),
                 lambda: view.create_visit(_visit(ids[MINE]), other),
                 lambda: view.create_ticket(_ticket(ids[MINE]), other),
                 lambda: view.create_ticket(_ticket(ids[OTHER], visit_id=visit.id), other)):
        with pytest.raises(NotFoundError):
            call()
    assert storage.get_visit(visit.id).status == "pending" and storage.get_ticket(ticket.id).comments == 1
    # the head office sees both councils
    storage.create_visit(_visit(ids[OTHER]), ADMIN)
    assert storage.list_visits(VisitFilter(), 0, 50).total == 2


def test_the_database_refuses_changing_a_decided_ticket_or_what_was_reported(storage, town):
    if not hasattr(storage, "engine"):
        pytest.skip("raw SQL on the SQL backends; Supabase runs the same triggers (tests/supabase)")
    import sqlalchemy as sa

    ids = town["accounts"]
    t = storage.create_ticket(_ticket(ids[MINE]), ADMIN)
    v = storage.create_visit(_visit(ids[MINE]), ADMIN)
    with pytest.raises(sa.exc.DBAPIError, match="FIELD_FIXED"):
        with storage.engine.begin() as conn:
            conn.execute(sa.text("UPDATE tickets SET description = 'rewritten' WHERE id = :i"), {"i": t.id})
    with pytest.raises(sa.exc.DBAPIError, match="FIELD_FIXED"):
        with storage.engine.begin() as conn:
            conn.execute(sa.text("UPDATE field_visits SET distance_m = 1 WHERE id = :i"), {"i": v.id})
    storage.review_ticket(t.id, approve=True, reason=None, actor=ADMIN)
    for sql in ("UPDATE tickets SET status = 'pending', reviewed_at = NULL, reviewed_by_name = NULL WHERE id = :i",
                "UPDATE tickets SET status = 'rejected', review_reason = 'later' WHERE id = :i",
                "DELETE FROM tickets WHERE id = :i"):
        with pytest.raises(sa.exc.DBAPIError, match="FIELD_DECIDED|FIELD_NO_DELETE"):
            with storage.engine.begin() as conn:
                conn.execute(sa.text(sql), {"i": t.id})
    with pytest.raises(sa.exc.DBAPIError, match="(?i)check"):
        with storage.engine.begin() as conn:
            conn.execute(sa.text("UPDATE field_visits SET status = 'done' WHERE id = :i"), {"i": v.id})
    assert storage.get_ticket(t.id).status == "approved"


def test_area_staff_finds_the_nearest_assigned_supervisor(storage, town):
    areas = town["areas"]
    unit_area = storage.get_account(account_id=town["accounts"][MINE]).area_id
    boss = storage.create_user(username="manager_ksr", role="manager", password_hash=None, actor=ADMIN)
    storage.set_user_areas(boss.id, [areas["KSR"]], ADMIN)
    got = storage.area_staff(unit_area, ("supervisor", "manager"))
    assert got == [(town["super1"].user_id, "super1"), (boss.id, "manager_ksr")]  # the council's supervisor first
    assert storage.area_staff(areas["KSR/KSR-UC02"], ("supervisor", "manager")) == [(boss.id, "manager_ksr")]
    assert storage.area_staff(areas["OKR/OKR-UC01"], ("supervisor", "manager")) == []
    assert storage.area_staff(unit_area, ("agent",)) == [(town["agent1"].user_id, "agent1")]


def test_a_visits_and_a_tickets_remote_photo_url_survive_the_round_trip(storage, town):
    """The Cloudinary/Drive URL of a visit photo and of a ticket's attachment is kept next to the
    photo_ref, as a reading's photo_url, and read back by get, list and the ticket's notes."""
    ids, agent = town["accounts"], town["agent1"]
    view = storage.scoped(agent.scope)
    url = "https://res.cloudinary.com/demo/image/upload/v1/meterline/meter_photos/2026-11/x.jpg"
    visit = view.create_visit(_visit(ids[MINE], 9, photo_ref="2026-11/x.jpg", photo_url=url), agent)
    plain = view.create_visit(_visit(ids[MINE], 10, photo_ref="2026-11/y.jpg"), agent)
    assert visit.photo_url == url and view.get_visit(visit.id).photo_url == url and plain.photo_url is None
    assert {v.id: v.photo_url for v in view.list_visits(VisitFilter(), 0, 10).items} == {visit.id: url, plain.id: None}
    ticket = view.create_ticket(_ticket(ids[MINE], 0, visit_id=visit.id, photo_refs=("2026-11/x.jpg", "2026-11/z.jpg"),
                                        photo_urls=(url,)), agent)
    assert ticket.attachments == 2
    notes = view.list_ticket_notes(ticket.id)
    assert [(n.photo_ref, n.photo_url) for n in notes if n.photo_ref] == [("2026-11/x.jpg", url),
                                                                          ("2026-11/z.jpg", None)]
    comment = view.add_ticket_comment(ticket.id, "Checked the meter", agent)
    assert [n.photo_url for n in view.list_ticket_notes(ticket.id) if n.id == comment.id and n.body] == [None]
    if hasattr(storage, "engine"):  # fixed once logged, as the rest of what was reported (database/field_triggers.py)
        import sqlalchemy as sa

        with pytest.raises(sa.exc.DBAPIError, match="FIELD_FIXED"):
            with storage.engine.begin() as conn:
                conn.execute(sa.text("UPDATE field_visits SET photo_url = 'https://elsewhere' WHERE id = :i"),
                             {"i": visit.id})
