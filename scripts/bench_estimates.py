"""Time estimated bills on a big society database: what they add to a run, and an estimating run.

    python -m scripts.bench_data --accounts 50000 --database-url sqlite:////tmp/e.db
    python -m scripts.bench_estimates --database-url sqlite:////tmp/e.db

On a `scripts.bench_data` society (October's readings approved, November's pending), it times:
  1. October's run (no estimate anywhere): every batch also looks for open estimates, through the
     partial index ix_bills_estimates, and finds none;
  2. that look alone, over every 1,000 accounts (the run's batch), with no estimate stored;
  3. an estimating run of December (no reading dated then): every flat billed an estimate;
  4. the look again, now that every flat has an open estimate (what the next actual run pays).
It then checks that verify_billing's checks are clean. The database is changed: use a copy.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import time

BATCH = 1000


def _look(storage, n_accounts: int) -> tuple[float, int]:
    """(seconds, accounts with an estimate entry) for estimate_entries over every batch of accounts."""
    t0, found = time.perf_counter(), 0
    for lo in range(1, n_accounts + 1, BATCH):
        found += len(storage.estimate_entries(range(lo, min(lo + BATCH, n_accounts + 1))))
    return time.perf_counter() - t0, found


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.bench_estimates", description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", required=True, help="SQLAlchemy URL of a scripts.bench_data society (changed)")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    from services.accounts.roles import Actor
    from services.billing.periods import BillingPeriod
    from services.database_service import DatabaseService
    from services.storage.sql_backend import SqlStorage

    storage = SqlStorage(args.database_url, create=False)
    db = DatabaseService(storage=storage, today=lambda: dt.date(2027, 1, 5))
    actor = Actor(None, "bench_estimates", "admin", "cli")
    accounts = storage.table_counts(["accounts"])["accounts"]
    out: dict = {"backend": storage.dialect, "accounts": accounts}

    def run(month: str, estimate: bool):
        p = BillingPeriod.for_month(month)
        t0 = time.perf_counter()
        s = db.generate_bills_for_month(p.start, p.end, p.end + dt.timedelta(days=15), actor=actor, estimate=estimate)
        return time.perf_counter() - t0, s

    secs, s = run("2026-10", False)
    out["october_run_s"], out["october_bills"] = round(secs, 2), s.created
    secs, found = _look(storage, accounts)
    out["look_none_s"], out["look_none_found"] = round(secs, 3), found
    secs, s = run("2026-12", True)
    out["estimating_run_s"], out["estimated"], out["december_bills"] = round(secs, 2), s.estimated, s.created
    secs, found = _look(storage, accounts)
    out["look_all_s"], out["look_all_found"] = round(secs, 3), found
    out["checks"] = {k: n for k, (n, _) in storage.billing_checks().items()}
    storage.dispose()
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{out['backend']}, {accounts:,} flats")
        print(f"  October's run (no estimates):          {out['october_run_s']:>8} s  {out['october_bills']:,} bills")
        print(f"  open-estimate look, none stored:       {out['look_none_s']:>8} s  over {accounts:,} accounts")
        print(f"  December's estimating run:             {out['estimating_run_s']:>8} s  {out['estimated']:,} estimated")
        print(f"  open-estimate look, every flat open:   {out['look_all_s']:>8} s  {out['look_all_found']:,} found")
        print("  checks: " + ", ".join(f"{k} {v}" for k, v in out["checks"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
