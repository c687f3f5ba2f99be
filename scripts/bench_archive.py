"""Time the bill archive on a big database: moving a month, the checks over live and archived bills,
a restore.

    python -m scripts.bench_data --utility municipal --accounts 300000 --database-url sqlite:////tmp/a.db
    python -m scripts.bench_archive --database-url sqlite:////tmp/a.db

On a `scripts.bench_data` database (September's bills, some paid), it runs October (the bills that
stay live: every account's newer bill), then, as if a year had passed (kept months from October), it
times: a dry run of September's move, the move, the billing checks and the chain walk over live and
archived bills, the restore, and the move again. Counts are checked equal each way. The database is
changed: use a copy.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import time


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.bench_archive", description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", required=True, help="SQLAlchemy URL of a scripts.bench_data database (changed)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    from database import bill_chain
    from services.accounts.roles import Actor
    from services.billing.periods import BillingPeriod
    from services.database_service import DatabaseService
    from services.storage.sql_backend import SqlStorage

    storage = SqlStorage(args.database_url, create=False)
    later = dt.date(2027, 10, 15)  # the kept months start at 2026-10
    db = DatabaseService(storage=storage, today=lambda: dt.date(2026, 11, 22))
    actor = Actor(None, "bench_archive", "system", "cli")
    out: dict = {"backend": storage.dialect, "accounts": storage.table_counts(["accounts"])["accounts"]}

    def timed(key, fn):
        t0 = time.perf_counter()
        value = fn()
        out[key] = round(time.perf_counter() - t0, 2)
        return value

    oct_ = BillingPeriod.for_month("2026-10")
    run = timed("october_run_s", lambda: db.generate_bills_for_month(oct_.start, oct_.end, dt.date(2026, 11, 15),
                                                                      actor=actor))
    out["october_bills"] = run.created
    out["live_bills_before"] = storage.table_counts(["bills"])["bills"]
    dry = timed("dry_run_s", lambda: storage.archive_bill_month("2026-09", later, actor, after_months=12, dry_run=True))
    moved = timed("archive_s", lambda: storage.archive_bill_month("2026-09", later, actor, after_months=12))
    assert dry.moved == moved.moved, (dry, moved)
    out["moved_bills"], out["kept_live"] = moved.moved.bills, moved.kept_live
    out["moved_rows"] = moved.moved.bills + moved.moved.lines + moved.moved.payments + moved.moved.other_rows
    out["moved_total"] = str(moved.moved.total_amount)
    checks = timed("checks_s", storage.billing_checks)
    out["checks"] = {k: n for k, (n, _) in checks.items()}
    with storage.engine.connect() as conn:
        report = timed("chain_walk_s", lambda: bill_chain.verify(conn))
    out["chain_ok"], out["chain_checked"] = report.ok, report.checked
    back = timed("restore_s", lambda: storage.restore_bill_month("2026-09", actor))
    assert back.moved == moved.moved
    timed("archive_again_s", lambda: storage.archive_bill_month("2026-09", later, actor, after_months=12))
    out["live_bills_after"] = storage.table_counts(["bills"])["bills"]
    storage.dispose()
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{out['backend']}, {out['accounts']:,} accounts")
        print(f"  October's run:                  {out['october_run_s']:>8} s  {out['october_bills']:,} bills")
        print(f"  September's move, dry run:      {out['dry_run_s']:>8} s")
        print(f"  September's move:               {out['archive_s']:>8} s  {out['moved_bills']:,} bills "
              f"({out['moved_rows']:,} rows, {out['moved_total']}); {out['kept_live']:,} stay live")
        print(f"  billing checks, live + archive: {out['checks_s']:>8} s  " +
              ", ".join(f"{k} {v}" for k, v in out["checks"].items()))
        print(f"  chain walk, live + archive:     {out['chain_walk_s']:>8} s  ok={out['chain_ok']} "
              f"({out['chain_checked']:,} seals)")
        print(f"  restore:                        {out['restore_s']:>8} s")
        print(f"  move again:                     {out['archive_again_s']:>8} s")
        print(f"  live bills: {out['live_bills_before']:,} before, {out['live_bills_after']:,} after")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
