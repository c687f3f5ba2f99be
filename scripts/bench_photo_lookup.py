"""Benchmark the reused-photo lookup (docs/trust.md) at N stored photo hashes.

    python -m scripts.bench_photo_lookup                       # 1,000,000 hashes, a throwaway SQLite file
    python -m scripts.bench_photo_lookup --photos 200000 --lookups 500
    python -m scripts.bench_photo_lookup --database-url postgresql+psycopg://...   # an EMPTY database

Fills photo_hashes with random 64-bit hashes (plus planted near-copies 1 to 3 bits away), then
times lookups of the planted photos through the same query the review page uses (four band
index probes, then the exact distance) and checks every planted copy is found. Prints the fill
time, the lookup time per photo (median and 99th percentile) and the candidates read per lookup.
"""
from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from database import schema as s
from services import photo_checks as pc
from services.storage import sql_photo_hashes


def _rows(n: int, rnd: random.Random, planted: dict[int, str]):
    for i in range(1, n + 1):
        h = planted.get(i) or f"{rnd.getrandbits(64):016x}"
        b = pc.bands(h)
        yield (i, i, 1 + i % 50_000, f"2026-{1 + i % 12:02d}-15", h, *b)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.bench_photo_lookup", description=__doc__.split("\n\n")[0])
    ap.add_argument("--photos", type=int, default=1_000_000)
    ap.add_argument("--lookups", type=int, default=1000)
    ap.add_argument("--database-url", help="an empty database to fill (default: a throwaway SQLite file)")
    args = ap.parse_args(argv)
    rnd = random.Random(20)
    # Pairs: an original and a copy 1-3 bits away, both stored; looking the copy up must find the original.
    originals = {rnd.randrange(1, args.photos // 2): f"{rnd.getrandbits(64):016x}" for _ in range(args.lookups)}
    planted, pairs = dict(originals), []
    for orig_id, h in originals.items():
        copy_id = args.photos // 2 + orig_id
        flipped = int(h, 16)
        for bit in rnd.sample(range(64), rnd.randint(1, 3)):
            flipped ^= 1 << bit
        planted[copy_id] = f"{flipped:016x}"
        pairs.append((copy_id, orig_id))
    tmp = None
    url = args.database_url
    if not url:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(tmp.name) / 'photos.db'}"
    engine = sa.create_engine(url)
    s.photo_hashes.create(engine, checkfirst=True)  # the table alone: the lookup reads nothing else
    cols = "id, reading_id, meter_id, reading_date, phash, band0, band1, band2, band3"
    began = time.perf_counter()
    with engine.begin() as conn:
        rows = list(_rows(args.photos, rnd, planted))
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql(f"INSERT INTO photo_hashes ({cols}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        else:
            with conn.connection.driver_connection.cursor() as cur, cur.copy(f"COPY photo_hashes ({cols}) FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
        del rows
    fill = time.perf_counter() - began
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE photo_hashes")
    times, reads, found = [], [], 0
    with engine.connect() as conn:
        for copy_id, orig_id in pairs:
            h = planted[copy_id]
            t0 = time.perf_counter()
            cands = sql_photo_hashes.candidates(conn, h, copy_id)
            near = [c.reading_id for c in cands if pc.distance(h, c.phash) <= pc.MAX_DISTANCE]
            times.append(time.perf_counter() - t0)
            reads.append(len(cands))
            found += orig_id in near
    engine.dispose()
    times.sort()
    print(f"{args.photos:,} photo hashes ({engine.dialect.name}); filled in {fill:.1f} s")
    print(f"{len(pairs)} lookups: median {statistics.median(times) * 1000:.2f} ms, "
          f"p99 {times[int(len(times) * 0.99) - 1] * 1000:.2f} ms; candidates read per lookup: "
          f"median {statistics.median(reads):.0f}, max {max(reads)}")
    print(f"planted copies 1-3 bits away found: {found} of {len(pairs)}")
    if tmp:
        tmp.cleanup()
    return 0 if found == len(pairs) else 1


if __name__ == "__main__":
    raise SystemExit(main())
