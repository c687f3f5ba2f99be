"""The import_usage command line on SQLite: help, an xlsx and a CSV stored once, exit codes."""
import pytest
from openpyxl import Workbook

from scripts import import_usage
from services.storage.sql_backend import SqlStorage
from tests.factories import make_water


def test_help(capsys):
    with pytest.raises(SystemExit) as e:
        import_usage.main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert "usage_ccf" in out and "--no-detect" in out and "--database-url" in out


def test_an_xlsx_is_stored_once_and_a_bad_csv_exits_1(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    st = SqlStorage(url)
    make_water(st)
    wb = Workbook()
    ws = wb.active
    ws.append(["Customer", "Date", "Usage CCF"])
    ws.append(["HS0000001", "2026-08-01", 0.5])
    ws.append(["HS0000002", "2026-08-01", 1.25])
    path = tmp_path / "aug.xlsx"
    wb.save(path)
    assert import_usage.main([str(path), "--database-url", url, "--no-detect"]) == 0
    assert "stored 2 day(s) of usage for 2 customer(s)" in capsys.readouterr().out
    assert import_usage.main([str(path), "--database-url", url]) == 0
    assert "nothing new" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("customer,date,usage_ccf\nHS0000001,2026-08-01,0.70\nHS0000003,2026-08-01,x\n")
    assert import_usage.main([str(bad), "--database-url", url]) == 1
    err = capsys.readouterr().err
    assert "row 2, column 'usage_ccf'" in err and "row 3, column 'usage_ccf'" in err and "nothing was loaded" in err
    assert st.table_counts(["daily_usage"])["daily_usage"] == 3 * 31 + 2
