"""Check the configured database: connectivity, schema, row counts.

    python -m scripts.verify_migration
    python -m scripts.verify_migration --database-url postgresql://user@host/db

Read-only. Exits 0 when the database answers and every table exists, 1 otherwise.
"""
from __future__ import annotations

import argparse
import sys

from database import schema as s
from services.config import Settings, open_storage
from services.errors import MeterlineError


def verify(storage) -> tuple[bool, list[str]]:
    lines = [f"backend: {storage.backend_name}"]
    try:
        storage.ping()
    except MeterlineError as exc:
        return False, lines + [f"FAIL connectivity: {exc}"]
    lines.append("ok   connectivity")
    tables = [t.name for t in s.metadata.sorted_tables if t.name != "schema_info"]
    try:
        counts = storage.table_counts(tables)
    except Exception as exc:  # a missing table surfaces as a backend-specific error
        return False, lines + [f"FAIL tables: {exc.__class__.__name__}: {str(exc).splitlines()[0]}"]
    lines.append(f"ok   {len(counts)} tables present")
    for name in tables:
        lines.append(f"     {name:16s} {counts[name]:>12,}")
    locks = storage.locked_months()
    lines.append(f"ok   locked months: {', '.join(locks) or '(none)'}")
    return True, lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.verify_migration", description=__doc__.split("\n\n")[0])
    ap.add_argument("--database-url", help="SQLAlchemy URL to check instead of the configured database")
    args = ap.parse_args(argv)
    if args.database_url:
        from services.storage.sql_backend import SqlStorage

        storage = SqlStorage(args.database_url, create=False)
    else:
        storage = open_storage(Settings.from_env())
    ok, lines = verify(storage)
    print("\n".join(lines))
    print("RESULT: OK" if ok else "RESULT: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
