"""Tariff plans: TOML files, malformed plans refused naming the key, versions, dict round-trip."""
import copy
import datetime as dt
import json
from decimal import Decimal as D
from pathlib import Path

import pytest

from services.errors import ValidationError
from services.tariff_rules import TariffRules
from services.tariffs import PlanError, TariffPlan, UnknownTariffKindError, charge_model
from services.tariffs.category_fee import CategoryFeeParams
from services.tariffs.flat_rate import FlatRateParams
from services.tariffs.tiered_seasonal import Tier, TieredSeasonalParams

PLANS = Path(__file__).resolve().parents[2] / "data" / "tariffs"
WATER = TariffPlan.load(PLANS / "water.toml")


def july(plan, quantity="25", **kw):
    return TariffRules.quote(plan, quantity=D(quantity), period_start=dt.date(2026, 7, 1),
                             period_end=dt.date(2026, 7, 31), **kw)


@pytest.mark.parametrize("name,kind,unit,currency,params_type", [
    ("society", "flat_rate", "kWh", "INR", FlatRateParams),
    ("water", "tiered_seasonal", "CCF", "USD", TieredSeasonalParams),
    ("municipal", "category_fee", None, "PKR", CategoryFeeParams),
])
def test_shipped_plans_load(name, kind, unit, currency, params_type):
    plan = TariffPlan.load(PLANS / f"{name}.toml")
    assert (plan.kind, plan.unit, plan.currency) == (kind, unit, currency)
    assert plan.versions[0].version == 1 and isinstance(plan.versions[0].effective_from, dt.date)
    assert all(isinstance(v.params, params_type) for v in plan.versions)


def test_plan_numbers_are_exact_decimals_from_toml():
    tiers = WATER.versions[0].params.tiers
    assert tiers == (Tier(D("10"), D("2.50")), Tier(D("20"), D("3.00")), Tier(None, D("3.50")))
    assert str(tiers[0].rate) == "2.50"


def test_plans_and_params_are_immutable():
    with pytest.raises(AttributeError):
        WATER.currency = "EUR"
    with pytest.raises(AttributeError):
        WATER.versions[0].params.tiers[0].rate = D("1")
    assert isinstance(WATER.versions, tuple) and isinstance(WATER.versions[0].params.tiers, tuple)


@pytest.mark.parametrize("name", ["society", "water", "municipal"])
def test_dict_round_trip_is_exact_and_json_safe(name):
    plan = TariffPlan.load(PLANS / f"{name}.toml")
    d = plan.to_dict()
    assert json.loads(json.dumps(d)) == d  # Decimals as strings, dates as ISO text
    assert TariffPlan.from_dict(d) == plan
    assert TariffPlan.from_dict(json.loads(json.dumps(d))).to_dict() == d


def test_dict_keeps_decimals_as_written():
    d = WATER.to_dict()
    assert d["versions"][0]["params"]["tiers"][0] == {"up_to": "10", "rate": "2.50"}
    assert d["versions"][0]["params"]["fees"][0]["amount"] == "15.00"
    assert d["versions"][0]["effective_from"] == "2025-01-01"


# -- malformed plans ----------------------------------------------------------------------

def water_dict():
    return copy.deepcopy(WATER.to_dict())


def _del(d, *path):
    for k in path[:-1]:
        d = d[k]
    del d[path[-1]]


def _set(d, value, *path):
    for k in path[:-1]:
        d = d[k]
    d[path[-1]] = value


TIERS = ("versions", 0, "params", "tiers")
SEASONS = ("versions", 0, "params", "seasons")


