"""Load accounts, contacts, meters and motors from the master data spreadsheet into the configured database.

    python -m scripts.import_master_data data/Blessings_City_Master_Data.xlsx --dry-run
    python -m scripts.import_master_data master.csv
    python -m scripts.import_master_data master.xlsx --database-url sqlite:////tmp/demo.db

Works on every backend (SQLite, PostgreSQL, Supabase REST). Every field of every row is checked
first (missing column, empty cell, text too long for its column, control characters, a BHK count
outside 1-20, a rate or fixed charge that is not a number, duplicate flat code, unknown floor,
unknown flat type, a meter on two accounts, bad phone number, block or floor that contradicts the
flat code, a meter that belongs to another flat in the database) and every problem is listed with
its row and column; if there is any, nothing is written. Then the whole file is stored in one
transaction: all rows or none. A re-import updates what changed (block, floor, type, owner name
and phone, a new meter number, a new motor) and duplicates nothing. Floors GF/FF/SF/TF (and 4F,
5F ...) and flat types like 3BHK are created when missing. The file is read safely (a wrong sheet
dimension is ignored, formula cells are refused, MASTER_DATA_MAX_BYTES / _MAX_UNPACKED_BYTES /
_MAX_ROWS cap it). Exits 0 on success, 1 when the file has problems, 2 when the database refuses it.
"""
from __future__ import annotations

import argparse
import sys

from services.config import Settings, open_storage
from services.errors import MasterDataError, MeterlineError
from services.master_data.importer import import_master_data
from services.accounts.roles import Actor

IMPORTER = Actor(None, "import_master_data", "system")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.import_master_data", description=__doc__.split("\n\n")[0],
                                 epilog="Columns: Flat Code, Block, Floor, Flat Type, Owner Name, Owner Phone, Meter "
                                        "Number, and optionally Motor, Motor Meter Number, Rate Per Unit, Fixed Charge "
                                        "(see README). Every field is checked first; then all rows are stored in one "
                                        "transaction, or none. Limits: MASTER_DATA_MAX_BYTES, "
                                        "MASTER_DATA_MAX_UNPACKED_BYTES, MASTER_DATA_MAX_ROWS.")
    ap.add_argument("file", help="the master data file (.xlsx or .csv, first sheet, one header row)")
    ap.add_argument("--dry-run", action="store_true", help="check everything and report the changes, write nothing")
    ap.add_argument("--database-url", help="SQLAlchemy URL to load into instead of the configured database")
    args = ap.parse_args(argv)
    if args.database_url:
        from services.storage.sql_backend import SqlStorage

        storage = SqlStorage(args.database_url)
    else:
        storage = open_storage(Settings.from_env())
    try:
        report = import_master_data(storage, args.file, actor=IMPORTER, dry_run=args.dry_run)
    except MasterDataError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except MeterlineError as exc:
        print(f"{args.file}: the database refused the import: {exc}", file=sys.stderr)
        return 2
    finally:
        dispose = getattr(storage, "dispose", None)
        if dispose:
            dispose()
    print(f"backend: {storage.backend_name}")
    print("\n".join(report.lines()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
