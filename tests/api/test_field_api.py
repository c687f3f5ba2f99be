"""Visits and tickets over the API (issue 15), scoped exactly as the pages: an agent reads and acts in
their union council only (another council's visit or ticket is 404, like an id that does not exist),
lists are filtered and paged in the database, bad input is refused with the pages' messages naming the
field (422), and a customer reads only the tickets of their own accounts and raises one only about
their own bill, as in the portal (visits: 403). The actors come from the real sign-in path
(services/accounts/scopes.py: actor_for)."""
import datetime as dt

import pytest

from services.accounts.scopes import actor_for
from services.field.models import TicketFilter, VisitFilter
from services.models import BillFilter
from tests.api.conftest import build_svc
from tests.api.test_scoped_api import _client
from tests.factories import ADMIN, make_municipal

d = dt.date
MINE, NEIGHBOUR, FAR = "SP-KSR-0000001", "SP-KSR-0000002", "SP-OKR-0000004"


@pytest.fixture
def town(storage, today, tmp_path):
    made = make_municipal(storage)
    svc = build_svc(storage, today, tmp_path)
    clients = {}
    for name, role, area in (("agent1", "agent", "KSR/KSR-UC01"), ("agent9", "agent", "OKR/OKR-UC01"),
                             ("super1", "supervisor", "KSR/KSR-UC01")):
        user = storage.create_user(username=name, role=role, password_hash=None, actor=ADMIN)
        storage.set_user_areas(user.id, [made["areas"][area]], ADMIN)
        clients[name] = _client(svc, actor_for(storage, user))
    return {"svc": svc, "ids": made["accounts"], **clients}


def _fields(resp) -> list[str]:
    return [f["field"] for f in resp.json()["fields"]]


def test_an_agent_logs_and_reads_visits_of_their_council_only(town):
    ids, agent, far = town["ids"], town["agent1"], town["agent9"]
    made = agent.post("/api/visits", json={"account_id": ids[MINE], "outcome": "promised", "notes": "Friday",
                                           "gps_lat": "31.116", "gps_lon": "74.45", "gps_accuracy_m": 8})
    assert made.status_code == 201, made.text
    visit = made.json()
    assert (visit["account_code"], visit["agent_name"], visit["status"], visit["gps_lat"]) == (
        MINE, "agent1", "pending", "31.116000")
    second = agent.post("/api/visits", json={"account_id": ids[NEIGHBOUR], "outcome": "paid"}).json()
    assert second["gps_lat"] is None and second["distance_m"] is None
    page = agent.get("/api/visits", params={"limit": 1}).json()
    assert [v["id"] for v in page["items"]] == [second["id"]] and page["total"] == 2 and page["has_next"]
    only = agent.get("/api/visits", params={"account_id": ids[MINE], "status": "pending"}).json()
    assert [v["id"] for v in only["items"]] == [visit["id"]] and only["total"] == 1
    assert agent.get(f"/api/visits/{visit['id']}").json()["notes"] == "Friday"
    # another union council's agent: nothing listed, and the id is 404 exactly as an unknown one
    assert far.get("/api/visits").json()["total"] == 0
    unknown = far.get("/api/visits/999999")
    hidden = far.get(f"/api/visits/{visit['id']}")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json()["error"] == unknown.json()["error"] == "not_found"
    # ... and may not log one there (the unit is not in their areas)
    assert far.post("/api/visits", json={"account_id": ids[MINE], "outcome": "paid"}).status_code == 404
    assert far.get("/api/visits", params={"account_id": ids[MINE]}).json()["items"] == []
    assert town["svc"].db.storage.get_visit(visit["id"]).agent_name == "agent1"


