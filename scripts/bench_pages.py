"""Time each page of the Streamlit app, and its main filters, through Streamlit's AppTest.

    python -m scripts.seed_demo --accounts 300000 --database-url sqlite:////tmp/big.db   # about 15 min
    python -m scripts.bench_pages --database-url sqlite:////tmp/big.db --runs 5

Signs in through the real login form (the demo accounts of seed_demo), then opens every page
`--runs` times and prints the first (cold: empty caches) and the median time of a full script
run per page, then the median of each filter change. Pages only read (no button is pressed),
so the database is not changed. Benchmarks print figures; tests never assert on time.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ADMIN_PAGES = ["ui/dashboard.py", "ui/review_readings.py", "ui/bill_reading.py", "ui/generate_bills.py",
               "ui/bills.py", "ui/status.py"]
ENGINEER_PAGES = ["ui/submit_reading.py", "ui/my_submissions.py"]


def _sign_in(url: str, username: str, password: str, timeout: float):
    from streamlit.testing.v1 import AppTest

    os.environ["DATABASE_URL"] = url
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=timeout)
    at.run()
    at.text_input[0].input(username)
    at.text_input[1].input(password)
    at.button[0].click()
    at.run()
    if at.exception:
        raise SystemExit(f"sign-in as {username} failed: {at.exception[0].value}")
    return at


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _check(at, what: str) -> None:
    if at.exception:
        raise SystemExit(f"{what}: the page raised {at.exception[0].value}")


def bench_page(at, page: str, runs: int) -> list[float]:
    import streamlit as st

    st.cache_data.clear()  # "first" is a cold open: signing in already drew the landing page
    times = []
    for _ in range(runs):
        times.append(_timed(lambda: at.switch_page(page).run()))
        _check(at, page)
    return times


# (page, description, how to set the filter on an AppTest already showing the page)
FILTERS = [
    ("ui/review_readings.py", "review: flagged only", lambda at: at.toggle(key="rv_flagged").set_value(True)),
    ("ui/review_readings.py", "review: block B (the area picker's first level)",
     lambda at: at.selectbox(key="rv_area_1").select_index(2)),
    ("ui/review_readings.py", "review: flat code B17", lambda at: at.text_input(key="rv_code").set_value("B17")),
    ("ui/review_readings.py", "review: next page", lambda at: next(b for b in at.button if b.label == "Next").click()),
    ("ui/bills.py", "bills: search owner 'Sharma'", lambda at: at.text_input(key="bl_search").set_value("Sharma")),
    ("ui/bills.py", "bills: search flat B17-FF", lambda at: at.text_input(key="bl_search").set_value("B17-FF")),
    ("ui/bills.py", "bills: overdue only", lambda at: at.toggle(key="bl_overdue").set_value(True)),
    ("ui/bills.py", "bills: latest period, block C",
     lambda at: (at.selectbox(key="bl_period").set_value(at.selectbox(key="bl_period").options[2]),
                 at.selectbox(key="bl_area_1").select_index(3))),
    ("ui/bills.py", "bills: open a bill", lambda at: next(b for b in at.button if b.label == "Open").click()),
    ("ui/bill_reading.py", "bill a reading: flat B17-FF", lambda at: at.text_input(key="br_code").set_value("B17-FF")),
    ("ui/generate_bills.py", "generate bills: dry run of this month",
     lambda at: next(b for b in at.button if b.label == "Preview (dry run)").click()),
]


def bench_filters(url: str, password: str, runs: int, timeout: float) -> list[tuple[str, list[float]]]:
    out = []
    for page, label, change in FILTERS:
        times = []
        for _ in range(runs):
            at = _sign_in(url, "admin", password, timeout)
            at.switch_page(page).run()
            _check(at, page)
            change(at)
            times.append(_timed(at.run))
            _check(at, label)
        out.append((label, times))
    return out


def _row(name: str, times: list[float]) -> str:
    return (f"{name:38s} {times[0] * 1000:9.0f} {statistics.median(times) * 1000:9.0f} "
            f"{min(times) * 1000:9.0f} {max(times) * 1000:9.0f}")


def main(argv: list[str] | None = None) -> int:
    from scripts.seed_demo import DEMO_USERS

    ap = argparse.ArgumentParser(prog="python -m scripts.bench_pages", description=__doc__.split("\n\n")[0],
                                 epilog="Seed a big database first: python -m scripts.seed_demo --accounts 300000 "
                                        "--database-url sqlite:////tmp/big.db")
    ap.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                    help="SQLAlchemy URL of a seeded database (default: $DATABASE_URL)")
    ap.add_argument("--runs", type=int, default=5, help="script runs per page (default 5)")
    ap.add_argument("--timeout", type=float, default=300, help="seconds one script run may take (default 300)")
    ap.add_argument("--no-filters", action="store_true", help="only open each page; skip the filter changes")
    args = ap.parse_args(argv)
    if not args.database_url:
        ap.error("give --database-url (or set DATABASE_URL) of a database seeded with scripts.seed_demo")
    os.environ["METERLINE_DOTENV"] = "0"
    os.environ.setdefault("PHOTO_DIR", str(Path(os.environ.get("TMPDIR", "/tmp")) / "bench_pages_photos"))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    passwords = {u: pw for u, _, _, pw in DEMO_USERS}
    from services.storage.sql_backend import SqlStorage

    counts = SqlStorage(args.database_url).table_counts(["accounts", "readings", "bills", "payments"])
    print("Database: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    print(f"{'page (ms per script run)':38s} {'first':>9s} {'median':>9s} {'min':>9s} {'max':>9s}")
    at = _sign_in(args.database_url, "admin", passwords["admin"], args.timeout)
    for page in ADMIN_PAGES:
        print(_row(page, bench_page(at, page, args.runs)), flush=True)
    at = _sign_in(args.database_url, "engineer", passwords["engineer"], args.timeout)
    for page in ENGINEER_PAGES:
        print(_row(page + " (engineer)", bench_page(at, page, args.runs)), flush=True)
    if not args.no_filters:
        print(f"{'filter change (ms per script run)':38s} {'first':>9s} {'median':>9s} {'min':>9s} {'max':>9s}")
        for label, times in bench_filters(args.database_url, passwords["admin"], max(3, args.runs // 2), args.timeout):
            print(_row(label, times), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
