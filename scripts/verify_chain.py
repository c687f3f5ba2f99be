"""Walk the bills' hash chain and name the first bill whose content or order changed.

    python -m scripts.verify_chain
    python -m scripts.verify_chain --database-url sqlite:////tmp/demo.db
    python -m scripts.verify_chain --expect-head HASH     # also check a head exported earlier
    python -m scripts.verify_chain --head                 # print the current head only (to export)
    python -m scripts.verify_chain --seal-unsealed        # once after an upgrade: seal older bills

Every bill is sealed when it is stored: hash = sha256(previous hash + its canonical content: every
input of its arithmetic, its lines, total, number and PSID). This walks the seals in order,
recomputes each hash from the bill as stored now, and stops at the first that does not match: a
bill edited (even by direct SQL with the triggers disabled), deleted, a seal removed or
reordered, or a bill that carries no seal. Keeping an exported head elsewhere also catches a
history rewritten with recomputed seals (--expect-head). --head and --seal-unsealed work on every
backend (the Supabase REST backend too); the walk reads the database directly (SQLite, PostgreSQL, or
the PostgreSQL behind a Supabase project with --database-url).
Exit status: 0 OK, 1 broken, 2 the database cannot be checked.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from database import bill_chain


def _storage(database_url: str | None):
    from services.config import Settings, open_storage
    from services.storage.sql_backend import SqlStorage

    return SqlStorage(database_url, create=False) if database_url else open_storage(Settings.from_env())


def _engine(storage):
    engine = getattr(storage, "engine", None)
    if engine is None:
        raise RuntimeError(f"the {storage.backend_name} backend seals bills, but the walk reads the database "
                           "directly: check the PostgreSQL database behind it with --database-url (Supabase: "
                           "Project Settings > Database > Connection string)")
    return engine


def check(engine, expected_head: str | None = None, workers: int = 1) -> bill_chain.ChainReport:
    if workers > 1:
        return bill_chain.verify_parallel(engine.url.render_as_string(hide_password=False), workers, expected_head)
    with engine.connect() as conn:
        return bill_chain.verify(conn, expected_head=expected_head)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.verify_chain", description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 2)[2], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--database-url", help="SQLAlchemy URL to check instead of the configured database")
    ap.add_argument("--expect-head", help="a head exported earlier (its hash, or the whole exported line)")
    ap.add_argument("--head", action="store_true", help="print the chain head and exit")
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="processes walking parts of the chain at once (default: the CPU count; 1 for a single walk)")
    ap.add_argument("--seal-unsealed", action="store_true", help="seal bills stored before sealing existed")
    args = ap.parse_args(argv)
    try:
        storage = _storage(args.database_url)
        if args.seal_unsealed:  # through the storage contract: the Supabase REST backend too
            print(f"sealed; head {storage.seal_unsealed_bills().export()}")
        if args.head:
            print(storage.bill_chain_head().export())
            return 0
        engine = _engine(storage)
        began = time.perf_counter()
        report = check(engine, args.expect_head, args.workers)
    except Exception as exc:
        print(f"RESULT: could not check the database: {exc.__class__.__name__}: {str(exc).splitlines()[0]}")
        return 2
    print(f"{report.text()} ({time.perf_counter() - began:.1f} s)")
    print("RESULT: OK" if report.ok else "RESULT: FAILED")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
