"""python -m scripts.import_survey: --help, a dry run writes nothing, a bad file exits 1 naming row and
column, a good file is stored."""
import pytest

from scripts import import_survey as script
from services.storage.sql_backend import SqlStorage
from tests.contract.test_survey_import import ROW, csv_of
from tests.factories import make_municipal


def test_help_names_the_columns(capsys):
    with pytest.raises(SystemExit):
        script.main(["--help"])
    out = capsys.readouterr().out
    assert "--dry-run" in out and "billing_consumer_name" in out


def test_dry_run_then_import_then_a_bad_file(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    storage = SqlStorage(url)
    make_municipal(storage)
    good = tmp_path / "survey.csv"
    good.write_bytes(csv_of(ROW))
    assert script.main([str(good), "--dry-run", "--database-url", url]) == 0
    assert "1 new" in capsys.readouterr().out and storage.get_account(code=ROW["survey_id"]) is None
    assert script.main([str(good), "--database-url", url]) == 0
    assert storage.get_account(code=ROW["survey_id"]).name == "Ali Raza"
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_of({**ROW, "gps_lat": "x"}))
    assert script.main([str(bad), "--database-url", url]) == 1
    assert "row 2, column 'gps_lat'" in capsys.readouterr().err
    storage.dispose()