@pytest.mark.parametrize("change,key,words", [
    (lambda d: _del(d, "currency"), "currency", "Add currency"),
    (lambda d: _set(d, "usd", "currency"), "currency", "capital letters"),
    (lambda d: _set(d, "water_tiers", "kind"), "kind", "flat_rate"),
    (lambda d: _del(d, "unit"), "unit", "Add unit"),
    (lambda d: _set(d, "Water Plan", "code"), "code", "lower-case"),
    (lambda d: _set(d, "USD", "curency"), "curency", "Did you mean 'currency'"),
    (lambda d: _set(d, [], "versions"), "versions", "Add a [[versions]]"),
    (lambda d: _set(d, "5", *TIERS, 1, "up_to"), "versions[0].params.tiers[1].up_to", "ascending"),
    (lambda d: _set(d, "10", *TIERS, 1, "up_to"), "versions[0].params.tiers[1].up_to", "ascending"),
    (lambda d: _set(d, "-2.50", *TIERS, 0, "rate"), "versions[0].params.tiers[0].rate", "negative"),
    (lambda d: _set(d, "2.5x", *TIERS, 0, "rate"), "versions[0].params.tiers[0].rate", "not a number"),
    (lambda d: _set(d, 2.5, *TIERS, 0, "rate"), "versions[0].params.tiers[0].rate", "floating-point"),
    (lambda d: _set(d, "2.50001", *TIERS, 0, "rate"), "versions[0].params.tiers[0].rate", "decimal places"),
    (lambda d: _del(d, *TIERS, 1, "up_to"), "versions[0].params.tiers[1].up_to", "only the last"),
    (lambda d: _set(d, "30", *TIERS, 2, "up_to"), "versions[0].params.tiers[2].up_to", "could not be billed"),
    (lambda d: _set(d, [], *TIERS), "versions[0].params.tiers", "at least one"),
    (lambda d: _set(d, [6, 7, 8, 9], *SEASONS, 0, "months"), "versions[0].params.seasons[2].months",
     "already in season 'Summer'"),
    (lambda d: _set(d, [3, 4, 5, 10, 11], *SEASONS, 2, "months"), "versions[0].params.seasons", "9 are in no season"),
    (lambda d: _set(d, [13], *SEASONS, 2, "months"), "versions[0].params.seasons[2].months[0]", "out of range"),
    (lambda d: _set(d, "0", *SEASONS, 0, "multiplier"), "versions[0].params.seasons[0].multiplier", "greater than zero"),
    (lambda d: _set(d, "-5", "versions", 0, "params", "fees", 0, "amount"), "versions[0].params.fees[0].amount",
     "negative"),
    (lambda d: _set(d, "base", "versions", 0, "params", "fees", 1, "code"), "versions[0].params.fees[1].code", "unique"),
    (lambda d: _set(d, "2025-01-01", "versions", 1, "effective_from"), "versions[1].effective_from", "overlap"),
    (lambda d: _set(d, "2024-06-01", "versions", 1, "effective_from"), "versions[1].effective_from", "overlap"),
    (lambda d: _set(d, 3, "versions", 1, "version"), "versions[1].version", "numbered 1, 2, 3"),
    (lambda d: _set(d, "01/01/2025", "versions", 0, "effective_from"), "versions[0].effective_from", "YYYY-MM-DD"),
    (lambda d: _set(d, dt.datetime(2025, 1, 1, 8), "versions", 0, "effective_from"), "versions[0].effective_from",
     "date only"),
    (lambda d: _del(d, "versions", 0, "params"), "versions[0].params", "Add params"),
    (lambda d: _set(d, "x", "versions", 0, "params", "tier"), "versions[0].params.tier", "Did you mean 'tiers'"),
])
def test_malformed_plan_is_refused_naming_the_key_and_the_fix(change, key, words):
    d = water_dict()
    change(d)
    with pytest.raises(PlanError) as e:
        TariffPlan.from_dict(d)
    assert e.value.key == key and e.value.field == key
    assert words in str(e.value)
    assert e.value.fix  # every refusal says how to fix it
    assert isinstance(e.value, ValidationError)


def test_unknown_kind_has_its_own_error_type():
    d = water_dict()
    d["kind"] = "volume"
    with pytest.raises(UnknownTariffKindError, match="flat_rate, tiered_seasonal"):
        TariffPlan.from_dict(d)
    with pytest.raises(UnknownTariffKindError):
        charge_model("volume")


