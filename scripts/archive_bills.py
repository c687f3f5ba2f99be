"""Move settled bills older than a year to the archive tables, or bring a month back.

    python -m scripts.archive_bills --dry-run               # what would move, month by month (each month as if
                                                             # the ones before it stayed live); nothing changes
    python -m scripts.archive_bills                          # move every month before the kept 12
    python -m scripts.archive_bills --month 2025-10          # one month only
    python -m scripts.archive_bills --months 18              # keep 18 months live (ARCHIVE_AFTER_MONTHS)
    python -m scripts.archive_bills --restore 2025-10        # the month's archived bills back, unchanged
    python -m scripts.archive_bills --list                   # the archived months and what each holds
    python -m scripts.archive_bills --find 14251000000001234 # an archived bill by PSID (or --account CODE)

A bill moves with its lines, payments, covered readings, payment events, notifications and seal, when
it is settled (paid, carried forward, cancelled or superseded), its account has a newer bill inside the
kept months (where the next bill starts counting), and nothing live still points at it (a ticket, a
re-issue). Each month is one transaction, counted before and after (bills, lines, payments and their
sums); it is rolled back unless both sides agree. The dashboard's and reports' monthly summary rows keep
counting archived months; `python -m scripts.verify_chain` and `verify_billing` check live and archived
bills together. On Supabase, pass the project's PostgreSQL connection string as --database-url.
Exit status: 0 done, 2 bad input or no database.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from services.accounts.roles import Actor

OPERATOR = Actor(None, "archive_bills", "system")


def _storage(database_url: str | None):
    from services.config import Settings, open_storage
    from services.storage.sql_backend import SqlStorage

    return SqlStorage(database_url) if database_url else open_storage(Settings.from_env())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.archive_bills", description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", help="SQLAlchemy URL instead of the configured database")
    ap.add_argument("--months", type=int, help="months kept live (default: ARCHIVE_AFTER_MONTHS, else 12)")
    ap.add_argument("--month", help="archive only this bill month, YYYY-MM")
    ap.add_argument("--dry-run", action="store_true", help="count what would move, change nothing")
    ap.add_argument("--restore", metavar="YYYY-MM", help="move this archived month back to the live tables")
    ap.add_argument("--list", action="store_true", help="list the archived months")
    ap.add_argument("--find", metavar="PSID", help="find an archived bill by its PSID")
    ap.add_argument("--account", help="find an account's archived bills by its code")
    ap.add_argument("--today", help="the date to count the kept months from (default: today)")
    args = ap.parse_args(argv)

    from services.billing.archive import after_months_from_env
    from services.billing.archiving import archive_month, archive_old_months, describe, restore_month
    from services.clock import today as local_today
    from services.errors import MeterlineError

    try:
        storage = _storage(args.database_url)
        today = local_today() if not args.today else __import__("datetime").date.fromisoformat(args.today)
        months = args.months if args.months is not None else after_months_from_env(os.environ)
        began = time.perf_counter()
        if args.list:
            for m in storage.list_archived_months():
                c = m.counts
                print(f"{m.month}: {c.bills} bills (total {c.total_amount}, paid {c.amount_paid}), {c.lines} lines, "
                      f"{c.payments} payments; {m.kept_live} stayed live; archived {m.archived_at:%Y-%m-%d %H:%M} UTC "
                      f"by {m.archived_by}")
            return 0
        if args.find or args.account:
            page = storage.find_archived_bills(psid=args.find, account_code=args.account, limit=100)
            for b in page.items:
                print(f"#{b.id} {b.bill_number or '-'} PSID {b.psid or '-'} {b.account_code} {b.service} "
                      f"{b.billing_period_start} to {b.billing_period_end}: {b.total_amount}, paid {b.amount_paid}, {b.status}")
            print(f"{page.total} archived bill(s)")
            return 0
        if args.restore:
            print(describe(restore_month(storage, args.restore, OPERATOR)))
        elif args.month:
            print(describe(archive_month(storage, args.month, today, OPERATOR, after_months=months, dry_run=args.dry_run)))
        else:
            def progress(i, n, outcome):
                print(f"[{i}/{n}] {describe(outcome)}", flush=True)

            done = archive_old_months(storage, today, OPERATOR, after_months=months, dry_run=args.dry_run,
                                      progress=progress)
            moved = sum(o.moved.bills for o in done)
            print(f"{'would move' if args.dry_run else 'moved'} {moved} bills of {len(done)} month(s) before the "
                  f"last {months}")
        print(f"({time.perf_counter() - began:.1f} s)")
        return 0
    except (MeterlineError, ValueError) as exc:
        print(f"archive_bills: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
