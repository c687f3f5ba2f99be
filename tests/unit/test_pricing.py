"""PricingService rules with seed 002's numbers."""
from decimal import Decimal as D

import pytest

from services.errors import MasterDataError
from services.master_data.spreadsheet import parse_price_rows, read_table
from services.pricing_service import PricingService, resolve_pricing, unit_identifier

TABLE = {"B17-FF": (D("12.5"), D("1000")), "C14-SF": (D("11"), D("1890")), "A1-GF": (D("9"), D("500"))}


def test_master_data_rate_and_fixed_charge():
    p = resolve_pricing("B17-FF", TABLE)
    assert (p.rate_per_unit, p.fixed_charge, p.rule) == (D("12.5"), D("1000"), "master_data")


def test_unknown_flat_gets_default_rate_12():
    p = resolve_pricing("Z99-TF", TABLE)
    assert p.rate_per_unit == D("12.0") and p.fixed_charge == 0 and p.rule == "default_rate"


@pytest.mark.parametrize("bhk,fixed", [(5, "2311"), (4, "1890"), (2, "1474")])
def test_bhk_prefix_overrides_fixed_charge(bhk, fixed):
    p = resolve_pricing(f"{bhk}BHK-B17-FF", TABLE)
    assert p.fixed_charge == D(fixed) and p.rate_per_unit == D("12.5") and p.rule == "bhk_override"
    assert p.flat_code == "B17-FF" and p.bhk == bhk


def test_bhk_override_applies_to_unknown_flat_too():
    p = resolve_pricing("5BHK-Z99-TF", TABLE)
    assert (p.rate_per_unit, p.fixed_charge) == (D("12.0"), D("2311"))


def test_bhk_without_override_keeps_base_fixed_charge():
    assert resolve_pricing("3BHK-B17-FF", TABLE).fixed_charge == D("1000")


@pytest.mark.parametrize("code", ["C14-SF", "D3-SF", "D4-SF"])
def test_special_flats_rate_9_no_fixed_charge(code):
    p = resolve_pricing(code, TABLE)
    assert (p.rate_per_unit, p.fixed_charge, p.rule) == (D("9"), D("0"), "special_9")


@pytest.mark.parametrize("ident", ["5BHK-C14-SF", "4BHK-D3-SF", "2bhk-d4-sf"])
def test_nine_rule_wins_over_bhk_prefix(ident):
    p = resolve_pricing(ident, TABLE)
    assert (p.rate_per_unit, p.fixed_charge) == (D("9"), D("0"))


def test_rate_9_from_master_data_forces_fixed_zero():
    p = resolve_pricing("A1-GF", TABLE)
    assert (p.rate_per_unit, p.fixed_charge) == (D("9"), D("0"))


def test_unit_identifier_uses_bhk_flat_type():
    assert unit_identifier("B17-FF", "5BHK") == "5BHK-B17-FF"
    assert unit_identifier("B17-FF", None) == "B17-FF"
    assert unit_identifier("B17-FF", "Shop") == "B17-FF"


def test_explanation_lists_every_rule():
    p = resolve_pricing("5BHK-C14-SF", TABLE)
    assert "master data" in p.explanation and "5BHK" in p.explanation and "special 9" in p.explanation


def _write_csv(tmp_path, text):
    path = tmp_path / "m.csv"
    path.write_text(text)
    return path


def test_pricing_service_reads_csv_and_xlsx(tmp_path):
    path = _write_csv(tmp_path, "Flat Code,Rate Per Unit,Fixed Charge\nB17-FF,12.5,1000\n")
    assert PricingService(path).get_pricing("B17-FF").rate_per_unit == D("12.5")
    from scripts.generate_master_data import write_xlsx

    x = tmp_path / "m.xlsx"
    write_xlsx(x, 320)
    svc = PricingService(x)
    assert svc.flat_count == 304  # the 16 flats numbered 20 are left out of the master data on purpose
    assert svc.get_pricing("B1-FF").rate_per_unit == D("12.00")
    assert svc.get_pricing("B20-FF").rule == "default_rate"


def test_missing_master_file_falls_back_to_default(tmp_path):
    assert PricingService(tmp_path / "absent.xlsx").get_pricing("B17-FF").rate_per_unit == D("12.0")


def test_malformed_spreadsheet_is_reported_row_by_row_and_not_loaded(tmp_path):
    path = _write_csv(tmp_path, "Flat Code,Rate Per Unit,Fixed Charge\n"
                                "B17-FF,12,1000\n"
                                "C1-GF,twelve,1000\n"
                                "B17-FF,11,900\n"
                                ",12,0\n"
                                "D2-TF,-3,abc\n")
    with pytest.raises(MasterDataError) as e:
        PricingService(path)
    rows = [(p.row, p.column) for p in e.value.problems]
    assert (3, "Rate Per Unit") in rows
    assert (4, "Flat Code") in rows  # duplicate of row 2
    assert (5, "Flat Code") in rows
    assert (6, "Rate Per Unit") in rows and (6, "Fixed Charge") in rows
    assert "duplicate flat code B17-FF (first on row 2)" in str(e.value)


def test_missing_column_is_reported(tmp_path):
    path = _write_csv(tmp_path, "Flat Code,Rate Per Unit\nB17-FF,12\n")
    with pytest.raises(MasterDataError) as e:
        PricingService(path)
    assert "Fixed Charge" in str(e.value)


def test_header_matching_ignores_case_and_spaces(tmp_path):
    path = _write_csv(tmp_path, "flat code, RATE_PER_UNIT ,fixed charge\nb17-ff,12,1\n")
    cols, rows = read_table(path)
    assert parse_price_rows(cols, rows) == {"B17-FF": (D("12"), D("1"))}


def test_broken_xlsx_is_refused(tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(b"not a zip")
    with pytest.raises(MasterDataError):
        PricingService(path)
