"""Master data import on every backend: validate everything first, then store; a re-import updates
what changed and duplicates nothing (Storage.master_data_state / apply_master_data)."""
import csv

import pytest

from services.errors import MasterDataError, PermissionDeniedError
from services.master_data.importer import MasterDataChanges, import_master_data
from tests.factories import set_up_utility, ADMIN, ENGINEER

HEADER = ["Flat Code", "Block", "Floor", "Flat Type", "Owner Name", "Owner Phone", "Meter Number", "Motor",
          "Motor Meter Number"]
ROWS = [
    ["B17-FF", "B", "FF", "2BHK", "Test Owner", "+910000000000", "19152159", "MOTOR-B2", "82000002"],
    ["B18-FF", "B", "FF", "3BHK", "Asha Rao", "98000 00001", "19152160", "MOTOR-B2", "82000002"],
    ["A1-GF", "A", "GF", "4 bhk", "Farhan Khan", "+91 98000-00002", 19150001, "", ""],
    ["5BHK-D3-SF", "D", "SF", "5BHK", "Meera Nair", "919800000003", "19150003", "MOTOR-D1", "84000001"],
]


def _other_account(storage, code):
    """An account stored by someone else (outside the import)."""
    area = storage.ensure_areas([{"path": "Z/GF", "name": "Ground Floor"}], ADMIN)["Z/GF"]
    storage.bulk_insert("accounts", [{"code": code, "area_id": area}])


def write(tmp_path, rows, header=HEADER, name="master.csv"):
    path = tmp_path / name
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def floors(storage):
    """The society set up (settings and its electricity plan), with no areas or flats yet."""
    set_up_utility(storage, "society")


def counts(storage):
    return storage.table_counts(["accounts", "contacts", "account_contacts", "meters", "motors", "account_motors",
                                 "areas", "service_connections"])


def test_import_then_reimport_duplicates_nothing(storage, floors, tmp_path):
    path = write(tmp_path, ROWS)
    report = import_master_data(storage, path, actor=ADMIN)
    c = report.counts
    assert (c["flats_created"], c["owners_created"], c["meters_created"], c["motors_created"]) == (4, 4, 6, 2)
    assert (c["links_added"], c["areas_created"]) == (3, 6)  # blocks A, B, D and a floor in each
    flat = storage.get_account(code="B18-FF")
    assert (flat.contact_name, flat.contact_phone, flat.category, flat.area_path) == ("Asha Rao", "+919800000001", "3BHK",
                                                                                     "B/FF")
    assert storage.service_connection(flat.id, "electricity").plan_code == "society-electricity"
    assert storage.get_account(code="D3-SF").category == "5BHK"  # the BHK prefix is not part of the code
    assert storage.get_account(code="A1-GF").category == "4BHK"
    choice = storage.meter_choice(storage.get_meter(meter_number="19152160").id)
    assert choice.motor_code == "MOTOR-B2" and choice.motor_meter_number == "82000002"
    audit = storage.list_audit(action_prefix="master_data.").items
    assert len(audit) == 1 and audit[0].details["flats_new"] == 4 and audit[0].actor_name == "test-admin"
    before = counts(storage)
    again = import_master_data(storage, path, actor=ADMIN)
    assert again.counts["flats_unchanged"] == 4 and again.counts["owners_unchanged"] == 4
    assert again.counts["meters_unchanged"] == 4 and again.counts["meters_created"] == 0
    assert not any(v for k, v in again.counts.items() if not k.endswith("unchanged"))
    assert counts(storage) == before
    assert len(storage.list_audit(action_prefix="master_data.").items) == 1  # nothing to store, nothing stored


