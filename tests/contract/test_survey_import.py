"""The municipal survey import on every backend (issue 14): all or nothing with row and column named;
a re-import updates what changed and keeps the history of billing name / mobile / address; the
survey's own words (unit type, size category) are stored; area-limited staff read a unit's survey
and history only in their areas, and may not import."""
import datetime as dt
from decimal import Decimal as D

import pytest

from services.accounts.scopes import actor_for
from services.errors import MasterDataError, NotFoundError, PermissionDeniedError
from services.models import AccountFilter
from services.municipal.survey import SURVEY_COLUMNS
from services.municipal.survey_import import import_survey
from tests.factories import ADMIN, make_municipal, make_service

ROW = {"survey_id": "SP-KSR-0000101", "surveyor_name": "Asif", "survey_timestamp": "2026-03-14 10:32:00",
       "city_district": "Kasur", "uc_name": "KSR-UC01", "uc_type": "Urban", "image_portal_url": "survey/101.jpg",
       "unit_specific_type": "Bakery", "survey_category": "Small", "survey_consumer_name": "Ali Raza",
       "billing_consumer_name": "Ali Raza", "survey_mobile": "0300-1234567", "billing_mobile": "03001234567",
       "survey_address": "Main Bazar 4", "billing_address": "Main Bazar 4", "house_type": "Pakka",
       "water_connection": "Yes", "size_marla": "3.5", "gps_lat": "31.118700", "gps_long": "74.446300",
       "gps_full_string": "31.1187 74.4463 190 5", "is_active_portal": "yes"}


def csv_of(*rows: dict) -> bytes:
    lines = [",".join(SURVEY_COLUMNS)] + [",".join(r.get(c, "") for c in SURVEY_COLUMNS) for r in rows]
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def town(storage, today):
    made = make_municipal(storage)
    return make_service(storage, today), made


def test_a_new_unit_is_stored_with_its_survey_words_contact_and_connection(storage, town):
    db, made = town
    house = {**ROW, "survey_id": "SP-KSR-0000102", "unit_specific_type": "House", "survey_category": "Medium",
             "size_marla": "7", "billing_mobile": "+923331234567"}
    out = import_survey(db.storage, csv_of(ROW, house), "survey.csv", ADMIN)
    assert (out.created, out.updated, out.unchanged, out.history) == (2, 0, 0, 0)
    acct = storage.get_account(code="SP-KSR-0000101")
    assert acct.area_id == made["areas"]["KSR/KSR-UC01"] and (acct.category, acct.account_type) == ("Small", "Bakery")
    assert acct.contact_name == "Ali Raza" and acct.contact_phone == "+923001234567"
    assert (acct.gps_lat, acct.gps_lon) == (D("31.118700"), D("74.446300"))
    sv = storage.account_survey(acct.id)
    assert (sv.unit_type, sv.size_category, sv.size_marla, sv.survey_mobile) == ("Bakery", "Small", D("3.5"),
                                                                               "+923001234567")
    assert sv.surveyed_at == dt.datetime(2026, 3, 14, 5, 32, tzinfo=dt.timezone.utc)  # Asia/Karachi is UTC+5
    conn = storage.service_connection(acct.id, "sanitation")
    assert conn.started_on == dt.date(2026, 3, 1) and conn.tariff_plan_id == made["plan_id"]
    house_acct = storage.get_account(code="SP-KSR-0000102")
    assert (house_acct.category, house_acct.account_type) == ("Residential", "5 to 10 Marla")  # the plan's words
    assert storage.account_survey(house_acct.id).unit_type == "House"
    assert storage.list_audit(action_prefix="survey.import").items[0].details["created"] == 2