def test_unit_on_a_fixed_fee_plan_is_refused():
    d = TariffPlan.load(PLANS / "municipal.toml").to_dict()
    d["unit"] = "kWh"
    with pytest.raises(PlanError) as e:
        TariffPlan.from_dict(d)
    assert e.value.key == "unit"


@pytest.mark.parametrize("params,key,words", [
    ({"default_rate": "12", "special_accounts": ["C14-SF"]}, "special_rate", "special_accounts are listed"),
    ({"default_rate": "12", "fixed_charge_by_bhk": {"five": "2311"}}, "fixed_charge_by_bhk.five", "BHK"),
    ({"default_rate": "12", "fixed_charge_by_bhk": {"5BHK": "1", "5 bhk": "2"}}, "fixed_charge_by_bhk.5 bhk", "twice"),
    ({"default_rate": "0"}, "default_rate", "greater than zero"),
    ({}, "default_rate", "Add default_rate"),
    ({"default_rate": "12", "master_data": "yes"}, "master_data", "true or false"),
])
def test_malformed_flat_rate_params(params, key, words):
    d = TariffPlan.load(PLANS / "society.toml").to_dict()
    d["versions"][0]["params"] = params
    with pytest.raises(PlanError) as e:
        TariffPlan.from_dict(d)
    assert e.value.key == f"versions[0].params.{key}" and words in str(e.value)


@pytest.mark.parametrize("params,key,words", [
    ({"schedule": []}, "schedule", "no account could be billed"),
    ({"schedule": [{"category": "Small", "unit_type": "Barber", "fee": "500"},
                   {"category": "small ", "unit_type": "barber", "fee": "600"}]}, "schedule[1]", "already"),
    ({"default_fees": {"Small": "500", "SMALL": "600"}}, "default_fees.SMALL", "two default fees"),
    ({"default_fees": {"Small": "-1"}}, "default_fees.Small", "negative"),
    ({"schedule": [{"category": "Small", "fee": "500"}]}, "schedule[0].unit_type", "Add unit_type"),
])
def test_malformed_category_fee_params(params, key, words):
    d = TariffPlan.load(PLANS / "municipal.toml").to_dict()
    d["versions"][0]["params"] = params
    with pytest.raises(PlanError) as e:
        TariffPlan.from_dict(d)
    assert e.value.key == f"versions[0].params.{key}" and words in str(e.value)


def test_load_names_the_file_and_the_key(tmp_path):
    text = (PLANS / "water.toml").read_text().replace('currency = "USD"', "")
    path = tmp_path / "water.toml"
    path.write_text(text)
    with pytest.raises(PlanError) as e:
        TariffPlan.load(path)
    assert e.value.key == "currency" and str(path) in str(e.value)


def test_load_reports_bad_toml_and_missing_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('code = "x"\nkind = \n')
    with pytest.raises(PlanError) as e:
        TariffPlan.load(path)
    assert e.value.key == "toml" and "line 2" in str(e.value)
    with pytest.raises(PlanError) as e:
        TariffPlan.load(tmp_path / "absent.toml")
    assert e.value.key == "path"


def test_toml_numbers_with_more_places_than_allowed_are_refused_not_rounded(tmp_path):
    path = tmp_path / "w.toml"
    path.write_text((PLANS / "water.toml").read_text().replace("rate = 2.50 }", "rate = 2.500001 }", 1))
    with pytest.raises(PlanError) as e:
        TariffPlan.load(path)
    assert e.value.key == "versions[0].params.tiers[0].rate"


# -- versions -----------------------------------------------------------------------------

@pytest.mark.parametrize("end,version", [
    (dt.date(2025, 1, 1), 1), (dt.date(2026, 7, 31), 1), (dt.date(2026, 12, 31), 1),
    (dt.date(2027, 1, 1), 2), (dt.date(2030, 5, 31), 2),
])
def test_version_in_effect_on_a_date(end, version):
    assert WATER.version_for(end).version == version