def test_reimport_updates_what_changed(storage, floors, tmp_path):
    import_master_data(storage, write(tmp_path, ROWS), actor=ADMIN)
    old_meter = storage.get_meter(meter_number="19150001")
    changed = [list(r) for r in ROWS]
    changed[0][5] = "+919811111111"              # owner's phone
    changed[1][3] = "2BHK"                       # flat type
    changed[2][6] = "19159999"                   # a new meter for A1-GF
    changed[3][7], changed[3][8] = "MOTOR-D2", "84000002"  # D3-SF moves to another motor
    report = import_master_data(storage, write(tmp_path, changed, name="v2.csv"), actor=ADMIN)
    c = report.counts
    assert (c["owners_updated"], c["flats_updated"], c["meters_created"], c["meters_retired"]) == (1, 1, 2, 1)
    assert (c["links_added"], c["links_removed"], c["motors_created"]) == (1, 1, 1)
    assert storage.get_account(code="B17-FF").contact_phone == "+919811111111"
    assert storage.get_account(code="B18-FF").category == "2BHK"
    assert storage.get_meter(meter_id=old_meter.id).status == "replaced"  # kept, with its readings
    assert storage.get_meter(meter_number="19159999").status == "active"
    state = storage.master_data_state(["D3-SF", "A1-GF"], ["19159999", "19150001"], ["MOTOR-D2"])
    assert state.account_motors["D3-SF"] == ["MOTOR-D2"] and [n for _, n in state.flat_meters["A1-GF"]] == ["19159999"]
    assert state.meters["19150001"]["status"] == "replaced" and state.meters["19159999"]["account_code"] == "A1-GF"
    assert [n for _, n in state.motor_meters["MOTOR-D2"]] == ["84000002"]


def test_every_problem_listed_with_its_row_and_nothing_written(storage, floors, tmp_path):
    bad = [
        ["B17-FF", "B", "FF", "2BHK", "Test Owner", "+910000000000", "19152159", "", ""],
        ["B17-FF", "B", "FF", "2BHK", "Someone", "+919800000009", "19152199", "", ""],    # duplicate flat code
        ["C1-XF", "C", "XF", "2BHK", "Ravi", "+919800000010", "19152200", "", ""],         # unknown floor
        ["C2-GF", "C", "GF", "2BHK", "Ravi", "12345", "19152201", "", ""],                 # bad phone
        ["C3-GF", "C", "GF", "2BHK", "Ravi", "+919800000011", "19152159", "", ""],         # meter on two accounts
        ["C4-GF", "D", "GF", "2BHK", "", "+919800000012", "19152202", "", ""],             # block, empty owner
        ["C5-GF", "C", "GF", "penthouse", "Ravi", "+919800000013", "19152203", "", ""],    # unknown type
        ["C6-GF", "C", "GF", "2BHK", "Ravi", "+919800000014", "19152204", "", "81000009"],  # motor meter, no motor
    ]
    with pytest.raises(MasterDataError) as e:
        import_master_data(storage, write(tmp_path, bad), actor=ADMIN)
    found = {(p.row, p.column) for p in e.value.problems}
    assert found >= {(3, "Flat Code"), (4, "Floor"), (5, "Owner Phone"), (6, "Meter Number"), (7, "Block"),
                     (7, "Owner Name"), (8, "Flat Type"), (9, "Motor Meter Number")}
    text = str(e.value)
    assert "duplicate flat code B17-FF (first on row 2)" in text and "unknown floor XF" in text
    assert "meter 19152159 is on two accounts: B17-FF (row 2) and C3-GF" in text and "'12345' is not a phone" in text
    assert counts(storage)["accounts"] == 0 and counts(storage)["meters"] == 0


def test_missing_column_and_dry_run(storage, floors, tmp_path):
    with pytest.raises(MasterDataError) as e:
        import_master_data(storage, write(tmp_path, [r[:6] for r in ROWS], header=HEADER[:6]), actor=ADMIN)
    assert [(p.row, p.column) for p in e.value.problems] == [(1, "Meter Number")]
    report = import_master_data(storage, write(tmp_path, ROWS), actor=ADMIN, dry_run=True)
    assert report.counts["flats_created"] == 4 and report.dry_run and "DRY RUN" in report.lines()[0]
    assert counts(storage)["accounts"] == 0


