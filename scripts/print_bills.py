"""Print bills to one merged PDF (or a zip of one PDF per bill), streamed to disk.

    python -m scripts.print_bills --month 2026-11 --out prints/
    python -m scripts.print_bills --month 2026-11 --format zip --area B --out prints/
    python -m scripts.print_bills --run 42 --out prints/ --database-url sqlite:////tmp/demo.db

Works on whatever utility the database holds (society, municipal, water): each bill in that
utility's name, words, currency and number format. By default it prints the bills that stand
(pending, partly paid, paid, overdue, carried forward), not superseded or cancelled ones
(--status to choose). Memory stays flat however many bills: they are read, rendered and written a
chunk at a time. The file is named after what was printed (bills-2026-11.pdf, bills-run-42.zip)
and appears only when complete. Prints the bills per second at the end.
"""
from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path

from database.schema import BILL_STATUSES
from services.documents.bulk import CHUNK, FORMATS, print_bills
from services.models import BillFilter


def _service(database_url: str | None):
    from services.config import Settings, open_storage
    from services.database_service import DatabaseService
    from services.pricing_service import PricingService

    if database_url:
        return DatabaseService.from_url(database_url)
    settings = Settings.from_env()
    return DatabaseService(open_storage(settings), PricingService(settings.master_data_path))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.print_bills", description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    which = ap.add_mutually_exclusive_group(required=True)
    which.add_argument("--month", help="the bills whose period starts in this month (YYYY-MM)")
    which.add_argument("--run", type=int, help="the bills a month run stored (its id: Generate monthly bills, Recent runs)")
    ap.add_argument("--out", type=Path, required=True, help="directory to write the file to (created if missing)")
    ap.add_argument("--format", choices=FORMATS, default="pdf", help="one merged PDF (default) or a zip of one PDF per bill")
    ap.add_argument("--area", help="only bills under this area path (a block B, a union council KSR/KSR-UC01)")
    ap.add_argument("--status", action="append", choices=BILL_STATUSES,
                    help="only bills of this status (repeatable; default: every bill that stands)")
    ap.add_argument("--chunk", type=int, default=CHUNK, help=f"bills rendered at a time (default {CHUNK})")
    ap.add_argument("--database-url", help="SQLAlchemy URL instead of the configured database")
    ap.add_argument("--quiet", action="store_true", help="no progress lines")
    args = ap.parse_args(argv)
    if args.month:
        import re

        if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", args.month):
            ap.error(f"--month {args.month!r}: use YYYY-MM, e.g. 2026-11")
    if args.chunk < 1:
        ap.error("--chunk must be at least 1")
    db = _service(args.database_url)
    area_id = None
    if args.area:
        area = db.storage.get_area(path=args.area.strip().upper())
        if area is None:
            print(f"No area {args.area!r}. Use an area path, e.g. B or B/FF (the Bills page's area filter shows them).",
                  file=sys.stderr)
            return 2
        area_id = area.id
    flt = BillFilter(period_month=args.month, bill_run_id=args.run, area_id=area_id, statuses=tuple(args.status or ()))
    name = f"bills-{args.month or f'run-{args.run}'}{f'-{args.area.replace(chr(47), chr(95))}' if args.area else ''}.{args.format}"

    def progress(done: int, total: int) -> None:
        if not args.quiet:
            print(f"{done:,} / {total:,} bills", file=sys.stderr, flush=True)

    result = print_bills(db, flt, args.out / name, fmt=args.format, chunk=args.chunk, progress=progress)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if not result.bills:
        print(f"No bills to print for {'month ' + args.month if args.month else f'run {args.run}'}; wrote an empty "
              f"{result.path}.")
        return 1
    print(f"{result.bills:,} bills of {db.utility().name} to {result.path} ({result.bytes / 1e6:.1f} MB) in "
          f"{result.seconds:.1f} s: {result.per_second:.0f} bills/s, peak memory {peak_mb:.0f} MB")
    if result.paperless:
        print(f"{result.paperless:,} bills left out: their portal customer chose paperless billing.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
