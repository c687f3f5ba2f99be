"""The municipal demo (Suthra Punjab): deterministic by index, realistic fields and shares."""
import ast
import datetime as dt
import math
import re
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from services.demo import municipal as m
from services.demo.common import PAYMENT_BEHAVIOURS

TODAY = dt.date(2026, 11, 22)
N = 3000


@pytest.fixture(scope="module")
def sample():
    return list(m.units(N, today=TODAY))


def test_chunks_equal_the_whole_and_do_not_depend_on_n():
    whole = list(m.units(600, today=TODAY))
    assert list(m.units(600, 0, 250, today=TODAY)) + list(m.units(600, 250, 600, today=TODAY)) == whole
    assert list(m.units(300_000, 250, 260, today=TODAY)) == whole[250:260]
    tail = list(m.units(300_000, 299_990, 300_000, today=TODAY))
    assert [u.index for u in tail] == list(range(299_990, 300_000))
    assert tail == [m.unit_at(i, today=TODAY) for i in range(299_990, 300_000)]
    assert list(m.units(600, 590, 700, today=TODAY)) == whole[590:]


def test_survey_ids_are_unique_well_formed_and_map_back_to_the_index():
    # Why unique for every N: the 7 digits are (index * MULT + OFFSET) mod 10**7 with MULT coprime
    # with 10**7, an affine bijection of 0..10**7-1, so distinct indexes give distinct digits
    # (whatever the tehsil prefix). The premise is checked here; uniqueness on 20,000 ids as well.
    assert math.gcd(m._ID_MULT, m._ID_MOD) == 1
    ids = [m.survey_id_for(i) for i in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert len({i[-7:] for i in ids}) == len(ids)
    pattern = re.compile(r"SP-(LHC|KSR|SKP|OKR|PTK)-\d{7}")
    assert all(pattern.fullmatch(i) for i in ids)
    for i in (0, 1, 2999, 123_456, 299_999):
        assert m.unit_index_of(m.survey_id_for(i)) == i
        assert m.unit_index_of(m.survey_id_for(i).lower()) == i
    assert m.unit_index_of("SP-KSR-1204311") is None          # index 0 lives in another tehsil
    assert m.unit_index_of("B17-FF") is None and m.unit_index_of("") is None
    with pytest.raises(ValueError):
        m.survey_id_for(m.MAX_UNITS)


def test_account_fields_match_the_survey_and_the_area(sample):
    ucs = {a.code: a for a in m.union_councils()}
    for u in sample:
        uc = ucs[u.uc_code]
        assert u.code == u.survey.survey_id == u.code.upper()
        assert u.area_path == uc.path == f"{u.city_code}/{u.uc_code}" and u.uc_name == uc.name
        assert u.uc_type == uc.kind
        assert u.account_type in m.UNIT_TYPES and u.category in m.CATEGORIES
        assert u.contacts[0].is_primary and u.contacts[0].name == u.name and u.contacts[0].address == u.address
        assert u.city_name in u.address and u.uc_name in u.survey.survey_address
        assert u.survey.survey_address.startswith("House" if u.account_type == "House" else ("Shop", "Plot")) \
            or u.uc_type == "Rural"
        assert u.survey.photo_ref == f"survey_photos/{u.area_path}/{u.code}.jpg"
        assert u.survey.house_type in m.HOUSE_TYPES and u.survey.water_connection in m.WATER_CONNECTIONS
        assert u.service == ("sanitation" if u.billable else None)
        assert u.billable == (u.account_type not in m.EXEMPT_UNIT_TYPES)


def test_gps_lies_inside_the_union_council_and_matches_the_geopoint_text(sample):
    ucs = {a.code: a for a in m.union_councils()}
    for u in sample:
        assert u.gps_lat == u.gps_lat.quantize(Decimal("0.000001"))
        assert ucs[u.uc_code].contains(float(u.gps_lat), float(u.gps_lon)), u.code
        lat, lon, alt, acc = u.survey.gps_text.split()
        assert (Decimal(lat), Decimal(lon)) == (u.gps_lat, u.gps_lon)
        assert 150 < float(alt) < 250 and 0 < float(acc) <= 12
    tehsils = {a.code: a for a in m.areas() if a.level == 1}
    for uc in m.union_councils():   # each box lies in its city's box, in Punjab
        min_lat, min_lon, max_lat, max_lon = uc.bbox
        assert 30.4 < min_lat < max_lat < 32.0 and 73.0 < min_lon < max_lon < 74.8
        city = tehsils[uc.parent_path]
        assert city.contains(min_lat, min_lon) and city.contains(max_lat, max_lon)


def test_mobiles_are_valid_pakistani_numbers_and_some_are_missing(sample):
    pattern = re.compile(m.MOBILE_PATTERN)
    survey = [u.survey.survey_mobile for u in sample]
    billing = [u.billing_mobile for u in sample]
    for number in survey + billing:
        assert number is None or pattern.fullmatch(number), number
    assert 0.03 < survey.count(None) / N < 0.12
    assert 0.03 < billing.count(None) / N < 0.14
    assert not pattern.fullmatch("+923501234567") and not pattern.fullmatch("+92300123456")


def test_survey_time_is_in_working_hours_in_the_last_18_months(sample):
    for u in sample:
        t = u.survey.surveyed_at
        assert t.tzinfo is not None and t.tzinfo.key == "Asia/Karachi"
        assert TODAY - dt.timedelta(days=548) <= t.date() < TODAY
        assert 9 <= t.hour < 17 and t.weekday() != 6
        assert not (t.weekday() == 4 and (12, 30) <= (t.hour, t.minute) < (14, 30))
    surveyors = {u.city_code: set() for u in sample}
    for u in sample:
        surveyors[u.city_code].add(u.survey.surveyor_name)
    assert all(2 <= len(names) <= 8 for names in surveyors.values())


def test_shares_of_unit_types_areas_and_names(sample):
    types = Counter(u.account_type for u in sample)
    assert 0.62 <= types["House"] / N <= 0.76
    assert 0.04 <= types["General Store"] / N <= 0.08
    assert 0.01 <= sum(types[t] for t in m.EXEMPT_UNIT_TYPES) / N <= 0.04
    assert len(types) >= 20
    kinds = Counter(u.uc_type for u in sample)
    assert kinds["Urban"] > kinds["Peri-Urban"] > kinds["Rural"] > 0.08 * N
    cities = Counter(u.city_code for u in sample)
    assert cities.most_common(1)[0][0] == "LHC" and min(cities.values()) > 0.06 * N
    assert len({u.uc_code for u in sample}) == len(m.union_councils())
    assert 0.015 <= sum(not u.is_active for u in sample) / N <= 0.05
    differs = sum(u.name != u.survey.survey_name for u in sample) / N
    assert 0.08 <= differs <= 0.20      # owner billed instead of the surveyed occupant, or spelt another way
    assert sum(u.address != u.survey.survey_address for u in sample) > 0.02 * N


def test_rural_units_are_bigger_and_less_often_connected_to_water(sample):
    houses = [u for u in sample if u.account_type == "House"]
    mean = {k: sum(u.survey.size_marla for u in houses if u.uc_type == k) / sum(u.uc_type == k for u in houses)
            for k in m.UC_TYPES}
    assert mean["Urban"] < mean["Rural"]
    water = {k: sum(u.survey.water_connection == "Yes" for u in sample if u.uc_type == k)
             / sum(u.uc_type == k for u in sample) for k in m.UC_TYPES}
    assert water["Urban"] > water["Peri-Urban"] > water["Rural"]


def test_categories_follow_size_for_houses_and_shares_for_shops(sample):
    for u in sample:
        size = u.survey.size_marla
        assert size > 0 and size == size.quantize(Decimal("0.01"))
        if u.account_type == "House":
            expected = "Small" if size <= 5 else "Medium" if size <= 10 else "Large"
            assert u.category == expected == m.house_category(size)
    shops = Counter(u.category for u in sample if u.account_type in ("General Store", "Barber", "Tailor"))
    assert shops["Small"] > shops["Medium"] > shops["Large"]
    halls = [u for u in sample if u.account_type == "Marriage Hall"]
    assert all(u.category != "Small" and u.survey.size_marla >= 6 for u in halls)


def test_vocabulary_constants_for_the_tariff_plan():
    assert m.CATEGORIES == ("Small", "Medium", "Large")
    assert set(m.BILLABLE_UNIT_TYPES) | m.EXEMPT_UNIT_TYPES == set(m.UNIT_TYPES)
    assert "House" in m.BILLABLE_UNIT_TYPES and "Mosque" in m.EXEMPT_UNIT_TYPES
    assert len(set(m.UNIT_TYPES)) == len(m.UNIT_TYPES)


def test_areas_form_a_two_level_tree_with_all_uc_types_in_each_city():
    areas = m.areas()
    tops = [a for a in areas if a.level == 1]
    ucs = [a for a in areas if a.level == 2]
    assert len(tops) == 5 and len(areas) == len(tops) + len(ucs)
    assert len({a.path for a in areas}) == len(areas)
    assert areas.index(tops[-1]) < areas.index(ucs[0])            # parents first
    for uc in ucs:
        assert re.fullmatch(r"[A-Z]{3}-UC\d{2}", uc.code) and uc.path == f"{uc.parent_path}/{uc.code}"
        assert uc.code.startswith(uc.parent_path + "-") and uc.kind in m.UC_TYPES
    for top in tops:
        assert top.parent_path is None and re.fullmatch(r"[A-Z]{3}", top.code)
        assert {uc.kind for uc in ucs if uc.parent_path == top.code} == set(m.UC_TYPES)


def test_payment_behaviour_is_deterministic_and_chronic_payers_build_arrears(sample):
    months = range(12)
    plans = {u.index: [m.payment_plan_for(u, k) for k in months] for u in sample if u.billable}
    again = {u.index: [m.payment_plan_for(m.unit_at(u.index, today=TODAY), k) for k in months] for u in sample[:200]}
    assert all(plans[i] == p for i, p in again.items() if i in plans)
    all_plans = [p for ps in plans.values() for p in ps]
    shares = Counter(p.behaviour for p in all_plans)
    assert set(shares) == set(PAYMENT_BEHAVIOURS)
    assert 0.65 < shares["full"] / len(all_plans) < 0.85
    assert all(m.payment_behaviour(u, k) == plans[u.index][k].behaviour for u in sample[:50] if u.billable
               for k in months)
    for p in all_plans:
        if p.behaviour in ("full", "late"):
            assert p.share == 1 and (p.days_after_due < 0) == (p.behaviour == "full")
        elif p.behaviour == "partial":
            assert Decimal("0.2") <= p.share <= Decimal("0.8")
        else:
            assert p.share == 0 and p.days_after_due == 0
    by_profile = {u.payer_profile for u in sample}
    assert by_profile == {"prompt", "irregular", "chronic"}
    chronic = [u for u in sample if u.payer_profile == "chronic"]
    unpaid_months = [sum(p.behaviour == "unpaid" for p in plans[u.index]) for u in chronic]
    assert sum(unpaid_months) / len(unpaid_months) > 8          # most months unpaid: arrears grow
    rural = [u for u in sample if u.uc_type == "Rural" and u.billable]
    urban = [u for u in sample if u.uc_type == "Urban" and u.billable]
    share = lambda us: sum(u.payer_profile == "chronic" for u in us) / len(us)  # noqa: E731
    assert share(rural) > share(urban)


def test_staff_roster_roles_and_assignments():
    staff = m.staff_roster()
    assert len(staff) == 50 and staff == m.staff_roster()
    roles = Counter(s.role for s in staff)
    assert set(roles) == set(m.STAFF_ROLES) and roles["HEAD"] == 1 and roles["MANAGER"] == 5
    assert roles["SUPERVISOR"] == 10 and roles["AGENT"] == 34
    assert len({s.username for s in staff}) == 50 and len({s.full_name for s in staff}) == 50
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+\d*", s.username) for s in staff)
    assert all(re.fullmatch(m.MOBILE_PATTERN, s.mobile) for s in staff)
    ucs = {a.code: a for a in m.union_councils()}
    cities = {a.code for a in m.areas() if a.level == 1}
    for s in staff:
        if s.role == "HEAD":
            assert s.assigned_city is None and s.assigned_ucs == () and s.scope_paths == ("",)
            continue
        assert s.assigned_city in cities
        assert all(ucs[c].parent_path == s.assigned_city for c in s.assigned_ucs)
        if s.role == "MANAGER":
            assert s.assigned_ucs == () and s.scope_paths == (s.assigned_city,)
        if s.role == "AGENT" and s.is_active:
            assert s.assigned_ucs and s.scope_paths == tuple(ucs[c].path for c in s.assigned_ucs)
    covered = {c for s in staff if s.role == "AGENT" and s.is_active for c in s.assigned_ucs}
    assert covered == set(ucs)
    for city in cities:
        sup = [set(s.assigned_ucs) for s in staff if s.role == "SUPERVISOR" and s.assigned_city == city]
        assert len(sup) == 2 and not (sup[0] & sup[1])
        assert sup[0] | sup[1] == {c for c, a in ucs.items() if a.parent_path == city}
    leavers = [s for s in staff if not s.is_active]
    assert 1 <= len(leavers) <= 3 and all(s.assigned_ucs == () and s.scope_paths == () for s in leavers)
    assert len(m.staff_roster(120)) == 120
    with pytest.raises(ValueError):
        m.staff_roster(10)


def test_demo_package_is_pure():
    allowed = {"__future__", "datetime", "math", "random", "dataclasses", "decimal", "typing", "zoneinfo",
               "functools", "services.demo.common"}
    for path in Path(m.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module]
            else:
                continue
            assert set(names) <= allowed, (path.name, names)
