"""Tamper-evident bills: one hash chain over every bill the utility stores.

A bill is sealed in the transaction that stores it (a single bill, or a month run's batch): its
seal holds `hash = sha256(prev_hash + "\\n" + canonical content)`, where the content is every
input of its arithmetic (units, rates, charges, arrears, tariff details, plan version, readings
and usage span it covers), its lines, its total, its number and PSID, and `prev_hash` is the hash
of the seal before it (GENESIS for the first). Payment status is not content: it is the one part
of an issued bill that may change.

Why one chain per utility and not one per account: every writer of bills already queues on the
bill-number counter row of its series in the same transaction (database/bill_numbers.py), so a
chain head taken under that same serialization adds no new contention, while a per-account chain
could not show a whole bill deleted from the end of an account's history, nor a bill moved between
accounts, without exporting 300,000 heads. A month run seals a batch of thousands of bills with one
read of their rows and one multi-row insert (sha256 over ~400 bytes per bill: microseconds).

`verify(conn)` walks the chain in order and recomputes every hash, so it names the first bill whose
content changed (even by direct SQL with the triggers disabled), a seal removed or reordered (its
prev_hash no longer matches), a sealed bill deleted, and bills that carry no seal. The head (seq,
hash) can be exported: whoever keeps it can later check that the history up to it is unchanged.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass

import sqlalchemy as sa

from database import schema as s
from database.archive_triggers import in_archive

GENESIS = "0" * 64
APPEND_ONLY_MESSAGE = "BILL_SEAL_APPEND_ONLY: the seal of a bill is never changed or deleted"
_PG_LOCK_KEY = 7460020  # the chain head: one sealer at a time (bill numbers already serialize writers)

b, seals = s.bills, s.bill_seals

# Every column that is an input of the bill's arithmetic, its identity or its provenance, with how
# its value is written: the same text whichever backend stored it (SQLite keeps NUMERIC as REAL and
# JSON as text; PostgreSQL gives Decimal and dicts) and whether it is read back or taken from the
# bill the run just priced.
CONTENT = (
    ("id", "int"), ("bill_number", "str"), ("psid", "str"), ("account_id", "int"), ("service", "str"),
    ("area_id", "int"), ("billing_period_start", "date"), ("billing_period_end", "date"), ("due_date", "date"),
    ("tariff_kind", "str"), ("pricing_rule", "str"), ("tariff_plan_version_id", "int"), ("category", "str"),
    ("units", "n2"), ("motor_units", "n2"), ("total_units", "n2"), ("rate_per_unit", "n4"), ("fixed_charge", "n2"),
    ("previous_outstanding", "n2"), ("tariff_details", "json"), ("total_amount", "n2"), ("first_reading_id", "int"),
    ("last_reading_id", "int"), ("motor_reading_id", "int"), ("usage_from", "date"), ("usage_to", "date"),
    ("reissue_of", "int"), ("bill_run_id", "int"))
LINE_CONTENT = (("seq", "int"), ("code", "str"), ("label", "str"), ("quantity", "n2"), ("unit", "str"),
                ("rate", "n4"), ("amount", "n2"))
CONTENT_COLUMNS = tuple(c for c, _ in CONTENT)
LINE_COLUMNS = tuple(c for c, _ in LINE_CONTENT)


# tariff_details as the seal writes it (keys sorted, no spaces). The month run stores this very text
# on SQLite, so the batch encodes each bill's details once for the row and the seal.
canonical_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode


def _json(v) -> str:
    if isinstance(v, str):  # JSON stored as text (SQLite), whoever wrote it
        v = json.loads(v)
    return canonical_json(v)


# How each kind of value is written. Numbers are stored at their column's scale (NUMERIC(p,2) or
# (p,4)): printf-style formatting writes a Decimal, or SQLite's REAL holding it, the same way (a
# double holds 15 significant digits, the widest column has 14).
_WRITE = {"int": str, "str": str, "n2": lambda v: "%.2f" % v, "n4": lambda v: "%.4f" % v,
          "date": lambda v: v if isinstance(v, str) else v.isoformat(), "json": _json}
_WRITERS = tuple(_WRITE[k] for _, k in CONTENT)
_LINE_WRITERS = tuple(_WRITE[k] for _, k in LINE_CONTENT)
# A bill the run is storing: its tariff_details arrive as canonical_json text already.
_FRESH_WRITERS = tuple((lambda v: v if isinstance(v, str) else canonical_json(v)) if k == "json" else _WRITE[k]
                       for _, k in CONTENT)


def _write(values, writers) -> str:
    return "\x1f".join(["~" if v is None else w(v) for v, w in zip(values, writers)])


def canonical(values, lines, writers=_WRITERS) -> bytes:
    """The bill's canonical bytes: its CONTENT values (in order), then each line's (in seq order)."""
    if len(lines) > 1:
        lines = sorted(lines, key=lambda x: int(x[0]))
    return "\x1e".join([_write(values, writers)] + [_write(ln, _LINE_WRITERS) for ln in lines]).encode()


def chain_hash(prev_hash: str, content: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + b"\n" + content).hexdigest()


def new_bill_content(nb, bill_id: int, number: str, psid: str, details: str | None = None) -> bytes:
    """The canonical bytes of a bill the month run is storing, from the priced bill itself (what the
    batch writes, column for column), so sealing reads nothing back. `details`: its tariff_details
    as canonical_json text, when the caller encoded them already. The part after the PSID is taken
    from `nb.encoded` when the run's helper thread made it (content_tail)."""
    tail = nb.encoded[1] if nb.encoded else content_tail(nb, nb.tariff_details if details is None else details)
    return _write((bill_id, number, psid), _FRESH_WRITERS[:3]).encode() + b"\x1f" + tail


