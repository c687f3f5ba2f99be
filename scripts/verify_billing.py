"""Check the billing invariants of the configured database (read-only, every backend).

    python -m scripts.verify_billing
    python -m scripts.verify_billing --database-url sqlite:////tmp/demo.db --limit 20

Every unit billed exactly once, every bill right, every balance adding up:
  1. uncovered readings: approved readings older than their meter's last billed reading that no
     bill (not superseded) covers: consumption that was never billed;
  2. double coverage: readings covered by more than one bill that is not superseded;
  3. bills whose total does not recompute from their stored inputs and plan version, or
     whose units differ from the units of the readings they cover;
  4. accounts whose outstanding balance (what they owe on open bills) is not the current charges
     (total - previous outstanding) of their bills that are neither superseded nor cancelled,
     less the payments on them;
  5. bills whose lines (energy, tiers, fees, arrears ...) do not add up to their total;
  6. the dashboard's and reports' per-month, per-area summary rows (database/bill_totals.py) that
     differ from a recomputation from the bills;
  7. the bills' hash chain (scripts/verify_chain.py): the first bill changed after it was issued.
It prints the count and the first offenders of each check. The checks are set-based queries in
the database; the recomputation walks the bills a page at a time by id. Nothing is written.
Exit status: 0 when every check passes, 1 when one finds an offender, 2 when the database cannot
be checked.
"""
from __future__ import annotations

import argparse
import json
import sys

from services.config import Settings, open_storage
from services.billing.pricing import PlanBook
from services.models import BillFilter
from services.pricing_service import PricingService
from services.tariff_rules import TariffRules

PAGE = 1000
CHECKS = (
    ("uncovered_readings", "approved readings older than their meter's last billed reading that no bill covers"),
    ("double_covered", "readings covered by more than one bill that is not superseded"),
    ("recompute", "bills whose total does not recompute from their stored inputs"),
    ("units_mismatch", "bills whose units differ from the units of the readings they cover"),
    ("balance_mismatch", "accounts whose outstanding balance is not their current charges less the payments on them"),
    ("lines_mismatch", "bills whose lines do not add up to their total"),
    ("totals_mismatch", "summary rows (month, area, due date, status) that differ from their bills"),
)


def recompute_check(storage, limit: int) -> tuple[int, list[dict]]:
    """Every bill, a page at a time by id, recomputed from its stored inputs: a plan-priced bill with
    the stored plan version that priced it, an older bill by the seed's formula."""
    book = PlanBook(storage.list_tariff_plans(), PricingService(Settings.from_env().master_data_path))
    bad, first, after = 0, [], 0
    while True:
        page = storage.list_bills_after(BillFilter(), after, PAGE)
        for bill in page:
            q = book.recompute(bill)
            again = q.total_amount if q is not None else TariffRules.recompute(bill)
            if again != bill.total_amount:
                bad += 1
                if len(first) < limit:
                    first.append({"bill_id": bill.id, "account_id": bill.account_id, "total_amount": str(bill.total_amount),
                                  "recomputed": str(again)})
        if len(page) < PAGE:
            return bad, first
        after = page[-1].id


def verify(storage, limit: int = 10) -> tuple[bool, list[str]]:
    found = dict(storage.billing_checks(limit))
    found["recompute"] = recompute_check(storage, limit)
    lines = [f"backend: {storage.backend_name}"]
    ok = True
    for key, what in CHECKS:
        n, first = found[key]
        if not n:
            lines.append(f"ok   0 {what}")
            continue
        ok = False
        lines.append(f"FAIL {n:,} {what}; the first {len(first)}:")
        lines += [f"       {json.dumps(row, default=str, sort_keys=True)}" for row in first]
    engine = getattr(storage, "engine", None)
    if engine is None:  # the REST backend: the chain is checked on the PostgreSQL behind it
        lines.append("skip the bills' hash chain: check it with python -m scripts.verify_chain --database-url")
        return ok, lines
    from scripts.verify_chain import check as check_chain

    chain = check_chain(engine)
    lines.append(f"ok   0 {chain.text()}" if chain.ok else f"FAIL 1 {chain.text()}")
    return ok and chain.ok, lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.verify_billing", description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", help="SQLAlchemy URL to check instead of the configured database")
    ap.add_argument("--limit", type=int, default=10, help="offenders listed per check (default 10)")
    args = ap.parse_args(argv)
    if args.limit < 1:
        ap.error("--limit must be at least 1")
    try:
        if args.database_url:
            from services.storage.sql_backend import SqlStorage

            storage = SqlStorage(args.database_url, create=False)
        else:
            storage = open_storage(Settings.from_env())
        ok, lines = verify(storage, args.limit)
    except Exception as exc:  # a missing table or a refused key surfaces as a backend-specific error
        print(f"RESULT: could not check the database: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
        return 2
    print("\n".join(lines))
    print("RESULT: OK" if ok else "RESULT: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