def test_a_visit_is_refused_with_the_pages_message_naming_the_field(town):
    ids, agent = town["ids"], town["agent1"]
    bad = agent.post("/api/visits", json={"account_id": ids[MINE], "outcome": "vanished"})
    assert bad.status_code == 422 and _fields(bad) == ["outcome"]
    assert "'vanished' is not an outcome" in bad.json()["message"] and "Promised to pay" in bad.json()["message"]
    off_map = agent.post("/api/visits", json={"account_id": ids[MINE], "outcome": "paid", "gps_lat": 91,
                                              "gps_lon": 74})
    assert off_map.status_code == 422 and _fields(off_map) == ["gps_lat"]
    assert "outside -90..90" in off_map.json()["message"]
    long = agent.post("/api/visits", json={"account_id": ids[MINE], "outcome": "paid", "notes": "x" * 2001})
    assert long.status_code == 422 and _fields(long) == ["notes"] and "2000" in long.json()["message"]
    half = agent.post("/api/visits", json={"account_id": ids[MINE], "outcome": "paid", "gps_lat": 31})
    assert half.status_code == 422
    assert town["svc"].db.storage.list_visits(VisitFilter(), 0, 5).total == 0  # nothing stored


def test_tickets_are_raised_listed_and_scoped_as_the_pages(town):
    ids, agent, far, sup = town["ids"], town["agent1"], town["agent9"], town["super1"]
    visit = agent.post("/api/visits", json={"account_id": ids[MINE], "outcome": "closed"}).json()
    made = agent.post("/api/tickets", json={
        "account_id": ids[MINE], "kind": "closed_business", "description": "Shutters down for a month",
        "visit_id": visit["id"], "proposed_change": {"deactivate": True}})
    assert made.status_code == 201, made.text
    ticket = made.json()
    assert ticket["source"] == "visit" and ticket["proposed_change"] == {"active": False}
    assert ticket["assignee_name"] == "super1" and ticket["status"] == "pending" and ticket["notes"] == []
    other = agent.post("/api/tickets", json={"account_id": ids[NEIGHBOUR], "kind": "meter_fault",
                                             "description": "Meter glass broken"}).json()
    queue = sup.get("/api/tickets", params={"status": "pending"}).json()
    assert [t["id"] for t in queue["items"]] == [ticket["id"], other["id"]] and queue["total"] == 2  # oldest first
    assert [t["id"] for t in sup.get("/api/tickets", params={"kind": "meter_fault"}).json()["items"]] == [other["id"]]
    assert sup.get("/api/tickets", params={"visit_id": visit["id"]}).json()["total"] == 1
    assert sup.get(f"/api/tickets/{ticket['id']}").json()["kind"] == "closed_business"
    # another council: nothing listed, 404 for the id, and no ticket about a unit it cannot see
    assert far.get("/api/tickets").json()["total"] == 0
    assert far.get(f"/api/tickets/{ticket['id']}").status_code == far.get("/api/tickets/999999").status_code == 404
    assert far.post("/api/tickets", json={"account_id": ids[MINE], "kind": "other",
                                          "description": "Guessing an id"}).status_code == 404
    # the pages' checks and messages
    bad = agent.post("/api/tickets", json={"account_id": ids[MINE], "kind": "gossip", "description": "Something"})
    assert bad.status_code == 422 and _fields(bad) == ["kind"] and "'gossip' is not a ticket kind" in bad.text
    short = agent.post("/api/tickets", json={"account_id": ids[MINE], "kind": "other", "description": "bad"})
    assert short.status_code == 422 and _fields(short) == ["description"] and "too short" in short.text
    phone = agent.post("/api/tickets", json={"account_id": ids[MINE], "kind": "other", "description": "New owner",
                                             "proposed_change": {"contact": {"phone": "call me"}}})
    assert phone.status_code == 422 and _fields(phone) == ["phone"]
    wrong_visit = agent.post("/api/tickets", json={"account_id": ids[NEIGHBOUR], "kind": "other",
                                                   "description": "From the wrong visit", "visit_id": visit["id"]})
    assert wrong_visit.status_code == 422 and _fields(wrong_visit) == ["visit"]
    assert sup.get("/api/tickets").json()["total"] == 2  # every status unless asked


