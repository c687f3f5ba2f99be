"""Run (or dry-run) the month's bills from the command line, with the run's manifest.

    python -m scripts.run_bills 2026-11 --dry-run             # the diff against last month, nothing written
    python -m scripts.run_bills 2026-11 --due 2026-12-15      # the real run; prints the bills' chain head
    python -m scripts.run_bills 2026-11 --dry-run --json manifest.json --csv manifest.csv
    python -m scripts.run_bills 2026-11 --area B              # only the accounts under area path B
    python -m scripts.run_bills 2026-11 --estimate            # accounts with no reading (or usage) billed an estimate

The manifest (docs/trust.md) is saved with the run (bill_run_manifests) and printed: bills, units and
amounts per area and category, what was skipped and why; a dry run adds the accounts new or
missing against last month, the totals per area up or down, and the 20 biggest movers with their
reason. After a real run the chain head is printed: keep it outside Meterline, and
`python -m scripts.verify_chain --expect-head "<head>"` later shows the history is unchanged.
Exit status: 0 done, 1 refused (a locked month), 2 bad input or no database.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from services.accounts.roles import Actor
from services.billing.periods import BillingPeriod

OPERATOR = Actor(None, "run_bills", "system")


def _print(manifest, money) -> None:
    d = manifest.data
    print(f"{'dry run' if d['dry_run'] else 'run #' + str(d['run_id'])} {d['period_start']} to {d['period_end']}: "
          f"{d['bills']:,} bills, {money(d['total_amount'])}")
    print("skipped: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in d["skipped"].items()))
    print("per area and category:")
    for g in d.get("groups", []):
        print(f"  {g['area']:<32} {g['category']:<24} {g['bills']:>8,} bills {g['units']:>14} units {money(g['amount']):>18}")
    diff = d.get("diff") or {}
    if diff.get("areas"):
        print("totals per area against last month:")
        for a in diff["areas"]:
            arrow = "up" if a["change"] > 0 else "down" if a["change"] < 0 else "same"
            print(f"  {a['area']:<32} {money(a['previous']):>18} -> {money(a['now']):>18}  {arrow} {money(abs(a['change']))}")
    if d["dry_run"] and diff:
        print(f"new accounts: {diff['new_accounts']:,}; billed last month but not now: {diff['missing_accounts']:,}"
              + (f" ({', '.join(diff['missing_sample'])})" if diff.get("missing_sample") else ""))
        if diff.get("movers"):
            print(f"the {len(diff['movers'])} biggest movers:")
            for mv in diff["movers"]:
                print(f"  {mv['account']:<18} {money(mv['previous']):>14} -> {money(mv['now']):>14}  {mv['reason']}")
    if d.get("chain_head"):
        print(f"bills' chain head: {d['chain_head']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.run_bills", description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("month", help="the billing month, YYYY-MM")
    ap.add_argument("--due", help="due date (default: the utility's due days after the month)")
    ap.add_argument("--dry-run", action="store_true", help="price and compare, write no bill")
    ap.add_argument("--area", help="only the accounts under this area path (e.g. B, or LHR/UC-1)")
    ap.add_argument("--estimate", action="store_true",
                    help="a metered plan: bill an estimate to accounts with no reading (water: no daily usage) in the "
                         "month: their average daily use over their last readings (water: the last 90 days, scaled by "
                         "last year's step into the month); the next actual reading or usage trues it up")
    ap.add_argument("--json", type=Path, help="also write the manifest as JSON here")
    ap.add_argument("--csv", type=Path, help="also write the manifest as CSV here")
    ap.add_argument("--database-url", help="SQLAlchemy URL instead of the configured database")
    args = ap.parse_args(argv)
    from services.config import Settings, open_storage
    from services.database_service import DatabaseService
    from services.errors import MeterlineError

    try:
        period = BillingPeriod.for_month(args.month)
        if args.database_url:
            from services.storage.sql_backend import SqlStorage

            storage = SqlStorage(args.database_url, create=False)
        else:
            storage = open_storage(Settings.from_env())
        db = DatabaseService(storage)
        utility = db.utility()
        import datetime as dt

        due = dt.date.fromisoformat(args.due) if args.due else period.end + dt.timedelta(days=utility.due_days)
        area_id = None
        if args.area:
            area = storage.get_area(path=args.area)
            if area is None:
                print(f"No area with path {args.area!r}.")
                return 2
            area_id = area.id
        summary, manifest, manifest_id = db.month_run(period.start, period.end, due, dry_run=args.dry_run,
                                                      actor=OPERATOR, area_id=area_id, estimate=args.estimate)
    except (MeterlineError, ValueError) as exc:
        print(f"Refused: {exc}")
        return 2
    if not args.dry_run and summary.run_id is not None:
        from services.customers.alerts import CustomerAlerts

        # The portal's bill-ready alert (e-mail when SMTP is configured, else the notifications log).
        sent = CustomerAlerts(storage, utility_name=utility.name).run_bills_ready(db, summary.run_id, OPERATOR)
        if sent:
            print("customer alerts: " + ", ".join(f"{k} {v}" for k, v in sorted(sent.items())))
    _print(manifest, utility.money)
    if manifest_id:
        print(f"manifest #{manifest_id} saved with the run")
    if args.json:
        args.json.write_text(manifest.to_json())
    if args.csv:
        args.csv.write_text(manifest.to_csv())
    print(summary.message)
    return 1 if summary.status == "refused" else 0


if __name__ == "__main__":
    sys.exit(main())
