"""Field operations through the pages (issue 15), on the municipal demo: the agent logs a visit with a
position (the browser's answer injected into the session, as AppTest runs no JavaScript) and raises a
ticket from it; a supervisor of the same union council approves both (the ticket's proposed category
is applied); the unit's page shows them; an agent of another council sees none of it."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from services.accounts.passwords import hash_password
from services.accounts.roles import Actor
from services.field.models import TicketFilter, VisitFilter
from services.models import AccountFilter
from services.storage.sql_backend import SqlStorage
from tests.ui.harness import app, sign_in
from tests.ui.test_staff_scope_pages import municipal_template, town_url  # noqa: F401 (fixtures)

PASSWORD = "violet-harbour-compass-91"
ADMIN = Actor(None, "pytest", "admin")


def _staff(st: SqlStorage, username: str, role: str, paths: list[str]):
    user = st.create_user(username=username, role=role, password_hash=hash_password(PASSWORD), actor=ADMIN)
    st.set_user_areas(user.id, [st.get_area(path=p).id for p in paths], ADMIN)
    return user


@pytest.fixture
def town(town_url):
    st = SqlStorage(town_url)
    mine = [a.path for a in st.list_user_areas(st.get_user(username="agent").id)]
    other = next(a.path for a in st.list_areas(level=2) if a.path not in mine)
    _staff(st, "super_uc", "supervisor", mine)
    _staff(st, "agent_far", "agent", [other])
    unit = st.list_accounts(AccountFilter(area_id=st.get_area(path=mine[0]).id), 0, 50).items
    unit = next(a for a in unit if a.gps_lat is not None)
    return {"url": town_url, "st": st, "unit": unit}


def _page(url, monkeypatch, tmp_path, username, page, password=None):
    at = sign_in(app(url, monkeypatch, tmp_path, timeout=60), username, password)
    assert not at.exception, at.exception
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_visit_ticket_and_approvals_through_the_pages(town, monkeypatch, tmp_path):
    url, st, unit = town["url"], town["st"], town["unit"]
    at = _page(url, monkeypatch, tmp_path, "agent", "ui/field_visit.py")
    at.text_input[0].input(unit.code).run()
    at.session_state["fv_position"] = (D(str(unit.gps_lat)) + D("0.0100"), unit.gps_lon, D("8.0"))  # ~1.1 km north
    at.run()
    assert any("farther than" in x.value for x in at.warning), [x.value for x in at.warning]
    at.radio[0].set_value("promised").run()
    at.text_area[0].input("Owner promised to pay on Friday").run()
    next(b for b in at.button if b.label == "Save visit").click().run()
    assert not at.exception, at.exception
    visit = st.list_visits(VisitFilter(account_id=unit.id), 0, 5).items[0]
    assert visit.flagged and visit.distance_m > 1000 and visit.agent_name == "agent" and visit.outcome == "promised"
    assert any(f"Saved visit #{visit.id}" in s.value for s in at.success)
    # raise a ticket from it, proposing a new category
    at.text_area(key=f"fv_ticket_{visit.id}_desc").input("Unit is a bakery now, billed in the wrong category")
    at.text_input(key=f"fv_ticket_{visit.id}_cat").input("Medium")  # a form: values go in with the submit
    at.button(key=f"FormSubmitter:fv_ticket_{visit.id}-Raise ticket").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    ticket = st.list_tickets(TicketFilter(account_id=unit.id), 0, 5).items[0]
    assert ticket.visit_id == visit.id and ticket.proposed_change == {"category": "Medium"}
    # assigned to a supervisor of the unit's union council (the demo roster has one before super_uc)
    assert (ticket.assignee_id, ticket.assignee_name) == st.area_staff(unit.area_id, ("supervisor", "manager"))[0]
    assert st.get_user(user_id=ticket.assignee_id).role == "supervisor"

    # another union council's agent sees nothing of it
    far = _page(url, monkeypatch, tmp_path, "agent_far", "ui/tickets.py", PASSWORD)
    assert any("No tickets" in x.value for x in far.info)
    far.switch_page("ui/visits.py").run()
    assert not any(str(visit.id) in str(df.value) for df in far.dataframe)

    # the supervisor of the council approves both
    sup = _page(url, monkeypatch, tmp_path, "super_uc", "ui/tickets.py", PASSWORD)
    assert sup.metric[0].value == "1"
    next(b for b in sup.button if b.label.startswith("Approve")).click().run()
    assert not sup.exception, sup.exception
    assert st.get_ticket(ticket.id).status == "approved"
    assert st.get_account(account_id=unit.id).category == "Medium"
    sup.switch_page("ui/visits.py").run()
    next(b for b in sup.button if b.label == "Approve visit").click().run()
    assert not sup.exception, sup.exception
    assert st.get_visit(visit.id).status == "approved"

    # the unit's page shows them
    sup.switch_page("ui/accounts.py")
    sup.query_params["account"] = unit.code
    sup.run()
    assert not sup.exception, sup.exception
    assert any(x.value == "Field visits and tickets" for x in sup.subheader)
    shown = " ".join(str(df.value.to_dict("records")) for df in sup.dataframe)
    assert f"'visit': {visit.id}" in shown and f"'ticket': {ticket.id}" in shown


def test_a_refused_location_is_said_plainly():
    from services.field.service import position_from_browser

    got, msg = position_from_browser({"error": {"code": 1, "message": "User denied Geolocation"}})
    assert got is None and "refused to share its location" in msg
    got, msg = position_from_browser({"coords": {"latitude": 31.1, "longitude": 74.4, "accuracy": 12.3}})
    assert got == (D("31.100000"), D("74.400000"), D("12.3")) and msg is None
    assert position_from_browser(None) == (None, None)


def test_tickets_are_raised_from_a_bill_and_from_the_unit_page(town, monkeypatch, tmp_path):
    from services.models import BillFilter

    url, st, unit = town["url"], town["st"], town["unit"]
    bill = st.list_bills(BillFilter(account_id=unit.id), 0, 1).items[0]
    at = _page(url, monkeypatch, tmp_path, "agent", "ui/bills.py")
    at.query_params["bill"] = str(bill.id)
    at.run()
    key = f"bill_ticket_{bill.id}"
    at.selectbox(key=f"{key}_kind").set_value("payment_not_posted")
    at.text_area(key=f"{key}_desc").input("Paid at the bank on the 5th, still shown as due")
    at.button(key=f"FormSubmitter:{key}-Raise ticket").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    got = st.list_tickets(TicketFilter(account_id=unit.id), 0, 5).items
    assert [(t.source, t.bill_id, t.kind) for t in got] == [("bill", bill.id, "payment_not_posted")]

    at.switch_page("ui/accounts.py")
    at.query_params.clear()
    at.query_params["account"] = unit.code
    at.run()
    key = f"unit_ticket_{unit.id}"
    at.selectbox(key=f"{key}_kind").set_value("meter_fault")
    at.text_area(key=f"{key}_desc").input("Shop closed for good, shutters down")
    at.checkbox(key=f"{key}_off").check()
    at.button(key=f"FormSubmitter:{key}-Raise ticket").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    newest = st.list_tickets(TicketFilter(account_id=unit.id, oldest_first=False), 0, 1).items[0]
    assert (newest.source, newest.kind, newest.proposed_change) == ("unit", "meter_fault", {"active": False})


def test_pages_show_the_remote_copy_of_a_photo_this_server_does_not_hold(town, monkeypatch, tmp_path):
    """A visit's and a ticket attachment's Cloudinary/Drive URL is shown where the local copy is missing
    (another server, a cleaned photo directory), as a meter photo's is."""
    import datetime as dt

    from services.field.models import NewTicket, NewVisit

    st, unit = town["st"], town["unit"]
    agent = st.get_user(username="agent")
    actor = Actor(agent.id, agent.username, agent.role)
    url = "https://res.cloudinary.com/demo/image/upload/v1/meterline/meter_photos/2026-11/gone.jpg"
    now = dt.datetime(2026, 11, 22, 9, 0, tzinfo=dt.timezone.utc)
    visit = st.create_visit(NewVisit(account_id=unit.id, outcome="refused", visited_at=now, visit_date=now.date(),
                                     photo_ref="2026-11/gone.jpg", photo_url=url), actor)
    ticket = st.create_ticket(NewTicket(account_id=unit.id, kind="other", description="Owner refused entry",
                                        raised_at=now, visit_id=visit.id, source="visit",
                                        photo_refs=(visit.photo_ref,), photo_urls=(url,)), actor)

    def images(at):
        return [img.url for el in at.get("image") for img in el.proto.imgs]

    sup = _page(town["url"], monkeypatch, tmp_path, "super_uc", "ui/visits.py", PASSWORD)
    pick = sup.selectbox(key="vv_pick")
    pick.set_value(next(v for v in pick.options if f"#{visit.id} " in v)).run()
    assert url in images(sup), images(sup)
    sup.switch_page("ui/tickets.py").run()
    assert not sup.exception, sup.exception
    assert f"#{ticket.id}" in str([s.options for s in sup.selectbox]) and url in images(sup), images(sup)
    sup.switch_page("ui/accounts.py")
    sup.query_params["account"] = unit.code
    sup.run()
    assert url in images(sup), images(sup)  # the unit's timeline


