"""Master data import on every backend: validate everything first, then store; a re-import updates
what changed and duplicates nothing (Storage.master_data_state / apply_master_data)."""
import csv

import pytest

from services.errors import MasterDataError, PermissionDeniedError
from services.master_import import MasterDataChanges, import_master_data
from tests.factories import ADMIN, ENGINEER

HEADER = ["Flat Code", "Block", "Floor", "Flat Type", "Owner Name", "Owner Phone", "Meter Number", "Motor",
          "Motor Meter Number"]
ROWS = [
    ["B17-FF", "B", "FF", "2BHK", "Test Owner", "+910000000000", "19152159", "MOTOR-B2", "82000002"],
    ["B18-FF", "B", "FF", "3BHK", "Asha Rao", "98000 00001", "19152160", "MOTOR-B2", "82000002"],
    ["A1-GF", "A", "GF", "4 bhk", "Farhan Khan", "+91 98000-00002", 19150001, "", ""],
    ["5BHK-D3-SF", "D", "SF", "5BHK", "Meera Nair", "919800000003", "19150003", "MOTOR-D1", "84000001"],
]


def write(tmp_path, rows, header=HEADER, name="master.csv"):
    path = tmp_path / name
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


@pytest.fixture
def floors(storage):
    storage.bulk_insert("floors", [{"code": "GF", "name": "Ground Floor", "sort_order": 0},
                                   {"code": "FF", "name": "First Floor", "sort_order": 1},
                                   {"code": "SF", "name": "Second Floor", "sort_order": 2}])
    storage.bulk_insert("flat_types", [{"name": "2BHK", "bhk": 2}])


def counts(storage):
    return storage.table_counts(["flats", "owners", "flat_owners", "meters", "motors", "flat_motors", "flat_types"])


def test_import_then_reimport_duplicates_nothing(storage, floors, tmp_path):
    path = write(tmp_path, ROWS)
    report = import_master_data(storage, path, actor=ADMIN)
    c = report.counts
    assert (c["flats_created"], c["owners_created"], c["meters_created"], c["motors_created"]) == (4, 4, 6, 2)
    assert (c["links_added"], c["flat_types_created"]) == (3, 3)
    flat = storage.get_flat(code="B18-FF")
    assert (flat.owner_name, flat.owner_phone, flat.flat_type, flat.floor_code) == ("Asha Rao", "+919800000001", "3BHK", "FF")
    assert storage.get_flat(code="D3-SF").flat_type == "5BHK"  # the BHK prefix is not part of the code
    assert storage.get_flat(code="A1-GF").flat_type == "4BHK"
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
    assert storage.get_flat(code="B17-FF").owner_phone == "+919811111111"
    assert storage.get_flat(code="B18-FF").flat_type == "2BHK"
    assert storage.get_meter(meter_id=old_meter.id).status == "replaced"  # kept, with its readings
    assert storage.get_meter(meter_number="19159999").status == "active"
    state = storage.master_data_state(["D3-SF", "A1-GF"], ["19159999", "19150001"], ["MOTOR-D2"])
    assert state.flat_motors["D3-SF"] == ["MOTOR-D2"] and [n for _, n in state.flat_meters["A1-GF"]] == ["19159999"]
    assert state.meters["19150001"]["status"] == "replaced" and state.meters["19159999"]["flat_code"] == "A1-GF"
    assert [n for _, n in state.motor_meters["MOTOR-D2"]] == ["84000002"]


def test_every_problem_listed_with_its_row_and_nothing_written(storage, floors, tmp_path):
    bad = [
        ["B17-FF", "B", "FF", "2BHK", "Test Owner", "+910000000000", "19152159", "", ""],
        ["B17-FF", "B", "FF", "2BHK", "Someone", "+919800000009", "19152199", "", ""],    # duplicate flat code
        ["C1-XF", "C", "XF", "2BHK", "Ravi", "+919800000010", "19152200", "", ""],         # unknown floor
        ["C2-GF", "C", "GF", "2BHK", "Ravi", "12345", "19152201", "", ""],                 # bad phone
        ["C3-GF", "C", "GF", "2BHK", "Ravi", "+919800000011", "19152159", "", ""],         # meter on two flats
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
    assert "meter 19152159 is on two flats: B17-FF (row 2) and C3-GF" in text and "'12345' is not a phone" in text
    assert counts(storage)["flats"] == 0 and counts(storage)["meters"] == 0


def test_missing_column_and_dry_run(storage, floors, tmp_path):
    with pytest.raises(MasterDataError) as e:
        import_master_data(storage, write(tmp_path, [r[:6] for r in ROWS], header=HEADER[:6]), actor=ADMIN)
    assert [(p.row, p.column) for p in e.value.problems] == [(1, "Meter Number")]
    report = import_master_data(storage, write(tmp_path, ROWS), actor=ADMIN, dry_run=True)
    assert report.counts["flats_created"] == 4 and report.dry_run and "DRY RUN" in report.lines()[0]
    assert counts(storage)["flats"] == 0


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
    assert storage.get_flat(code="B19-FF") is None


def test_import_needs_permission(storage, floors, tmp_path):
    with pytest.raises(PermissionDeniedError):
        import_master_data(storage, write(tmp_path, ROWS), actor=ENGINEER)


def test_apply_master_data_is_one_unit_of_work(storage, floors):
    storage.bulk_insert("flats", [{"code": "Z1-GF", "block": "Z"}])
    storage.bulk_insert("meters", [{"meter_number": "M-TAKEN", "flat_id": storage.get_flat(code="Z1-GF").id}])
    changes = MasterDataChanges(
        flats_new=[{"code": "Z2-GF", "block": "Z", "floor_code": "GF", "flat_type": "2BHK"}],
        owners_new=[{"flat_code": "Z2-GF", "name": "Zed", "phone": None}],
        meters_new=[{"meter_number": "M-TAKEN", "flat_code": "Z2-GF", "motor_code": None}])
    with pytest.raises(Exception):
        storage.apply_master_data(changes, ADMIN)
    assert storage.get_flat(code="Z2-GF") is None and counts(storage)["owners"] == 0


def test_generated_spreadsheet_imports(storage, tmp_path):
    from scripts.generate_master_data import write_xlsx
    from services import demo_society as demo

    storage.bulk_insert("floors", [{"code": c, "name": n, "sort_order": o} for c, n, o in demo.FLOORS])
    path = tmp_path / "master.xlsx"
    n = write_xlsx(path, 64)
    report = import_master_data(storage, path, actor=ADMIN, chunk=25)  # three chunks
    assert report.counts["flats_created"] == n == counts(storage)["flats"]
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
                                     "WHERE relname = 'flats'")).scalar()
        planned = c.execute(sa.text("SELECT reltuples FROM pg_class WHERE relname = 'flats'")).scalar()
    assert analyzed and planned == 4