def test_a_customer_reads_only_their_own_tickets_and_raises_one_about_their_bill(town, storage):
    svc, ids, agent = town["svc"], town["ids"], town["agent1"]
    svc.db.generate_bills_for_month(d(2026, 10, 1), d(2026, 10, 31), d(2026, 11, 20), actor=ADMIN)
    bills = {b.account_code: b for b in svc.db.list_bills(BillFilter(), 0, 50).items}
    user = storage.create_user(username="shop1", role="customer", password_hash=None, actor=ADMIN)
    storage.link_customer_account(user.id, ids[MINE], ADMIN)
    me = _client(svc, actor_for(storage, user))
    staff_ticket = agent.post("/api/tickets", json={"account_id": ids[MINE], "kind": "wrong_category",
                                                    "description": "Bakery now, not a shop",
                                                    "proposed_change": {"category": "Medium"}}).json()
    neighbours = agent.post("/api/tickets", json={"account_id": ids[NEIGHBOUR], "kind": "other",
                                                  "description": "Neighbour's own matter"}).json()
    made = me.post("/api/tickets", json={"bill_id": bills[MINE].id, "kind": "wrong_reading",
                                         "description": "The reading is higher than my meter shows"})
    assert made.status_code == 201, made.text
    mine = made.json()
    assert mine["source"] == "portal" and mine["account_id"] == ids[MINE] and mine["raised_by_name"] is None
    listed = me.get("/api/tickets").json()
    assert sorted(t["id"] for t in listed["items"]) == sorted([staff_ticket["id"], mine["id"]])
    assert all(t["proposed_change"] is None and t["assignee_name"] is None for t in listed["items"])  # as the portal
    assert me.get(f"/api/tickets/{neighbours['id']}").status_code == me.get("/api/tickets/999999").status_code == 404
    assert me.get(f"/api/tickets/{mine['id']}").json()["notes"] is None
    # only about their own bill, of the portal's kinds, proposing nothing
    assert me.post("/api/tickets", json={"bill_id": bills[NEIGHBOUR].id, "kind": "other",
                                         "description": "Not my bill at all"}).status_code == 404
    no_bill = me.post("/api/tickets", json={"account_id": ids[MINE], "kind": "other", "description": "No bill named"})
    assert no_bill.status_code == 422 and _fields(no_bill) == ["bill_id"]
    office = me.post("/api/tickets", json={"bill_id": bills[MINE].id, "kind": "duplicate_unit",
                                           "description": "There are two of me"})
    assert office.status_code == 422 and _fields(office) == ["kind"]
    change = me.post("/api/tickets", json={"bill_id": bills[MINE].id, "kind": "other", "description": "Close me",
                                           "proposed_change": {"deactivate": True}})
    assert change.status_code == 422 and _fields(change) == ["proposed_change"]
    # visits are staff work: 403
    assert me.get("/api/visits").status_code == 403 and me.get("/api/visits/1").status_code == 403
    assert me.post("/api/visits", json={"account_id": ids[MINE], "outcome": "paid"}).status_code == 403


def test_a_ticket_raised_from_a_visit_carries_its_photo_and_remote_url(town):
    from services.field.models import NewVisit

    ids, agent, storage = town["ids"], town["agent1"], town["svc"].db.storage
    url = "https://res.cloudinary.com/demo/image/upload/v1/meterline/meter_photos/2026-11/v.jpg"
    now = dt.datetime(2026, 11, 22, 9, tzinfo=dt.timezone.utc)
    visit = storage.create_visit(NewVisit(account_id=ids[MINE], outcome="refused", visited_at=now,
                                          visit_date=now.date(), photo_ref="2026-11/v.jpg", photo_url=url), ADMIN)
    assert agent.get(f"/api/visits/{visit.id}").json()["photo_url"] == url
    ticket = agent.post("/api/tickets", json={"account_id": ids[MINE], "kind": "other", "visit_id": visit.id,
                                              "description": "Owner refused entry"}).json()
    assert ticket["attachments"] == 1
    assert [(n["photo_ref"], n["photo_url"]) for n in ticket["notes"]] == [("2026-11/v.jpg", url)]


def test_a_customer_cannot_raise_a_staff_ticket_through_the_service(town, storage):
    """The rule is the service's, not the route's: a customer's ticket is the portal's (about a bill)."""
    from services.errors import PermissionDeniedError
    from services.field import service as field

    user = storage.create_user(username="shop2", role="customer", password_hash=None, actor=ADMIN)
    storage.link_customer_account(user.id, town["ids"][MINE], ADMIN)
    with pytest.raises(PermissionDeniedError, match="portal"):
        field.raise_ticket(town["svc"].db, town["ids"][MINE], "wrong_category", "Make me a smaller category",
                           actor=actor_for(storage, user), change={"category": "Small"})
    assert storage.list_tickets(TicketFilter(status=None), 0, 5).total == 0