@pytest.mark.parametrize("cloud_answers", [True, False], ids=["copied", "copy-failed"])
def test_the_visit_page_keeps_the_cloud_url_or_says_the_copy_failed(town, monkeypatch, tmp_path, cloud_answers):
    import io

    from PIL import Image

    from ui.common import services

    url, st, unit = town["url"], town["st"], town["unit"]
    at = _page(url, monkeypatch, tmp_path, "agent", "ui/field_visit.py")
    uploads = []

    class Cloud:
        name = "fake-cloud"

        def upload(self, path, public_id):
            uploads.append((path.is_file(), public_id))
            return f"https://cdn.example.test/{public_id}" if cloud_answers else None

    monkeypatch.setattr(services(), "remote_photos", Cloud())
    at.text_input[0].input(unit.code).run()
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (9, 99, 199)).save(buf, "JPEG")
    at.file_uploader[0].set_value(("unit.jpg", buf.getvalue(), "image/jpeg"))
    next(b for b in at.button if b.label == "Save visit").click().run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    visit = st.list_visits(VisitFilter(account_id=unit.id), 0, 5).items[0]
    assert visit.photo_ref and uploads == [(True, visit.photo_ref)]
    failed = any("cloud copy failed" in c.value for c in at.caption)
    if cloud_answers:
        assert visit.photo_url == f"https://cdn.example.test/{visit.photo_ref}" and not failed
    else:
        assert visit.photo_url is None and failed
