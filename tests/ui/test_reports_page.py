"""The Reports page (collection and arrears aging) for the head office and for area-limited staff, and
every page a supervisor or a manager may open renders within their areas."""
from __future__ import annotations

import pytest

from services.accounts.passwords import hash_password
from services.accounts.roles import ROLES
from services.storage.sql_backend import SqlStorage
from tests.factories import ADMIN
from tests.ui.harness import DEMO_PASSWORDS
from tests.ui.seeded import signed_in
from tests.ui.test_staff_scope_pages import municipal_template, town_url  # noqa: F401
from ui.registry import PAGES

PAGE = "ui/reports.py"
PASSWORD = "violet-harbour-compass"


def _staff(url: str, role: str, paths: list[str]) -> str:
    st = SqlStorage(url)
    user = st.create_user(username=f"test.{role}", role=role, password_hash=hash_password(PASSWORD), actor=ADMIN)
    st.set_user_areas(user.id, [st.get_area(path=p).id for p in paths], ADMIN)
    DEMO_PASSWORDS[user.username] = PASSWORD
    return user.username


def test_the_head_office_sees_every_city(town_url, monkeypatch, tmp_path):
    st = SqlStorage(town_url)
    at = signed_in(town_url, monkeypatch, tmp_path, "head", PAGE)
    assert not at.exception, at.exception
    month = at.selectbox(key="rp_month").value
    cities = {r.area_path for r in st.collection_report(month, True)}
    table = at.dataframe[0].value
    assert set(table["code"]) == cities and len(cities) == 5
    assert {m.label for m in at.metric} >= {"Bills", "Due", "Collected", "Collection rate"}
    at.segmented_control(key="rp_level").set_value("Union Council").run()
    assert not at.exception and len(at.dataframe[0].value) == len(st.collection_report(month, False))
    assert set(at.dataframe[1].value["code"]) == {r.area_path for r in st.aging_report(st_today(at), False)}


def st_today(at):
    return at.date_input(key="rp_asof").value


def test_a_supervisor_reports_on_their_union_councils_only(town_url, monkeypatch, tmp_path):
    name = _staff(town_url, "supervisor", ["KSR/KSR-UC01", "KSR/KSR-UC02"])
    at = signed_in(town_url, monkeypatch, tmp_path, name, PAGE)
    assert not at.exception, at.exception
    assert list(at.dataframe[0].value["code"]) == ["KSR"]
    at.segmented_control(key="rp_level").set_value("Union Council").run()
    assert set(at.dataframe[0].value["code"]) <= {"KSR/KSR-UC01", "KSR/KSR-UC02"}


@pytest.mark.parametrize("role", ["supervisor", "manager"])
def test_every_page_of_area_limited_staff_renders(town_url, monkeypatch, tmp_path, role):
    name = _staff(town_url, role, ["LHC"])
    at = signed_in(town_url, monkeypatch, tmp_path, name)
    for spec in PAGES:
        if spec.permission not in ROLES[role].permissions or spec.needs == "meters":
            continue
        if spec.whole_utility:  # not in their navigation
            with pytest.raises(ValueError, match="Could not find a navigation page"):
                at.switch_page(spec.path)
            continue
        at.switch_page(spec.path).run()
        assert not at.exception, (spec.path, at.exception)
        assert not at.error, (spec.path, [e.value for e in at.error])
