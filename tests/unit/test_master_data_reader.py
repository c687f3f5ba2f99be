"""The master data reader (services/master_data.read_table, shared by the pricing service and the
import) and the import's field rules: nothing the file says about itself is trusted, limits give
messages instead of tracebacks, every field is checked against the column it is stored in."""
import re

import pytest

from services.errors import MasterDataError
from services.master_data.spreadsheet import ReadLimits, read_table
from services.master_data.importer import MAX_LEN, creatable_floor, import_master_data, parse_rows
from services.pricing_service import PricingService
from tests.factories import ADMIN
from tests.master_files import HEADER, demo_table, patch_sheet, set_dimension, write_csv, write_xlsx


def test_max_lengths_are_the_schema_column_lengths():
    from database import schema as s

    stored_in = {"flat_code": s.accounts.c.code, "flat_type": s.accounts.c.category,
                 "owner_name": s.contacts.c.name, "owner_phone": s.contacts.c.phone,
                 "meter_number": s.meters.c.meter_number, "motor": s.motors.c.code,
                 "motor_meter_number": s.meters.c.meter_number}
    assert {k: MAX_LEN[k] for k in stored_in} == {k: c.type.length for k, c in stored_in.items()}
    # a block and a floor are area codes, and a path "B/FF" must fit too
    assert MAX_LEN["block"] + 1 + MAX_LEN["floor"] <= s.areas.c.path.type.length
    assert max(MAX_LEN["block"], MAX_LEN["floor"]) <= s.areas.c.code.type.length


@pytest.fixture
def budget(monkeypatch):
    """Fail fast (instead of burning minutes of CPU) when reading a sheet makes more rows or wider
    rows than the file holds."""
    from openpyxl.worksheet._read_only import ReadOnlyWorksheet

    made = {"rows": 0}
    real = ReadOnlyWorksheet._cells_by_row

    def counted(self, *args, **kwargs):
        for row in real(self, *args, **kwargs):
            made["rows"] += 1
            assert made["rows"] <= 1000 and len(row) <= 64, "the reader trusted the sheet's <dimension>"
            yield row

    monkeypatch.setattr(ReadOnlyWorksheet, "_cells_by_row", counted)
    return made


@pytest.mark.parametrize("ref", ["A1:K100", "A1:XFD200000", "A1:A1", "A1:XFD1048576"])
def test_the_sheet_dimension_is_not_trusted(tmp_path, budget, ref):
    path = set_dimension(write_xlsx(tmp_path / "m.xlsx", demo_table(320)), ref)
    columns, rows = read_table(path)
    assert len(rows) == 320 and len(columns) == 11 and rows[-1].number == 321
    assert budget["rows"] <= 2 * 321


def test_pricing_service_reads_through_the_same_reader(tmp_path, budget):
    path = set_dimension(write_xlsx(tmp_path / "m.xlsx", demo_table(320)), "A1:K100")
    assert PricingService(path).flat_count == 320
    from openpyxl import load_workbook

    wb = load_workbook(path)
    wb.active["K7"] = "=K6+1"
    wb.save(path)
    with pytest.raises(MasterDataError) as e:
        PricingService(path)
    assert "row 7, column 'Fixed Charge': cell K7 holds a formula (=K6+1)" in str(e.value)


def test_rows_far_below_the_data_count_against_the_row_limit(tmp_path):
    """A row numbered 900 (written by hand into the XML) is read where it is, and the rows it
    implies count: the limit is on the sheet's rows, not on the non-empty ones."""
    path = write_xlsx(tmp_path / "m.xlsx", demo_table(3))
    patch_sheet(path, lambda xml: re.sub(rb'r="([A-Z]+)4"', rb'r="\g<1>900"', xml.replace(b'<row r="4"', b'<row r="900"')))
    columns, rows = read_table(path, ReadLimits(max_rows=1000))
    assert [r.number for r in rows][-1] == 900
    with pytest.raises(MasterDataError) as e:
        read_table(path, ReadLimits(max_rows=100))
    assert "more than 100 data rows (MASTER_DATA_MAX_ROWS)" in str(e.value) and "the file:" in str(e.value)


def test_unpacked_size_is_capped(tmp_path):
    path = write_xlsx(tmp_path / "m.xlsx", demo_table(200))
    with pytest.raises(MasterDataError) as e:
        read_table(path, ReadLimits(max_unpacked_bytes=20_000))
    assert "(MASTER_DATA_MAX_UNPACKED_BYTES)" in str(e.value)


