"""Import the municipal field survey of consumer units (seed 003's survey_units) from a CSV or xlsx file.

    python -m scripts.import_survey survey.csv --dry-run
    python -m scripts.import_survey survey.xlsx
    python -m scripts.import_survey survey.csv --database-url sqlite:////tmp/demo.db

Works on every backend (SQLite, PostgreSQL, Supabase REST). Every row is checked first (a required
column empty, a survey id twice, bad or swapped GPS, unknown unit type, size category, house type,
water connection or UC type, a mobile that is not a Pakistani mobile, an unknown city/tehsil or union
council, a house without its size in marla) and every problem is listed with its row and column; if
there is any, nothing is written. Then all rows are stored in one transaction: new units (with their
billing consumer as the primary contact, the survey, and a sanitation connection from the survey
month unless the unit type is exempt); changed units updated, each change of billing name, mobile or
address kept in the unit's history. Exits 0 on success, 1 when the file has problems, 2 when the
database refuses it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.accounts.roles import Actor
from services.config import Settings, open_storage
from services.errors import MasterDataError, MeterlineError
from services.municipal.survey import SURVEY_COLUMNS
from services.municipal.survey_import import import_survey

IMPORTER = Actor(None, "import_survey", "system")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.import_survey", description=__doc__.split("\n\n")[0],
                                 epilog="Columns (seed 003's survey_units, one header row, any order): "
                                        + ", ".join(SURVEY_COLUMNS) + ". See docs/municipal.md.")
    ap.add_argument("file", help="the survey file (.csv or .xlsx, first sheet, one header row)")
    ap.add_argument("--dry-run", action="store_true", help="check everything and report the changes, write nothing")
    ap.add_argument("--database-url", help="SQLAlchemy URL to load into instead of the configured database")
    args = ap.parse_args(argv)
    path = Path(args.file)
    if not path.is_file():
        print(f"{path}: no such file", file=sys.stderr)
        return 1
    if args.database_url:
        from services.storage.sql_backend import SqlStorage

        storage = SqlStorage(args.database_url)
    else:
        storage = open_storage(Settings.from_env())
    try:
        out = import_survey(storage, path.read_bytes(), path.name, IMPORTER, dry_run=args.dry_run)
    except MasterDataError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    except MeterlineError as exc:
        print(f"{path}: the database refused the import: {exc}", file=sys.stderr)
        return 2
    finally:
        dispose = getattr(storage, "dispose", None)
        if dispose:
            dispose()
    print(f"backend: {storage.backend_name}")
    print(f"{out.source}: {out.rows} row(s): {out.created} new, {out.updated} updated, {out.unchanged} unchanged, "
          f"{out.history} name/mobile/address change(s) kept in history" + (" (dry run: nothing written)"
                                                                           if out.dry_run else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
