"""The visit distance rule (services/field/geo.py): haversine metres, the radius flag, the setting."""
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as hs

from services.errors import ValidationError
from services.field import geo
from services.field.service import proposed_change

lat = hs.floats(-89.9, 89.9, allow_nan=False)
lon = hs.floats(-179.9, 179.9, allow_nan=False)


def test_known_distances():
    # one degree of latitude on the mean sphere: 111,195 m
    assert geo.haversine_m(0, 0, 1, 0) == pytest.approx(111_195.08, abs=0.5)
    # Kasur to Okara (city centres), about 100 km
    assert geo.haversine_m(31.1187, 74.4507, 30.8138, 73.4534) == pytest.approx(101_000, rel=0.05)
    assert geo.haversine_m(31.5, 74.3, 31.5, 74.3) == 0
    # 0.0009 degrees of latitude is about 100 m
    assert geo.haversine_m(31.5, 74.3, 31.5009, 74.3) == pytest.approx(100.08, abs=0.1)


@given(lat, lon, lat, lon)
def test_symmetric_non_negative_and_bounded(a, b, c, d):
    one, two = geo.haversine_m(a, b, c, d), geo.haversine_m(c, d, a, b)
    assert one == pytest.approx(two, abs=1e-6) and 0 <= one <= 3.1416 * geo.EARTH_RADIUS_M + 1


@given(lat, lon, lat, lon, lat, lon)
def test_triangle_inequality(a, b, c, d, e, f):
    assert geo.haversine_m(a, b, e, f) <= geo.haversine_m(a, b, c, d) + geo.haversine_m(c, d, e, f) + 1e-3


def test_distance_is_exact_decimal_and_unknown_without_both_positions():
    assert geo.distance_m((D("31.5"), D("74.3")), (D("31.5009"), D("74.3"))) == D("100.1")
    assert geo.distance_m(None, (D("31.5"), D("74.3"))) is None
    assert geo.distance_m((D("31.5"), D("74.3")), None) is None
    with pytest.raises(ValueError):
        geo.haversine_m(91, 0, 0, 0)


def test_flag_only_beyond_the_radius():
    assert not geo.is_flagged(D("100.0"), 100) and geo.is_flagged(D("100.1"), 100)
    assert not geo.is_flagged(None, 100)


def test_radius_setting():
    assert geo.visit_radius_m({}) == geo.DEFAULT_RADIUS_M == 100
    assert geo.visit_radius_m({"FIELD_VISIT_RADIUS_M": "250"}) == 250
    with pytest.raises(ValueError):
        geo.visit_radius_m({"FIELD_VISIT_RADIUS_M": "0"})


def test_proposed_change_is_checked():
    assert proposed_change() is None
    assert proposed_change(category=" Medium ", deactivate=True, contact={"phone": "+92 300 1234567", "x": "y"}) == {
        "category": "Medium", "active": False, "contact": {"phone": "+92 300 1234567"}}
    with pytest.raises(ValidationError) as e:
        proposed_change(contact={"phone": "call me"})
    assert e.value.field == "phone"