def content_tail(nb, details) -> bytes:
    """A priced bill's canonical bytes after its id, number and PSID: everything the bill's pricing
    decided, so it can be written before the bill has an id (new_bill_content prefixes those)."""
    values = (nb.account_id, nb.service, nb.area_id, nb.billing_period_start, nb.billing_period_end, nb.due_date,
              nb.tariff_kind, nb.pricing_rule, nb.tariff_plan_version_id, nb.category, nb.units, nb.motor_units,
              nb.total_units, nb.rate_per_unit, nb.fixed_charge, nb.previous_outstanding, details, nb.total_amount,
              nb.first_reading_id, nb.last_reading_id, nb.motor_reading_id, nb.usage_from, nb.usage_to, None,
              nb.bill_run_id)
    return canonical(values, [(ln.seq, ln.code, ln.label, ln.quantity, ln.unit, ln.rate, ln.amount) for ln in nb.lines],
                     _FRESH_WRITERS[3:])


@dataclass(frozen=True)
class ChainHead:
    seq: int
    hash: str
    bill_id: int | None

    def export(self) -> str:
        """One line an outside party can keep: `meterline-bill-chain seq=N hash=H`."""
        return f"meterline-bill-chain seq={self.seq} hash={self.hash}"


def head(conn) -> ChainHead:
    """The last seal, live or archived (issue 14: the archive moves a bill's seal with it, and a
    re-issue of an old month may be the last bill stored)."""
    rows = [conn.execute(sa.select(t.c.seq, t.c.hash, t.c.bill_id).order_by(t.c.seq.desc()).limit(1)).first()
            for t in (seals, s.archived_bill_seals)]
    row = max((r for r in rows if r is not None), key=lambda r: r.seq, default=None)
    return ChainHead(0, GENESIS, None) if row is None else ChainHead(row.seq, row.hash, row.bill_id)


# The chain runs over live and archived bills alike (issue 14): each read is of both tables.
def _both(select_from: str) -> str:
    return f"{select_from.format(t='')} UNION ALL {select_from.format(t='archived_')}"


_BILLS_SQL = _both(f"SELECT {', '.join(CONTENT_COLUMNS)} FROM {{t}}bills WHERE id BETWEEN :lo AND :hi")
_LINES_SQL = _both(f"SELECT bill_id, {', '.join(LINE_COLUMNS)} FROM {{t}}bill_lines WHERE bill_id BETWEEN :lo AND :hi")
_SEAL_AT_SQL = _both("SELECT hash FROM {t}bill_seals WHERE seq = :s")


def _contents(conn, lo: int, hi: int) -> dict[int, bytes]:
    """{bill id: canonical bytes} of the bills with lo <= id <= hi, read raw (no type processing:
    _field writes each backend's raw value the same way)."""
    lines: dict[int, list] = {}
    for row in conn.execute(sa.text(_LINES_SQL), {"lo": lo, "hi": hi}).fetchall():
        lines.setdefault(row[0], []).append(row[1:])
    return {row[0]: canonical(row, lines.get(row[0], ()))
            for row in conn.execute(sa.text(_BILLS_SQL), {"lo": lo, "hi": hi}).fetchall()}


def _lock(conn) -> ChainHead:
    if conn.dialect.name == "postgresql":
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    return head(conn)