def test_before_the_first_version_nothing_prices():
    with pytest.raises(ValidationError) as e:
        WATER.version_for(dt.date(2024, 12, 31))
    assert e.value.field == "period_end" and "2025-01-01" in str(e.value)


def test_a_period_is_priced_whole_by_the_version_in_effect_on_its_end_date():
    # 15 Dec 2026 - 14 Jan 2027 straddles the 2027 rate review: version 2 prices all of it (no proration).
    q = TariffRules.quote(WATER, quantity=D("25"), period_start=dt.date(2026, 12, 15), period_end=dt.date(2027, 1, 14))
    assert q.plan_version == 2 and q.inputs.plan_version == 2
    # 10 x 2.60 + 10 x 3.15 + 5 x 3.70 = 76.00; winter x 0.9: -7.60; fees 15.00 + 6.00
    assert [ln.amount for ln in q.lines] == [D("26.00"), D("31.50"), D("18.50"), D("-7.60"), D("15.00"), D("6.00")]
    assert q.total_amount == D("89.40")
    assert july(WATER).plan_version == 1


def test_with_new_version_appends_and_validates():
    params = WATER.to_dict()["versions"][1]["params"]
    params["fees"][1]["amount"] = "7.00"
    newer = WATER.with_new_version(params, dt.date(2028, 1, 1), notes="2028 review")
    assert [v.version for v in newer.versions] == [1, 2, 3] and [v.version for v in WATER.versions] == [1, 2]
    assert newer.latest.effective_from == dt.date(2028, 1, 1) and newer.latest.notes == "2028 review"
    assert newer.latest.params.fees[1].amount == D("7.00")
    assert TariffPlan.from_dict(newer.to_dict()) == newer
    assert newer.version_for(dt.date(2027, 12, 31)).version == 2
    # a params object (as the admin screen edits it) works too, and "2028-02-01" text is a date
    again = newer.with_new_version(WATER.versions[0].params, "2028-02-01")
    assert again.latest.params == WATER.versions[0].params


@pytest.mark.parametrize("when", [dt.date(2027, 1, 1), dt.date(2026, 6, 1)])
def test_new_version_must_start_after_the_last(when):
    params = WATER.to_dict()["versions"][0]["params"]
    with pytest.raises(PlanError) as e:
        WATER.with_new_version(params, when)
    assert e.value.key == "versions[2].effective_from" and "after 2027-01-01" in str(e.value)


def test_new_version_refuses_bad_or_unchanged_params():
    params = WATER.to_dict()["versions"][1]["params"]
    with pytest.raises(PlanError) as e:
        WATER.with_new_version(params, dt.date(2028, 1, 1))
    assert e.value.key == "params"
    params["tiers"][0]["rate"] = "-1"
    with pytest.raises(PlanError) as e:
        WATER.with_new_version(params, dt.date(2028, 1, 1))
    assert e.value.key == "versions[2].params.tiers[0].rate"


def test_unknown_version_number():
    with pytest.raises(ValidationError) as e:
        WATER.version(7)
    assert e.value.field == "plan_version"


def test_tariff_domain_imports_no_ui_or_storage_library():
    import subprocess
    import sys

    code = ("import sys, services.tariffs, services.tariff_rules; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'streamlit', 'sqlalchemy', 'supabase'}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"


def test_a_plan_built_directly_keeps_the_version_invariants():
    from dataclasses import replace

    with pytest.raises(PlanError):
        TariffPlan("x", "X", "tiered_seasonal", "water", "CCF", "USD", ())
    with pytest.raises(PlanError):
        replace(WATER, versions=(WATER.versions[1], WATER.versions[0]))
    v2_same_day = replace(WATER.versions[1], effective_from=WATER.versions[0].effective_from)
    with pytest.raises(PlanError):
        replace(WATER, versions=(WATER.versions[0], v2_same_day))
