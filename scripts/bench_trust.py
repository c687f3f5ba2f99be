"""What the tamper-evident bills cost (docs/trust.md): the month run with and without sealing, and
verify_chain's time per bill.

    python -m scripts.bench_trust                      # the society, 50,000 flats, SQLite, 3 runs each way
    python -m scripts.bench_trust --accounts 300000 --repeat 1

A synthetic society (scripts/bench_data.py) is loaded once into a temporary SQLite file and copied
for every measurement. The run is timed in a fresh process, alternately with sealing switched off
(database.bill_chain.seal replaced by a no-op: the code before issue 20) and on; medians are
reported. Then, on a sealed copy, last month's bills (loaded by the plain path, unsealed) are
sealed and the whole chain is verified: seconds per bill, and that rate at 3.6M bills.
"""
from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def phase(url: str, n: int, seal: bool) -> dict:
    from scripts.benchmark import PERIOD, _service

    if not seal:
        import database.bill_chain as bc

        bc.seal = lambda conn, ids, now=None: None
    db = _service(url, n, "society")
    t0, c0 = time.perf_counter(), time.process_time()
    s = db.generate_bills_for_month(*PERIOD)
    return {"seconds": time.perf_counter() - t0, "cpu": time.process_time() - c0, "created": s.created}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.bench_trust", description=__doc__.split("\n\n")[0])
    ap.add_argument("--accounts", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--phase", nargs=2, metavar=("URL", "SEAL"), help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.phase:
        print(json.dumps(phase(args.phase[0], args.accounts, args.phase[1] == "on")))
        return 0
    from scripts import bench_data
    from services.storage.sql_backend import SqlStorage

    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base.db"
        st = SqlStorage(f"sqlite:///{base}")
        bench_data.build(st, args.accounts, "society", say=lambda *_: None)
        st.dispose()
        times: dict[str, list[float]] = {"off": [], "on": []}
        cpu: dict[str, list[float]] = {"off": [], "on": []}
        run_db = Path(tmp) / "run.db"
        for _ in range(args.repeat):
            for mode in ("off", "on"):
                shutil.copy(base, run_db)
                out = subprocess.run([sys.executable, "-m", "scripts.bench_trust", "--accounts", str(args.accounts),
                                      "--phase", f"sqlite:///{run_db}", mode], capture_output=True, text=True, cwd=ROOT)
                if out.returncode:
                    print(out.stderr[-3000:])
                    return 1
                r = json.loads(out.stdout.strip().splitlines()[-1])
                times[mode].append(r["seconds"])
                cpu[mode].append(r["cpu"])
        off, on = statistics.median(times["off"]), statistics.median(times["on"])
        print(f"month run, {args.accounts:,} flats (SQLite): without sealing {off:.1f} s, with sealing {on:.1f} s "
              f"(medians of {args.repeat}; {100 * (on - off) / off:+.1f}%); all: {times}")
        c_off, c_on = statistics.median(cpu["off"]), statistics.median(cpu["on"])
        print(f"  the run process's CPU time (the database's own work included on SQLite): without {c_off:.1f} s, "
              f"with {c_on:.1f} s ({100 * (c_on - c_off) / c_off:+.1f}%)")
        # run.db is the last sealed run: seal last month's bills too, then verify the whole chain.
        import sqlalchemy as sa

        from database import bill_chain

        engine = sa.create_engine(f"sqlite:///{run_db}")
        with engine.begin() as conn:
            t0 = time.perf_counter()
            bill_chain.seal_unsealed(conn)
            sealing = time.perf_counter() - t0
        engine.dispose()
        for workers in (1, 2):
            t0 = time.perf_counter()
            report = bill_chain.verify_parallel(f"sqlite:///{run_db}", workers, min_parallel=0)
            took = time.perf_counter() - t0
            per = took / max(report.checked, 1)
            print(f"verify_chain --workers {workers}: {report.checked:,} bills in {took:.1f} s ({per * 1e6:.1f} us a "
                  f"bill; at 3.6M bills {per * 3_600_000:.0f} s); {report.text()[:30]}")
        print(f"sealing the {args.accounts:,} older bills afterwards (seal-unsealed, reading them back) took {sealing:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
