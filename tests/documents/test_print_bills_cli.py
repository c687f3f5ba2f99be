"""python -m scripts.print_bills on a database file: the month's bills to one PDF or a zip; a wrong month or area says so."""
import datetime as dt
import zipfile

from pypdf import PdfReader

from scripts import print_bills
from services.storage.sql_backend import SqlStorage
from tests.factories import make_service, make_society

TODAY = dt.date(2026, 11, 22)


def test_cli_prints_a_month(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    storage = SqlStorage(url)
    make_society(storage)
    db = make_service(storage, TODAY)
    for i, code in enumerate(("B17-FF", "A1-GF", "C14-SF")):
        db.create_bill(code, "2026-10-01", "2026-10-31", "2026-11-15", flat_units=10 + i, previous_outstanding=0)
    storage.dispose()
    out = tmp_path / "prints"
    assert print_bills.main(["--month", "2026-10", "--out", str(out), "--database-url", url, "--quiet"]) == 0
    assert len(PdfReader(out / "bills-2026-10.pdf").pages) == 3
    said = capsys.readouterr().out
    assert "3 bills of Blessings City" in said and "bills/s" in said and "peak memory" in said
    assert print_bills.main(["--month", "2026-10", "--format", "zip", "--area", "B", "--out", str(out),
                             "--database-url", url, "--quiet"]) == 0
    assert zipfile.ZipFile(out / "bills-2026-10-B.zip").namelist() == ["BC-2026-000001.pdf"]
    assert print_bills.main(["--month", "2026-09", "--out", str(out), "--database-url", url, "--quiet"]) == 1
    assert print_bills.main(["--month", "2026-10", "--area", "Z", "--out", str(out), "--database-url", url]) == 2
