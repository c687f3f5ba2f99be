"""The import_master_data command line on the embedded SQLite backend: help, exit codes, summary."""
import pytest

from scripts import import_master_data
from scripts.generate_master_data import write_csv
from services.demo import society as demo
from services.storage.sql_backend import SqlStorage


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        import_master_data.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "--dry-run" in out and "Flat Code" in out


def test_exit_codes_and_summary(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    st = SqlStorage(url)
    path = tmp_path / "master.csv"
    n = write_csv(path, 32)
    assert import_master_data.main([str(path), "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert "backend: sqlite" in out and f"accounts:  {n} created, 0 updated, 0 unchanged" in out
    bad = tmp_path / "bad.csv"
    bad.write_text(path.read_text().replace("+91", "+1", 1))
    assert import_master_data.main([str(bad), "--database-url", url]) == 1
    err = capsys.readouterr().err
    assert "row 2, column 'Owner Phone'" in err and "nothing was loaded" in err
    assert import_master_data.main([str(tmp_path / "missing.xlsx"), "--database-url", url]) == 1
    assert st.table_counts(["accounts"])["accounts"] == n


def test_empty_database_needs_nothing_beforehand(tmp_path, capsys):
    """Nothing inserted by hand: the import sets the society up and creates the blocks and floors (areas)
    the file needs."""
    url = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    path = tmp_path / "master.csv"
    n = write_csv(path, 32)
    assert import_master_data.main([str(path), "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert f"accounts:  {n} created" in out and "areas (blocks, floors): 20 created" in out
    st = SqlStorage(url)
    assert sorted({(a.code, a.name) for a in st.list_areas(level=2)}) == sorted((c, name) for c, name, _ in demo.FLOORS)
    assert st.utility_settings_row()["template"] == "society"