def test_a_reimport_updates_what_changed_and_keeps_the_history(storage, town):
    db, _ = town
    import_survey(db.storage, csv_of(ROW), "survey.csv", ADMIN)
    again = import_survey(db.storage, csv_of(ROW), "survey.csv", ADMIN)
    assert (again.created, again.updated, again.unchanged, again.history) == (0, 0, 1, 0)
    moved = {**ROW, "billing_consumer_name": "Bilal Raza", "billing_mobile": "03451112223",
             "house_type": "Semi-Pakka"}
    out = import_survey(db.storage, csv_of(moved), "survey-2.csv", ADMIN)
    assert (out.created, out.updated, out.unchanged, out.history) == (0, 1, 0, 2)
    acct = storage.get_account(code="SP-KSR-0000101")
    assert (acct.name, acct.contact_name, acct.contact_phone) == ("Bilal Raza", "Bilal Raza", "+923451112223")
    assert storage.account_survey(acct.id).house_type == "Semi-Pakka"
    history = {(c.field, c.old_value, c.new_value) for c in storage.list_account_history(acct.id)}
    assert history == {("billing_name", "Ali Raza", "Bilal Raza"), ("billing_mobile", "+923001234567", "+923451112223")}
    change = storage.list_account_history(acct.id)[0]
    assert change.source == "survey import: survey-2.csv" and change.changed_by_name == ADMIN.username


def test_a_bad_file_stores_nothing_and_names_every_row_and_column(storage, town):
    db, _ = town
    bad = [ROW,
           {**ROW, "survey_id": "SP-KSR-0000103", "gps_lat": "74.4463", "gps_long": "31.1187"},  # swapped
           {**ROW, "survey_id": "SP-KSR-0000104", "survey_category": "Huge"},
           ROW,  # duplicate survey id
           {**ROW, "survey_id": "SP-KSR-0000105", "billing_mobile": "12345"},
           {**ROW, "survey_id": "SP-KSR-0000106", "uc_name": "Nowhere"}]
    with pytest.raises(MasterDataError) as err:
        import_survey(db.storage, csv_of(*bad), "bad.csv", ADMIN)
    where = {(p.row, p.column) for p in err.value.problems}
    assert where == {(3, "gps_lat"), (3, "gps_long"), (4, "survey_category"), (5, "survey_id"),
                     (6, "billing_mobile"), (7, "uc_name")}
    assert "row 5, column 'survey_id'" in str(err.value) and "already on row 2" in str(err.value)
    assert storage.get_account(code="SP-KSR-0000101") is None  # the good row was not stored either
    assert storage.list_audit(action_prefix="survey.import").items == []


def test_area_limited_staff_read_survey_and_history_only_in_their_areas_and_may_not_import(storage, town):
    db, made = town
    import_survey(db.storage, csv_of(ROW, {**ROW, "survey_id": "SP-OKR-0000107", "city_district": "Okara",
                                   "uc_name": "OKR-UC01"}), "survey.csv", ADMIN)
    import_survey(db.storage, csv_of({**ROW, "billing_address": "Railway Road 9"}), "survey-2.csv", ADMIN)
    user = storage.create_user(username="agent1", role="agent", password_hash=None, actor=ADMIN)
    storage.set_user_areas(user.id, [made["areas"]["KSR/KSR-UC01"]], ADMIN)
    agent = actor_for(storage, user)
    view = storage.scoped(agent.scope)
    mine, other = storage.get_account(code="SP-KSR-0000101"), storage.get_account(code="SP-OKR-0000107")
    assert view.account_survey(mine.id).survey_id == "SP-KSR-0000101"
    assert [c.new_value for c in view.list_account_history(mine.id)] == ["Railway Road 9"]
    for call in (view.account_survey, view.list_account_history):
        with pytest.raises(NotFoundError):
            call(other.id)  # as if it did not exist, id guessing included
    with pytest.raises(PermissionDeniedError):
        view.survey_state(["SP-OKR-0000107"])
    with pytest.raises(PermissionDeniedError):
        import_survey(db.storage, csv_of(ROW), "survey.csv", agent)  # agents have no IMPORT_SURVEY
    with pytest.raises(PermissionDeniedError):  # whatever the role, a scoped view refuses the write
        view.apply_survey(None, "x", ADMIN)
    assert storage.list_accounts(AccountFilter(), 0, 50).total == 7