def test_limits_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MASTER_DATA_MAX_BYTES", "123")
    monkeypatch.setenv("MASTER_DATA_MAX_ROWS", "7")
    limits = ReadLimits.from_env()
    assert (limits.max_bytes, limits.max_rows, limits.max_unpacked_bytes) == (123, 7, ReadLimits().max_unpacked_bytes)


def test_row_numbers_survive_blank_rows(tmp_path):
    rows = demo_table(3)
    rows[2][5] = "12345"  # a bad phone on the third data row
    path = tmp_path / "gaps.csv"
    write_csv(path, [rows[0], [], ["", "", ""], rows[1], rows[2]])
    with pytest.raises(MasterDataError) as e:
        import_master_data(_FakeStorage(), path, actor=ADMIN, dry_run=True)
    assert [(p.row, p.column) for p in e.value.problems] == [(6, "Owner Phone")]


class _FakeStorage:
    """Just enough of a storage for the checks that run before the database is asked anything."""

    def list_areas(self, **_):
        from services.models import Area

        return [Area(i + 1, 1, b, f"Block {b}", b) for i, b in enumerate("ABCD")] + [
            Area(10 + i, 2, code, name, f"B/{code}") for i, (code, name) in enumerate(
                (("GF", "Ground Floor"), ("FF", "First Floor"), ("SF", "Second Floor"), ("TF", "Third Floor")))]

    def lookup_ids(self, table, column, values):
        return {}

    def master_data_state(self, *args):
        from services.master_data.importer import MasterDataState

        return MasterDataState()


ROW = {"flat_code": "B1-GF", "block": "B", "floor": "GF", "flat_type": "2BHK", "owner_name": "Asha Rao",
       "owner_phone": "+919800000001", "meter_number": "M1"}


@pytest.mark.parametrize("field,value,column,text", [
    ("flat_type", "0BHK", "Flat Type", "has 0 bedrooms; a BHK count is 1 to 20"),
    ("flat_type", "21BHK", "Flat Type", "a BHK count is 1 to 20"),
    ("flat_type", "99999999999BHK", "Flat Type", "a BHK count is 1 to 20"),
    ("flat_type", "00000000000000000000000000000002BHK", "Flat Type", "at most 32 fit"),
    ("owner_name", "A" * 129, "Owner Name", "at most 128 fit"),
    ("owner_name", "Asha\x00Rao", "Owner Name", "control character"),
    ("block", "BB", "Block", "is BB but flat code B1-GF is in block B"),
    ("flat_code", "B1-GF-" + "X" * 30, "Flat Code", "at most 32 fit"),
    ("meter_number", "M 1", "Meter Number", "is not a meter number"),
    ("owner_phone", "+91980000000", "Owner Phone", "is not a phone number"),
])
def test_every_field_is_checked_before_any_write(field, value, column, text):
    rows, problems = parse_rows(list(ROW), [dict(ROW, **{field: value})], "t.csv")
    assert rows == [] and [(p.row, p.column) for p in problems] == [(2, column)]
    assert text in problems[0].message


def test_good_rows_pass_and_line_breaks_in_names_become_spaces():
    rows, problems = parse_rows(list(ROW), [dict(ROW, owner_name="Asha\nRao", flat_type="20 bhk")], "t.csv")
    assert not problems and rows[0].contact_name == "Asha Rao" and rows[0].category == "20BHK"


def test_problems_are_all_counted_and_the_message_stays_readable(tmp_path):
    rows = [[f"A{n}-GF", "A", "GF", "2BHK", "X", "12345", f"M{n}"] for n in range(1, 1501)]
    with pytest.raises(MasterDataError) as e:
        import_master_data(_FakeStorage(), write_csv(tmp_path / "bad.csv", rows, header=HEADER[:7]), actor=ADMIN)
    assert e.value.total == 1500 and len(e.value.problems) == 1000
    text = str(e.value)
    assert text.startswith(f"{tmp_path / 'bad.csv'}: 1500 problem(s), nothing was loaded:")
    assert text.count("\n  - row ") == 50 and text.endswith("... and 1450 more")


def test_floors_the_import_may_create():
    assert creatable_floor("GF") == ("Ground Floor", 0) and creatable_floor("TF") == ("Third Floor", 3)
    assert creatable_floor("12F") == ("Floor 12", 12)
    assert creatable_floor("XF") is None and creatable_floor("1F") is None and creatable_floor("G") is None
