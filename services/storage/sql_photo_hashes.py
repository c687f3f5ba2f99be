"""SQL part: meter photos' perceptual hashes, stored and looked up by band (services/photo_checks.py).

The lookup is four indexed equality probes (one per 16-bit band, UNION ALL), never a scan: a
candidate shares at least one band with the photo; the exact Hamming distance is computed here.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from database import schema as s
from services import photo_checks as pc
from services.storage.sql_common import as_date

ph, m, a = s.photo_hashes, s.meters, s.accounts
CANDIDATES_PER_BAND = 2000  # a band value shared by thousands of photos (a blank picture) is not a lookup


def record(conn, reading_id: int, meter_id: int, reading_date: dt.date, pr: pc.PhotoPrint, photo_ref: str | None) -> None:
    b0, b1, b2, b3 = pr.bands
    exists = conn.execute(sa.select(ph.c.id).where(ph.c.reading_id == reading_id)).first()
    if exists:
        return  # a repeat of the same reading keeps the first photo's print
    conn.execute(ph.insert().values(reading_id=reading_id, meter_id=meter_id, reading_date=reading_date,
                                    phash=pr.phash, band0=b0, band1=b1, band2=b2, band3=b3,
                                    taken_at=pr.taken_at, photo_ref=photo_ref))


def candidates_query(dialect: str, phash: str, exclude_reading_id: int | None = None):
    """Rows sharing at least one band with `phash`: four index probes, UNION ALL."""
    parts = []
    for i, value in enumerate(pc.bands(phash)):
        col = ph.c[f"band{i}"]
        q = sa.select(ph.c.reading_id, ph.c.meter_id, ph.c.reading_date, ph.c.phash, ph.c.photo_ref).where(col == value)
        if exclude_reading_id is not None:
            q = q.where(ph.c.reading_id != exclude_reading_id)
        parts.append(q.limit(CANDIDATES_PER_BAND))
    if dialect == "sqlite":  # SQLite refuses LIMIT inside a compound member
        parts = [sa.select(sq.c) for sq in (p.subquery() for p in parts)]
    return sa.union_all(*parts)


def candidates(conn, phash: str, exclude_reading_id: int | None = None):
    return conn.execute(candidates_query(conn.dialect.name, phash, exclude_reading_id)).all()


def findings(conn, reading_id: int, max_distance: int = pc.MAX_DISTANCE, limit: int = 3, *,
             mine_where=None, meter_in_scope=None) -> list[pc.PhotoFinding]:
    """The photo of reading `reading_id`, checked: reused (closest first), then stale.

    mine_where: the reader's scope on the checked photo's meter (no row: no findings); meter_in_scope:
    a predicate on meters.id, None for everything. A candidate whose meter fails it is passed on
    hidden (no meter, account, reading or photo): the database decides, not the page."""
    q = sa.select(ph).where(ph.c.reading_id == reading_id)
    if mine_where is not None:
        q = q.where(mine_where)
    mine = conn.execute(q).first()
    if mine is None:
        return []
    rows, seen = [], set()
    for c in candidates(conn, mine.phash, reading_id):
        if c.reading_id not in seen and pc.distance(mine.phash, c.phash) <= max_distance:
            seen.add(c.reading_id)
            rows.append(c)
    names = {}
    if rows:
        nq = (sa.select(m.c.id, m.c.meter_number, a.c.code).select_from(m.outerjoin(a, a.c.id == m.c.account_id))
              .where(m.c.id.in_({c.meter_id for c in rows})))
        if meter_in_scope is not None:
            nq = nq.where(meter_in_scope)
        names = {x.id: (x.meter_number, x.code) for x in conn.execute(nq)}
    found = [pc.PhotoCandidate(as_date(c.reading_date), c.phash, c.meter_id, c.reading_id, c.photo_ref, *names[c.meter_id])
             if c.meter_id in names else pc.PhotoCandidate(as_date(c.reading_date), c.phash) for c in rows]
    out = pc.reuse_findings(mine.meter_id, as_date(mine.reading_date), mine.phash, found, max_distance=max_distance,
                            limit=limit)
    stale = pc.stale_finding(_datetime(mine.taken_at), as_date(mine.reading_date))
    return out + ([stale] if stale else [])


class PhotoHashesPart:
    """The storage contract's photo prints and findings (services/storage/base.py), scoped in SQL."""

    def record_photo_print(self, reading_id: int, meter_id: int, reading_date: dt.date, photo_print: pc.PhotoPrint,
                           photo_ref: str | None) -> None:
        with self.engine.begin() as conn:
            record(conn, reading_id, meter_id, reading_date, photo_print, photo_ref)

    def photo_findings(self, reading_id: int, max_distance: int = pc.MAX_DISTANCE, limit: int = 3) -> list[pc.PhotoFinding]:
        in_scope = self._meter_in_scope(m.c.id)
        if self.scope.account_ids is not None:
            mine_where = sa.false()  # a customer sees no photo findings (a reviewer's tool)
        else:
            mine_where = self._meter_in_scope(ph.c.meter_id)
        with self.engine.connect() as conn:
            return findings(conn, reading_id, max_distance, limit, mine_where=mine_where, meter_in_scope=in_scope)


def _datetime(v):
    return dt.datetime.fromisoformat(v) if isinstance(v, str) else v


class ChainPart:
    """The storage contract's bill chain calls (database/bill_chain.py) on SQLite and PostgreSQL."""

    def bill_chain_head(self):
        from database import bill_chain

        with self.engine.connect() as conn:
            return bill_chain.head(conn)

    def seal_unsealed_bills(self):
        from database import bill_chain

        with self.engine.begin() as conn:
            return bill_chain.seal_unsealed(conn)