def _append(conn, top: ChainHead, items: list[tuple[int, bytes]], now) -> ChainHead:
    """Chain (bill id, content) items after `top` and insert their seals in one statement."""
    seq, prev = top.seq, top.hash
    rows = []
    for bill_id, content in items:
        seq += 1
        h = chain_hash(prev, content)
        rows.append((seq, bill_id, prev, h))
        prev = h
    if not rows:
        return top
    stamp = now or dt.datetime.now(dt.timezone.utc)
    if conn.dialect.name == "sqlite":  # as SQLAlchemy binds a UTC timestamp there
        text = stamp.astimezone(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")
        conn.exec_driver_sql("INSERT INTO bill_seals (seq, bill_id, prev_hash, hash, sealed_at) VALUES (?, ?, ?, ?, ?)",
                             [r + (text,) for r in rows])
    else:
        with conn.connection.driver_connection.cursor() as cur, \
                cur.copy("COPY bill_seals (seq, bill_id, prev_hash, hash, sealed_at) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r + (stamp,))
    return ChainHead(seq, prev, rows[-1][1])


def seal(conn, bill_ids: list[int], now: dt.datetime | None = None) -> ChainHead:
    """Seal stored bills (in id order) onto the chain, reading them back, in the caller's transaction."""
    top = _lock(conn)
    ids = sorted(bill_ids)
    items = []
    for i in range(0, len(ids), 5000):
        chunk = ids[i:i + 5000]
        got = _contents(conn, chunk[0], chunk[-1])
        items += [(x, got[x]) for x in chunk if x in got]
    return _append(conn, top, items, now)


def seal_new(conn, bills, ids: list[int], numbers: list[str], psids: list[str], now=None,
             details: list[str | None] | None = None) -> ChainHead:
    """Seal a month run's batch from the priced bills (the batch's own values; nothing is read back).
    `details`: each bill's tariff_details as canonical_json text, as the batch stored them."""
    top = _lock(conn)
    details = details or [None] * len(bills)
    items = sorted((bid, new_bill_content(nb, bid, no, ps, d))
                   for nb, bid, no, ps, d in zip(bills, ids, numbers, psids, details))
    return _append(conn, top, items, now)


@dataclass(frozen=True)
class ChainReport:
    ok: bool
    checked: int
    head: ChainHead
    first_problem: str | None = None
    bill_id: int | None = None
    unsealed: tuple[int, ...] = ()
    seq: int | None = None  # the seal where the problem is

    def text(self) -> str:
        if self.ok:
            return f"bill chain OK: {self.checked} bills sealed, head {self.head.export()}"
        return f"bill chain BROKEN: {self.first_problem}"


def verify(conn, chunk: int = 20_000, expected_head: str | None = None, first_seq: int = 1,
           last_seq: int | None = None, check_unsealed: bool = True) -> ChainReport:
    """Walk the chain in seq order (a range of the primary key at a time, its bills and lines by id
    range, read raw), recompute every hash, and name the first seal or bill that does not match.
    first_seq/last_seq: one part of the chain (verify_parallel); its first seal must follow the
    stored seal before it."""
    prev, expected_seq, checked, after = GENESIS, first_seq, 0, first_seq - 1
    if first_seq > 1:
        before = conn.execute(sa.text(_SEAL_AT_SQL), {"s": first_seq - 1}).first()
        prev = before[0] if before else "(missing)"
    last = ChainHead(first_seq - 1, prev, None)
    while True:
        upto = "" if last_seq is None else " AND seq <= :hi"
        one = f"SELECT * FROM (SELECT seq, bill_id, prev_hash, hash FROM {{t}}bill_seals WHERE seq > :a{upto} " \
              "ORDER BY seq LIMIT :n) {t}part"
        batch = conn.execute(sa.text(f"SELECT * FROM ({_both(one)}) seals_both ORDER BY seq LIMIT :n"),
                             {"a": after, "n": chunk, "hi": last_seq}).fetchall()
        if not batch:
            break
        ids = [x[1] for x in batch]
        # A run's bills have consecutive ids, so the seals of a chunk cover a compact id range.
        contents = _contents(conn, min(ids), max(ids))
        for seq, bill_id, prev_hash, h in batch:
            if seq != expected_seq:
                return _broken(checked, last, f"seal {expected_seq} is missing (the next seal is {seq}, bill #{bill_id})",
                               bill_id, expected_seq)
            if prev_hash != prev:
                return _broken(checked, last, f"seal {seq} (bill #{bill_id}) does not follow seal {seq - 1}: a seal was "
                                              "removed, replaced or reordered", bill_id, seq)
            content = contents.get(bill_id)
            if content is None:
                return _broken(checked, last, f"bill #{bill_id} (seal {seq}) was deleted", bill_id, seq)
            if chain_hash(prev, content) != h:
                number = content.split(b"\x1f", 2)[1].decode()
                return _broken(checked, last, f"bill #{bill_id} {number} (seal {seq}) was changed after it was issued: "
                                              "its content no longer matches its seal", bill_id, seq)
            prev, expected_seq, checked = h, expected_seq + 1, checked + 1
            last = ChainHead(seq, h, bill_id)
        after = batch[-1][0]
    if last_seq is not None and expected_seq <= last_seq:
        return _broken(checked, last, f"seal {expected_seq} is missing (the chain ends at seal {expected_seq - 1})",
                       None, expected_seq)
    if check_unsealed:
        unsealed = tuple(x for (x,) in conn.execute(
            sa.select(b.c.id).where(~sa.exists().where(seals.c.bill_id == b.c.id)).order_by(b.c.id).limit(10)))
        if unsealed:
            return ChainReport(False, checked, last, f"bill #{unsealed[0]} carries no seal (stored outside Meterline's "
                                                     f"write path, or before sealing existed: run `python -m "
                                                     f"scripts.verify_chain --seal-unsealed` once after an upgrade)",
                               unsealed[0], unsealed)
    if expected_head is not None and expected_head not in (last.hash, last.export()):
        # The exported head must appear on the chain: look it up (the chain may have grown since).
        wanted = expected_head.split("hash=")[-1]
        found = next((r for t in (seals, s.archived_bill_seals)
                      if (r := conn.execute(sa.select(t.c.seq).where(t.c.hash == wanted)).first()) is not None), None)
        if found is None:
            return ChainReport(False, checked, last, "the exported head is not on the chain: history before it was "
                                                     "rewritten (seals recomputed)", None)
    return ChainReport(True, checked, last)


def verify_parallel(url: str, workers: int, expected_head: str | None = None, min_parallel: int = 50_000) -> ChainReport:
    """verify over `workers` processes, each walking one range of seals (a seal stores the hash it
    follows, so a range is checked on its own and joined to the seal before it). The first problem
    by seal order is reported, as verify would."""
    from concurrent.futures import ProcessPoolExecutor

    engine = sa.create_engine(url)
    with engine.connect() as conn:
        top = head(conn).seq
    engine.dispose()
    if workers <= 1 or top < min_parallel:
        return _verify_url(url, 1, None, True, expected_head)
    step = -(-top // workers)
    ranges = [(lo, min(lo + step - 1, top)) for lo in range(1, top + 1, step)]
    with ProcessPoolExecutor(len(ranges)) as pool:
        parts = list(pool.map(_verify_url, [url] * len(ranges), [r[0] for r in ranges], [r[1] for r in ranges],
                              [False] * len(ranges), [None] * len(ranges)))
    checked = sum(p.checked for p in parts)
    bad = [p for p in parts if not p.ok]
    if bad:
        first = min(bad, key=lambda p: p.seq or 0)
        return ChainReport(False, checked, first.head, first.first_problem, first.bill_id)
    # The joins between ranges, then what a single walk checks at the end.
    tail = _verify_url(url, top + 1, None, True, expected_head)
    return ChainReport(tail.ok, checked, parts[-1].head if tail.ok else tail.head, tail.first_problem, tail.bill_id,
                       tail.unsealed)


def _verify_url(url, first_seq, last_seq, check_unsealed, expected_head):
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return verify(conn, first_seq=first_seq, last_seq=last_seq, check_unsealed=check_unsealed,
                          expected_head=expected_head)
    finally:
        engine.dispose()


def _broken(checked, last, problem, bill_id, seq=None) -> ChainReport:
    return ChainReport(False, checked, last, problem, bill_id, seq=seq)


def seal_unsealed(conn) -> ChainHead:
    """Seal bills stored before sealing existed (an upgraded database), in id order."""
    ids = [x for (x,) in conn.execute(sa.select(b.c.id).where(~sa.exists().where(seals.c.bill_id == b.c.id))
                                      .order_by(b.c.id))]
    return seal(conn, ids) if ids else head(conn)


def sqlite_statements() -> list[str]:
    return [f"""CREATE TRIGGER IF NOT EXISTS bill_seals_no_update BEFORE UPDATE ON bill_seals
BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""",
            # Recreated with the archive (issue 14): a seal leaves only with its bill, for the archive.
            "DROP TRIGGER IF EXISTS bill_seals_no_delete",
            f"""CREATE TRIGGER bill_seals_no_delete BEFORE DELETE ON bill_seals WHEN NOT {in_archive("bill_seals")}
BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"""]


def postgresql_statements() -> list[str]:
    return [f"""CREATE OR REPLACE FUNCTION bill_seals_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND {in_archive("bill_seals")} THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}';
END $$""",
            "DROP TRIGGER IF EXISTS bill_seals_append_only ON bill_seals",
            "CREATE TRIGGER bill_seals_append_only BEFORE UPDATE OR DELETE ON bill_seals "
            "FOR EACH ROW EXECUTE FUNCTION bill_seals_append_only()"]
