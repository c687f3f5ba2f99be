"""Import a water usage file (CSV or xlsx) into the configured database, all rows or none.

    python -m scripts.import_usage usage-2026-11.csv
    python -m scripts.import_usage reads.xlsx --database-url sqlite:////tmp/water.db

Columns (header row; case, spaces and punctuation ignored): `customer` (the customer code) or `meter`
(the meter number), `date` (YYYY-MM-DD), and `usage_ccf` (CCF used that day) or `meter_value` (the
meter's register that day; its consumption since the meter's previous reading is spread evenly over
the days it measured). Every problem is listed with its row and column and nothing is stored while
there is one. Rows already stored with the same values are counted as unchanged, so importing the
same file again stores nothing and says so; a row with another value for a day already stored is
refused, naming the row. After storing, anomaly detection runs for the months the file touched
(--no-detect leaves it to the daily job). Exits 0 on success, 1 when the file has problems, 2 when
the database refuses it.
"""
from __future__ import annotations

import argparse
import sys

from services.accounts.roles import Actor
from services.config import Settings, open_storage
from services.database_service import DatabaseService
from services.errors import MasterDataError, MeterlineError

IMPORTER = Actor(None, "import_usage", "system")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.import_usage", description=__doc__.split("\n\n")[0],
                                 epilog="Columns: customer or meter, date, usage_ccf or meter_value. All rows or "
                                        "none; a repeat stores nothing; see docs/water.md#usage-ingestion.")
    ap.add_argument("file", help="the usage file (.csv or .xlsx, first sheet, one header row)")
    ap.add_argument("--database-url", help="SQLAlchemy URL to import into instead of the configured database")
    ap.add_argument("--no-detect", action="store_true", help="do not run anomaly detection after storing")
    args = ap.parse_args(argv)
    if args.database_url:
        from services.storage.sql_backend import SqlStorage

        storage = SqlStorage(args.database_url)
    else:
        storage = open_storage(Settings.from_env())
    try:
        result = DatabaseService(storage).import_usage_file(args.file, actor=IMPORTER, detect=not args.no_detect)
    except MasterDataError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except MeterlineError as exc:
        print(f"{args.file}: the database refused the import, nothing was stored: {exc}", file=sys.stderr)
        return 2
    finally:
        dispose = getattr(storage, "dispose", None)
        if dispose:
            dispose()
    print(result.message)
    return 0


if __name__ == "__main__":
    sys.exit(main())
