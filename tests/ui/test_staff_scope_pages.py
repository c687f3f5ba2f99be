"""Municipal staff scoped to their areas, through the pages (issue 14): the demo `agent` sees only the
consumer units and bills of their union councils on every page they may open; the head office
assigns staff areas on the Users page, and the agent's next page shows the new areas."""
from __future__ import annotations

import sqlite3

import pytest

from services.clock import today as app_today
from services.models import AccountFilter, BillFilter
from services.storage.sql_backend import SqlStorage
from tests.ui.seeded import signed_in
from ui.registry import PAGES

N_UNITS = 400


@pytest.fixture(scope="session")
def municipal_template(tmp_path_factory):
    from scripts import seed_demo

    path = tmp_path_factory.mktemp("ui_municipal") / "template.db"
    storage = SqlStorage(f"sqlite:///{path}")
    seed_demo.seed(storage, N_UNITS, app_today(), quiet=True, utility="municipal")
    storage.dispose()
    return path


@pytest.fixture
def town_url(municipal_template, tmp_path) -> str:
    target = tmp_path / "town.db"
    src, dst = sqlite3.connect(municipal_template), sqlite3.connect(target)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{target}"


def _agent_paths(st: SqlStorage) -> list[str]:
    return [a.path for a in st.list_user_areas(st.get_user(username="agent").id)]


def _inside(path: str, tops: list[str]) -> bool:
    return any(path == t or path.startswith(t + "/") for t in tops)


def _rows(at) -> list[dict]:
    return at.dataframe[0].value.to_dict("records")


def test_the_agent_sees_only_their_union_councils(town_url, monkeypatch, tmp_path):
    st = SqlStorage(town_url)
    mine = _agent_paths(st)
    assert mine and all(p.count("/") == 1 for p in mine)  # union councils
    theirs = sum(st.list_accounts(AccountFilter(area_id=st.get_area(path=p).id), 0, 1).total for p in mine)
    everyone = st.list_accounts(AccountFilter(), 0, 1).total
    assert 0 < theirs < everyone
    at = signed_in(town_url, monkeypatch, tmp_path, "agent", "ui/accounts.py")
    assert any(f"of {theirs:,}" in c.value for c in at.caption), [c.value for c in at.caption]
    assert all(_inside(r["area"], mine) for r in _rows(at))
    at.text_input(key="ac_search").input("SP-").run()  # a search finds nothing outside either
    assert all(_inside(r["area"], mine) for r in _rows(at))
    at.switch_page("ui/bills.py").run()
    assert not at.exception
    bills = _rows(at)
    assert bills and all(_inside(r["area"], mine) for r in bills)
    their_bills = sum(st.list_bills(BillFilter(area_id=st.get_area(path=p).id), 0, 1).total for p in mine)
    assert any(f"of {their_bills:,}" in c.value for c in at.caption), [c.value for c in at.caption]
    assert their_bills < st.list_bills(BillFilter(), 0, 1).total


def test_every_page_an_agent_may_open_renders_scoped(town_url, monkeypatch, tmp_path):
    from services.accounts.roles import ROLES

    at = signed_in(town_url, monkeypatch, tmp_path, "agent")
    role = ROLES["agent"]
    for spec in PAGES:
        if spec.permission not in role.permissions or spec.needs == "meters":
            continue
        at.switch_page(spec.path).run()
        assert not at.exception, (spec.path, at.exception)
        assert not any("do not have access" in e.value for e in at.error), spec.path


def test_the_head_office_assigns_areas_on_the_users_page(town_url, monkeypatch, tmp_path):
    st = SqlStorage(town_url)
    agent = st.get_user(username="agent")
    other = next(a for a in st.list_areas(level=2) if not _inside(a.path, _agent_paths(st)))
    at = signed_in(town_url, monkeypatch, tmp_path, "head", "ui/users.py")
    at.selectbox(key="users_chosen").set_value("agent").run()  # on the first page (users by username)
    assert not at.exception, at.exception
    at.multiselect(key=f"user_areas_pick_{agent.id}").set_value([other.id])
    next(b for b in at.button if b.label == "Save areas").click()
    at.run()
    assert not at.exception, at.exception
    assert any("now works in: " + other.path in s.value for s in at.success)
    assert _agent_paths(st) == [other.path]
    assert st.list_audit(action_prefix="user.areas", entity_id=str(agent.id)).items[0].actor_name == "head"
    at = signed_in(town_url, monkeypatch, tmp_path, "agent", "ui/accounts.py")
    rows = _rows(at)
    assert rows and {r["area"] for r in rows} == {other.path}


def test_the_users_page_is_the_head_offices(town_url, monkeypatch, tmp_path):
    at = signed_in(town_url, monkeypatch, tmp_path, "agent")
    with pytest.raises(ValueError, match="Could not find a navigation page"):  # not in an agent's navigation
        at.switch_page("ui/users.py")


def _open_bill(url, monkeypatch, tmp_path, username, bill_id):
    at = signed_in(url, monkeypatch, tmp_path, username)
    at.switch_page("ui/bills.py")
    at.query_params["bill"] = str(bill_id)
    return at.run()


def test_a_bill_shows_its_psid_and_a_guessed_id_of_another_council_is_not_there(town_url, monkeypatch, tmp_path):
    from services.billing.psid import is_valid, pretty

    st = SqlStorage(town_url)
    mine = _agent_paths(st)
    own = st.list_bills(BillFilter(area_id=st.get_area(path=mine[0]).id), 0, 1).items[0]
    other = next(b for b in st.list_bills(BillFilter(), 0, 200).items if not _inside(b.area_path, mine))
    at = _open_bill(town_url, monkeypatch, tmp_path, "agent", own.id)
    assert not at.exception and is_valid(own.psid)
    assert any(pretty(own.psid) in m.value for m in at.markdown)
    at = _open_bill(town_url, monkeypatch, tmp_path, "agent", other.id)
    assert not at.exception
    assert any(f"Bill {other.id} does not exist" in e.value for e in at.error), [e.value for e in at.error]
    assert not any(pretty(other.psid) in m.value for m in at.markdown)


def test_the_agents_map_shows_only_their_units(town_url, monkeypatch, tmp_path):
    st = SqlStorage(town_url)
    mine = _agent_paths(st)
    at = signed_in(town_url, monkeypatch, tmp_path, "agent", "ui/accounts.py")
    at.toggle(key="ac_map").set_value(True).run()
    assert not at.exception, at.exception
    theirs = sum(st.list_accounts(AccountFilter(area_id=st.get_area(path=p).id, is_active=True), 0, 1).total
                 for p in mine)
    assert any(f"of {theirs:,}" in c.value and "shown" in c.value for c in at.caption), [c.value for c in at.caption]
    everyone = st.list_accounts(AccountFilter(is_active=True), 0, 1).total
    assert theirs < everyone