def test_meter_of_another_flat_in_the_database_is_refused(storage, floors, tmp_path):
    import_master_data(storage, write(tmp_path, ROWS), actor=ADMIN)
    rows = [["B19-FF", "B", "FF", "2BHK", "New Owner", "+919800000020", "19152159", "", ""]]
    with pytest.raises(MasterDataError) as e:
        import_master_data(storage, write(tmp_path, rows, name="b.csv"), actor=ADMIN)
    assert "meter 19152159 already belongs to flat B17-FF in the database" in str(e.value)
    rows = [["B19-FF", "B", "FF", "2BHK", "New Owner", "+919800000020", "82000002", "", ""]]
    with pytest.raises(MasterDataError) as e:
        import_master_data(storage, write(tmp_path, rows, name="c.csv"), actor=ADMIN)
    assert "belongs to motor MOTOR-B2" in str(e.value)
    assert storage.get_account(code="B19-FF") is None


def test_import_needs_permission(storage, floors, tmp_path):
    with pytest.raises(PermissionDeniedError):
        import_master_data(storage, write(tmp_path, ROWS), actor=ENGINEER)


def test_apply_master_data_is_one_unit_of_work(storage, floors):
    _other_account(storage, "Z1-GF")
    storage.bulk_insert("meters", [{"meter_number": "M-TAKEN", "account_id": storage.get_account(code="Z1-GF").id}])
    changes = MasterDataChanges(
        flats_new=[{"code": "Z2-GF", "block": "Z", "floor_code": "GF", "category": "2BHK"}],
        owners_new=[{"account_code": "Z2-GF", "name": "Zed", "phone": None}],
        meters_new=[{"meter_number": "M-TAKEN", "account_code": "Z2-GF", "motor_code": None}])
    with pytest.raises(Exception):
        storage.apply_master_data(changes, ADMIN)
    assert storage.get_account(code="Z2-GF") is None and counts(storage)["contacts"] == 0


def test_generated_spreadsheet_imports(storage, tmp_path):
    from scripts.generate_master_data import write_xlsx
    from services.demo import society as demo

    path = tmp_path / "master.xlsx"
    n = write_xlsx(path, 64)
    report = import_master_data(storage, path, actor=ADMIN, chunk=25)  # three chunks
    assert report.counts["flats_created"] == n == counts(storage)["accounts"]
    assert report.counts["motors_created"] == counts(storage)["motors"] == 4
    assert counts(storage)["meters"] == n + 4  # a meter per flat and per motor, none twice across chunks
    again = import_master_data(storage, path, actor=ADMIN, chunk=40)
    assert again.counts["flats_unchanged"] == n and again.counts["meters_created"] == 0


