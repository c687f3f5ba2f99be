"""The survey file's rules (services/municipal/survey.py), pure: mobiles, GPS, xlsx reading, the plan."""
import datetime as dt
import io
from decimal import Decimal as D

import pytest

from services.errors import MasterDataError
from services.models import Area
from services.municipal.survey import (SURVEY_COLUMNS, AreaIndex, SurveyState, normalize_mobile, plan_survey,
                                       read_survey, validate_survey)

AREAS = AreaIndex.of([Area(id=1, level=1, code="KSR", path="KSR", name="Kasur")],
                     [Area(id=2, level=2, code="UC1", path="KSR/UC1", name="Kot Halim Khan", parent_id=1, kind="Urban")])
ROW = {"survey_id": "sp-1", "survey_timestamp": "2026-03-14 10:32", "city_district": "kasur",
       "uc_name": "KOT HALIM KHAN", "unit_specific_type": "bakery", "survey_category": "small",
       "billing_consumer_name": "Ali", "billing_mobile": "0300 1234567"}


@pytest.mark.parametrize("text,want", [("03001234567", "+923001234567"), ("0300-1234567", "+923001234567"),
                                       ("923451112223", "+923451112223"), ("+923451112223", "+923451112223"),
                                       ("00923001234567", "+923001234567"), ("", None)])
def test_mobiles_are_stored_e164(text, want):
    assert normalize_mobile(text) == want


@pytest.mark.parametrize("text", ["12345", "04235761234", "+923991234567", "0300123456"])
def test_a_landline_or_short_number_is_refused(text):
    with pytest.raises(ValueError):
        normalize_mobile(text)


def test_names_and_words_match_whatever_their_case():
    (u,) = validate_survey([ROW], AREAS, "f.csv")
    assert (u.code, u.area_id, u.unit_type, u.size_category, u.billing_mobile) == ("SP-1", 2, "Bakery", "Small",
                                                                                   "+923001234567")
    assert u.surveyed_at == dt.datetime(2026, 3, 14, 5, 32, tzinfo=dt.timezone.utc) and u.connects_from == dt.date(2026, 3, 1)


def test_gps_needs_both_and_a_house_needs_its_size():
    with pytest.raises(MasterDataError) as err:
        validate_survey([{**ROW, "gps_lat": "31.1"}, {**ROW, "survey_id": "SP-2", "unit_specific_type": "House"}],
                        AREAS, "f.csv")
    assert {(p.row, p.column) for p in err.value.problems} == {(2, "gps_long"), (3, "size_marla")}


def test_a_missing_column_is_named_from_the_header():
    with pytest.raises(MasterDataError, match="column 'uc_name' is missing"):
        validate_survey([{k: v for k, v in ROW.items() if k != "uc_name"}], AREAS, "f.csv")


def test_an_xlsx_file_reads_like_a_csv():
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(list(SURVEY_COLUMNS))
    ws.append([ROW.get(c, "") for c in SURVEY_COLUMNS[:-4]] + [31.1187, 74.4463, "", "yes"])
    buf = io.BytesIO()
    wb.save(buf)
    (u,) = validate_survey(read_survey(buf.getvalue(), "s.xlsx"), AREAS, "s.xlsx")
    assert (u.gps_lat, u.gps_lon) == (D("31.118700"), D("74.446300"))


def test_the_plan_records_only_name_mobile_and_address_changes_in_history():
    (u,) = validate_survey([ROW], AREAS, "f.csv")
    stored = {"account_id": 9, "contact_id": 4, "area_id": 2, "category": "Small", "account_type": "Bakery",
              "is_active": True, "billing_name": "Ali", "billing_address": None, "gps_lat": None, "gps_lon": None,
              "billing_mobile": "+923001234567", "surveyed_at": u.surveyed_at, "unit_type": "Bakery",
              "size_category": "Small"}
    assert plan_survey([u], SurveyState({"SP-1": stored}), plan_id=1).counts()["unchanged"] == 1
    moved = plan_survey([u], SurveyState({"SP-1": {**stored, "billing_name": "Old", "house_type": "Kacha"}}), plan_id=1)
    assert moved.counts() == {"created": 0, "updated": 1, "unchanged": 0, "history": 1}
    assert moved.history == [{"account_id": 9, "field": "billing_name", "old_value": "Old", "new_value": "Ali"}]
