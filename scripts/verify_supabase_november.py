"""Verify the November 2025 lock (read-only), on whichever backend is configured.

    python -m scripts.verify_supabase_november
    python -m scripts.verify_supabase_november --month 2025-11 --database-url sqlite:///data/meterline.db

Checks: (1) the month is in period_locks; (2) the database itself refuses a bill ending in it (a
direct insert inside a transaction that is always rolled back); (3) no bill ends in the month
beyond those that existed when it was locked. Exits 0 when all pass.
"""
from __future__ import annotations

import argparse
import sys

from services.config import Settings, open_storage


def verify(storage, month: str) -> tuple[bool, list[str]]:
    lines, ok = [f"backend: {storage.backend_name}; month: {month}"], True
    locks = {lk.month: lk for lk in storage.list_period_locks()}
    lock = locks.get(month)
    if lock is None:
        return False, lines + [f"FAIL {month} is not in period_locks"]
    lines.append(f"ok   {month} locked by {lock.locked_by} at {lock.locked_at:%Y-%m-%d %H:%M} UTC ({lock.reason})")
    refused, detail = storage.probe_lock_enforced(month)
    lines.append(("ok   " if refused else "FAIL ") + detail)
    ok &= refused
    now = storage.count_bills_ending_in(month)
    at_lock = lock.bill_count_at_lock or 0
    if now > at_lock:
        ok = False
        lines.append(f"FAIL {now} bill(s) end in {month}, but only {at_lock} existed when it was locked")
    else:
        lines.append(f"ok   {now} bill(s) end in {month} ({at_lock} at lock time)")
    return ok, lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.verify_supabase_november", description=__doc__.split("\n\n")[0])
    ap.add_argument("--month", default="2025-11", help="locked month to verify (default 2025-11)")
    ap.add_argument("--database-url", help="SQLAlchemy URL to check instead of the configured database")
    args = ap.parse_args(argv)
    if args.database_url:
        from services.storage.sql_backend import SqlStorage

        storage = SqlStorage(args.database_url, create=False)
    else:
        storage = open_storage(Settings.from_env())
    ok, lines = verify(storage, args.month)
    print("\n".join(lines))
    print("RESULT: OK" if ok else "RESULT: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