def test_import_refreshes_planner_statistics_on_postgresql(storage, floors, tmp_path):
    """Right after a bulk load PostgreSQL still plans for empty tables until autovacuum runs:
    the import runs ANALYZE itself (a no-op on the other backends)."""
    import_master_data(storage, write(tmp_path, ROWS), actor=ADMIN)
    if getattr(storage, "dialect", None) != "postgresql":
        storage.refresh_statistics()  # callable everywhere
        return
    import sqlalchemy as sa

    with storage.engine.connect() as c:
        analyzed = c.execute(sa.text("SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                                     "WHERE relname = 'accounts'")).scalar()
        planned = c.execute(sa.text("SELECT reltuples FROM pg_class WHERE relname = 'accounts'")).scalar()
    assert analyzed and planned == 4


# ---- issue 11, item 5: validate everything first, store all or nothing, read files safely --------

from services.errors import MeterlineError  # noqa: E402
from services.master_data.spreadsheet import ReadLimits  # noqa: E402
from tests.master_files import HEADER as FULL_HEADER  # noqa: E402
from tests.master_files import demo_table, dimension_of, set_dimension, write_xlsx  # noqa: E402
from tests.master_files import write_csv as write_full_csv  # noqa: E402

ALL_TABLES = ["areas", "accounts", "contacts", "account_contacts", "meters", "motors", "account_motors",
              "service_connections"]


def everything(storage):
    return storage.table_counts(ALL_TABLES) | {"audit": len(storage.list_audit(action_prefix="master_data.").items)}


def test_bad_flat_type_deep_in_a_big_file_writes_nothing(storage, tmp_path):
    """0BHK at row 1202 of 1,436 rows: refused by name, and not one flat of the rows before it is
    stored (the old import committed the first 1,000-row chunk, then failed with a traceback)."""
    rows = demo_table(1435)
    rows[1200][3] = "0BHK"  # row 1202 of the file (the header is row 1)
    before = everything(storage)
    with pytest.raises(MasterDataError) as e:
        import_master_data(storage, write_full_csv(tmp_path / "big.csv", rows), actor=ADMIN)
    assert [(p.row, p.column) for p in e.value.problems] == [(1202, "Flat Type")]
    assert "row 1202, column 'Flat Type': '0BHK' has 0 bedrooms" in str(e.value)
    assert everything(storage) == before


def test_pricing_columns_are_checked_naming_row_and_column(storage, tmp_path):
    rows = demo_table(6)
    rows[1][9] = "abc"       # Rate Per Unit, row 3
    rows[3][10] = "1,234x"   # Fixed Charge, row 5
    rows[4][9] = ""          # row 6: the pricing service would refuse the file over it
    rows[5][10] = "-5"       # row 7
    before = everything(storage)
    with pytest.raises(MasterDataError) as e:
        import_master_data(storage, write_full_csv(tmp_path / "prices.csv", rows), actor=ADMIN)
    assert {(p.row, p.column) for p in e.value.problems} == {
        (3, "Rate Per Unit"), (5, "Fixed Charge"), (6, "Rate Per Unit"), (7, "Fixed Charge")}
    text = str(e.value)
    assert "row 3, column 'Rate Per Unit': 'abc' is not a number" in text
    assert "row 5, column 'Fixed Charge': '1,234x' is not a number" in text
    assert everything(storage) == before


def test_import_into_an_empty_database_creates_the_utility_and_areas(storage, tmp_path):
    rows = [["A1-GF", "A", "GF", "2BHK", "Asha", "+919800000001", "M-1"],
            ["A1-TF", "A", "TF", "3BHK", "Ravi", "+919800000002", "M-2"],
            ["A1-5F", "A", "5F", "4BHK", "Zoya", "+919800000003", "M-3"]]
    report = import_master_data(storage, write(tmp_path, rows, header=HEADER[:7]), actor=ADMIN)
    assert report.counts["areas_created"] == 4  # block A and three floors in it
    assert [(a.path, a.name) for a in storage.list_areas(level=2)] == [
        ("A/GF", "Ground Floor"), ("A/TF", "Third Floor"), ("A/5F", "Floor 5")]
    assert storage.get_account(code="A1-5F").area_path == "A/5F"
    assert storage.utility_settings_row()["template"] == "society"  # the spreadsheet is the society's
    assert "areas (blocks, floors): 4 created" in "\n".join(report.lines())
    again = import_master_data(storage, write(tmp_path, rows, header=HEADER[:7], name="again.csv"), actor=ADMIN)
    assert again.counts["areas_created"] == 0 and again.counts["flats_unchanged"] == 3
    with pytest.raises(MasterDataError) as e:  # a code that is no known floor is still refused
        import_master_data(storage, write(tmp_path, [["A2-XF", "A", "XF", "2BHK", "X Y", "+919800000004", "M-4"]],
                                          header=HEADER[:7], name="xf.csv"), actor=ADMIN)
    assert "unknown floor XF" in str(e.value) and storage.get_account(code="A2-XF") is None


def test_a_refusal_by_the_database_in_the_last_chunk_writes_nothing(storage, floors, tmp_path, monkeypatch):
    """Validation passed, then another writer took a meter number before the write: the whole import
    is refused (one transaction; on Supabase the staged parts are applied by one call)."""
    rows = [[f"C{n}-GF", "C", "GF", "2BHK", f"Owner {n}", f"+9198000000{n:02d}", f"M-{n}", "", ""] for n in range(1, 8)]
    real_state = storage.master_data_state

    def racing_state(account_codes, meter_numbers, motor_codes):
        state = real_state(account_codes, meter_numbers, motor_codes)
        if "C7-GF" in account_codes:  # the last chunk: someone else stores meter M-7 meanwhile
            _other_account(storage, "Z9-GF")
            storage.bulk_insert("meters", [{"meter_number": "M-7", "account_id": storage.get_account(code="Z9-GF").id}])
        return state

    monkeypatch.setattr(storage, "master_data_state", racing_state)
    before = counts(storage)
    with pytest.raises(MeterlineError) as e:
        import_master_data(storage, write(tmp_path, rows), actor=ADMIN, chunk=2)  # four chunks
    assert "nothing" in str(e.value).lower() or "already exists" in str(e.value)
    after = counts(storage)
    assert after["accounts"] == before["accounts"] + 1 and after["contacts"] == before["contacts"]  # only Z9-GF
    assert storage.get_account(code="C1-GF") is None and not storage.list_audit(action_prefix="master_data.").items


def test_xlsx_whose_dimension_understates_its_rows_loads_every_row(storage, tmp_path):
    path = set_dimension(write_xlsx(tmp_path / "short.xlsx", demo_table(320)), "A1:K100")
    assert dimension_of(path) == "A1:K100"
    report = import_master_data(storage, path, actor=ADMIN)
    assert report.rows == 320 and report.counts["flats_created"] == 320 == counts(storage)["accounts"]


def test_xlsx_whose_dimension_claims_a_huge_sheet_loads_its_rows(storage, tmp_path):
    path = set_dimension(write_xlsx(tmp_path / "huge.xlsx", demo_table(40)), "A1:XFD200000")
    report = import_master_data(storage, path, actor=ADMIN)
    assert report.rows == 40 and counts(storage)["accounts"] == 40


def _formula_file(tmp_path):
    path = write_xlsx(tmp_path / "formula.xlsx", demo_table(5))
    from openpyxl import load_workbook

    wb = load_workbook(path)
    wb.active["J4"] = "=J3*2"     # Rate Per Unit of row 4
    wb.active["G6"] = "=123+456"  # Meter Number of row 6
    wb.save(path)
    return path


@pytest.mark.parametrize("case", ["formula", "file_size", "rows", "not_utf8", "not_xlsx"])
def test_unreadable_files_are_refused_with_a_message_and_nothing_written(storage, tmp_path, case):
    limits = None
    if case == "formula":
        path, expect = _formula_file(tmp_path), ["row 4, column 'Rate Per Unit': cell J4 holds a formula (=J3*2)",
                                                 "row 6, column 'Meter Number': cell G6 holds a formula"]
    elif case == "file_size":
        path = write_full_csv(tmp_path / "big.csv", demo_table(50))
        limits, expect = ReadLimits(max_bytes=1000), ["over the limit of 1,000 bytes (MASTER_DATA_MAX_BYTES)"]
    elif case == "rows":
        path = write_full_csv(tmp_path / "long.csv", demo_table(30))
        limits, expect = ReadLimits(max_rows=25), ["more than 25 data rows (MASTER_DATA_MAX_ROWS)"]
    elif case == "not_utf8":
        path = tmp_path / "latin1.csv"
        path.write_bytes(",".join(FULL_HEADER).encode() + b"\nB1-GF,B,GF,2BHK,Jos\xe9,+919800000001,M1,,,12,0\n")
        expect = ["is not UTF-8 text"]
    else:
        path = tmp_path / "fake.xlsx"
        path.write_bytes(b"PK\x03\x04 not really a zip")
        expect = ["not a readable .xlsx workbook"]
    before = everything(storage)
    with pytest.raises(MasterDataError) as e:
        import_master_data(storage, path, actor=ADMIN, limits=limits)
    for text in expect:
        assert text in str(e.value)
    assert everything(storage) == before
