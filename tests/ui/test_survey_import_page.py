"""The Survey import page and the unit page's survey sections (issue 14): the head office checks a
file (nothing written), imports it, re-imports a change; a bad file is refused naming row and column;
an agent opens a unit of their union council and sees its survey and name/contact history, and a unit
of another council is not there. Agents do not see the import page."""
from __future__ import annotations

import pytest

from services.municipal.survey import SURVEY_COLUMNS
from services.storage.sql_backend import SqlStorage
from tests.ui.seeded import signed_in
from tests.ui.test_staff_scope_pages import municipal_template, town_url  # noqa: F401

PAGE = "ui/survey_import.py"


def survey_row(st: SqlStorage, uc_path: str, survey_id: str, **changes) -> dict:
    uc = st.get_area(path=uc_path)
    city = st.get_area(area_id=uc.parent_id)
    row = {"survey_id": survey_id, "surveyor_name": "Asif", "survey_timestamp": "2026-03-14 10:32:00",
           "city_district": city.name, "uc_name": uc.name, "uc_type": uc.kind or "", "image_portal_url": "",
           "unit_specific_type": "Bakery", "survey_category": "Small", "survey_consumer_name": "Ali Raza",
           "billing_consumer_name": "Ali Raza", "survey_mobile": "03001234567", "billing_mobile": "03001234567",
           "survey_address": "Main Bazar 4", "billing_address": "Main Bazar 4", "house_type": "Pakka",
           "water_connection": "Yes", "size_marla": "3", "gps_lat": "", "gps_long": "", "gps_full_string": "",
           "is_active_portal": "yes"}
    return {**row, **changes}


def csv_of(*rows: dict) -> bytes:
    return ("\n".join([",".join(SURVEY_COLUMNS)] + [",".join(r[c] for c in SURVEY_COLUMNS) for r in rows])
            + "\n").encode()


def _press(at, label: str, name: str | None = None, content: bytes | None = None):
    if name is not None:
        at.file_uploader(key="survey_file").set_value((name, content, "text/csv"))
        at = at.run()
    next(b for b in at.button if b.label == label).click()
    return at.run()


def agent_uc(st: SqlStorage) -> str:
    return st.list_user_areas(st.get_user(username="agent").id)[0].path


def test_check_import_and_reimport_keep_history(town_url, monkeypatch, tmp_path):
    st = SqlStorage(town_url)
    uc = agent_uc(st)
    content = csv_of(survey_row(st, uc, "SP-NEW-0000001"))
    at = signed_in(town_url, monkeypatch, tmp_path, "head", PAGE)
    at = _press(at, "Check the file", "survey.csv", content)
    assert not at.exception, at.exception
    assert {m.label: m.value for m in at.metric}["New"] == "1"
    assert st.get_account(code="SP-NEW-0000001") is None  # a check writes nothing
    at = _press(at, "Import")
    assert any("Imported survey" in s.value for s in at.success)
    acct = st.get_account(code="SP-NEW-0000001")
    assert acct.name == "Ali Raza" and st.account_survey(acct.id).unit_type == "Bakery"
    at = _press(at, "Import", "survey-2.csv", csv_of(survey_row(st, uc, "SP-NEW-0000001",
                                                                billing_consumer_name="Bilal Raza")))
    assert {m.label: m.value for m in at.metric}["History entries"] == "1"
    changes = at.dataframe[0].value.to_dict("records")
    assert changes == [{"consumer unit": "SP-NEW-0000001", "field": "billing name", "was": "Ali Raza",
                        "now": "Bilal Raza"}]


def test_a_bad_file_is_refused_naming_row_and_column(town_url, monkeypatch, tmp_path):
    st = SqlStorage(town_url)
    row = survey_row(st, agent_uc(st), "SP-NEW-0000002", gps_lat="91", gps_long="74.3", survey_category="Tiny")
    at = signed_in(town_url, monkeypatch, tmp_path, "head", PAGE)
    at = _press(at, "Import", "bad.csv", csv_of(row))
    assert any("Nothing was imported" in e.value for e in at.error)
    problems = at.dataframe[0].value.to_dict("records")
    assert {(p["row"], p["column"]) for p in problems} == {(2, "gps_lat"), (2, "survey_category")}
    assert st.get_account(code="SP-NEW-0000002") is None


def test_an_agent_sees_the_survey_and_history_of_their_unit_only(town_url, monkeypatch, tmp_path):
    from services.accounts.roles import SYSTEM
    from services.municipal.survey_import import import_survey

    st = SqlStorage(town_url)
    uc = agent_uc(st)
    import_survey(st, csv_of(survey_row(st, uc, "SP-NEW-0000003")), "a.csv", SYSTEM)
    import_survey(st, csv_of(survey_row(st, uc, "SP-NEW-0000003", billing_mobile="03451112223")), "b.csv", SYSTEM)
    other_uc = next(a.path for a in st.list_areas(level=2) if a.path.split("/")[0] != uc.split("/")[0])
    import_survey(st, csv_of(survey_row(st, other_uc, "SP-NEW-0000004")), "c.csv", SYSTEM)
    at = signed_in(town_url, monkeypatch, tmp_path, "agent", "ui/accounts.py")
    at.query_params["account"] = "SP-NEW-0000003"
    at.run()
    assert not at.exception, at.exception
    assert any("Field survey" in md.value for md in at.markdown)
    history = next(df.value.to_dict("records") for df in at.dataframe if "was" in df.value.columns)
    assert [(h["field"], h["was"], h["now"]) for h in history] == [("billing mobile", "+923001234567",
                                                                     "+923451112223")]
    assert any("Field visits and tickets" in h.value for h in at.subheader)
    at.query_params["account"] = "SP-NEW-0000004"
    at.run()
    assert any("unknown consumer unit SP-NEW-0000004" in e.value for e in at.error), [e.value for e in at.error]
    assert not any("Field survey" in md.value for md in at.markdown)


def test_agents_do_not_import_surveys(town_url, monkeypatch, tmp_path):
    at = signed_in(town_url, monkeypatch, tmp_path, "agent")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(PAGE)
