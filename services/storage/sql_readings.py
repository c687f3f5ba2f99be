"""SQL backend part: accounts, meters and readings.

Every write to a meter's chain of readings runs in one write_tx that first takes the meter's lock
(_lock_meter): on PostgreSQL `SELECT ... FOR UPDATE` on the meter row, held to the end of the
transaction; on SQLite write_tx began with BEGIN IMMEDIATE, which holds the database's write
lock. The neighbours are read after that, inside the same transaction, and the pure rules
(services/readings/rules.py) run on them through the caller's `build` callback.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import sqlalchemy as sa

from database import schema as s
from database.name_search import name_contains
from services.clock import utcnow
from services.errors import ConflictError, NotFoundError, ValidationError
from services.models import READING_SORTS, MeterChoice, NewReading, Page, Reading, ReadingFilter, sort_column
from services.readings.rules import (
    MeterInfo, NeighbourReading, ReadingContext, Relink, relink_after_rejection,
)
from services.readings.undo import check_undoable, plan_undo_rejection
from services.accounts.roles import Actor
from services.storage.sql_common import read_tx, write_tx
from services.storage.sql_scope import scope_where

f, ar, o, fo, m, r = s.accounts, s.areas, s.contacts, s.account_contacts, s.meters, s.readings

# Primary contact of an account (at most one, enforced by a partial unique index).
_primary = sa.and_(fo.c.account_id == f.c.id, fo.c.is_primary.is_(True))


def _account_select():
    return (
        sa.select(f, ar.c.path.label("area_path"), ar.c.name.label("area_name"), o.c.name.label("contact_name"),
                  o.c.phone.label("contact_phone"), o.c.email.label("contact_email"), o.c.id.label("contact_id"))
        .select_from(f.join(ar, ar.c.id == f.c.area_id).outerjoin(fo, _primary).outerjoin(o, o.c.id == fo.c.contact_id))
    )


def area_subtree(area_id: int):
    """Ids of the area and every area under it (areas is small: hundreds to a few thousand rows)."""
    top = sa.select(ar.c.path).where(ar.c.id == area_id).scalar_subquery()
    return sa.select(ar.c.id).where(sa.or_(ar.c.path == top, ar.c.path.startswith(top + "/")))


def area_ids(conn, area_id: int | None) -> list[int] | None:
    """The subtree's ids as values (None for no area). PostgreSQL estimates `area_id IN (7, 8, 9)` from its statistics
    but only guesses at the path-matching sub-select: for a block of 75,000 of 300,000 flats it
    guessed so few rows that it sorted every flagged reading instead of walking them newest first
    (the flagged queue of a block: 818 ms with the sub-select, 103 ms with the ids alone)."""
    return None if area_id is None else list(conn.execute(area_subtree(area_id)).scalars())


def _choice_select():
    mm = m.alias("motor_meter")
    mo = s.motors.alias("motor")
    fm = s.account_motors.alias("fm")
    return (
        sa.select(m.c.id.label("meter_id"), m.c.meter_number, m.c.unit, f.c.id.label("account_id"),
                  f.c.code.label("account_code"), ar.c.path.label("area_path"), ar.c.name.label("area_name"),
                  f.c.category, o.c.name.label("contact_name"), o.c.phone.label("contact_phone"),
                  mo.c.code.label("motor_code"), mm.c.id.label("motor_meter_id"),
                  mm.c.meter_number.label("motor_meter_number"))
        .select_from(
            m.join(f, f.c.id == m.c.account_id).join(ar, ar.c.id == f.c.area_id)
            .outerjoin(fo, _primary).outerjoin(o, o.c.id == fo.c.contact_id)
            .outerjoin(fm, fm.c.account_id == f.c.id).outerjoin(mo, mo.c.id == fm.c.motor_id)
            .outerjoin(mm, sa.and_(mm.c.motor_id == mo.c.id, mm.c.account_id.is_(None), mm.c.status == "active"))
        )
        .where(m.c.status == "active", f.c.is_active.is_(True))
    )


# "Billed" means covered by a bill that is not superseded (services/billing/coverage.py): a flat reading
# through bill_readings, a shared motor meter's reading through bills.motor_reading_id.
def _bill_ref(col):
    br = s.bill_readings
    return sa.select(sa.func.min(br.c.bill_id)).where(br.c.reading_id == col, br.c.superseded_by.is_(None)).scalar_subquery()


def _motor_bill_ref(col):
    b = s.bills
    return sa.select(sa.func.min(b.c.id)).where(b.c.motor_reading_id == col, b.c.status != "superseded").scalar_subquery()


def _reading_select():
    u = s.users
    return (
        sa.select(r, m.c.meter_number, m.c.unit, f.c.id.label("account_id"), f.c.code.label("account_code"),
                  ar.c.path.label("area_path"), o.c.name.label("contact_name"),
                  u.c.username.label("submitted_by_name"),
                  sa.func.coalesce(_bill_ref(r.c.id), _motor_bill_ref(r.c.id)).label("bill_id"))
        .select_from(
            r.join(m, m.c.id == r.c.meter_id).outerjoin(f, f.c.id == m.c.account_id)
            .outerjoin(ar, ar.c.id == f.c.area_id)
            .outerjoin(fo, _primary).outerjoin(o, o.c.id == fo.c.contact_id)
            .outerjoin(u, u.c.id == r.c.submitted_by)
        )
    )


def _not_billed(col):
    """No bill covers the reading, live or archived (issue 14: an archived bill still covers what it covered)."""
    return sa.and_(*(cond for b, br in ((s.bills, s.bill_readings), (s.archived_bills, s.archived_bill_readings))
                     for cond in (~sa.exists().where(br.c.reading_id == col, br.c.superseded_by.is_(None)),
                                  ~sa.exists().where(b.c.motor_reading_id == col, b.c.status != "superseded"))))


# What the rules see of a chain's reading (NeighbourReading's stored fields).
_CHAIN_COLS = (r.c.id, r.c.reading_value, r.c.reading_date, r.c.consumption, r.c.previous_reading_id,
               r.c.approved_units)
HISTORY = 13  # readings the statistical check looks back over (12 intervals)
HOLD_METER_LOCK_NS = 7460002  # pg_advisory_lock(namespace, meter): hold_meter; 7460001 is the schema lock


def prefix_match(col, term: str, dialect: str):
    """`col` starts with `term`. On SQLite a range, which uses the column's index (LIKE does not
    on a BINARY-collated column, so a prefix search would scan 300,000 rows). On PostgreSQL one
    LIKE pattern, bound whole: the planner turns a constant 'B17%' into a range of the column's
    index (under the C collation, or with a pattern_ops index), which `LIKE :term || '%'`, what
    startswith() renders, does not (the accounts were scanned: 40-50 ms at 300,000)."""
    if dialect == "sqlite":
        return sa.and_(col >= term, col < term + "\U0010ffff")
    escaped = term.replace("/", "//").replace("%", "/%").replace("_", "/_")
    return col.like(escaped + "%", escape="/")


class ReadingsPart:
    # ---- meters --------------------------------------------------------------
    def get_meter(self, *, meter_id=None, meter_number=None) -> MeterInfo | None:
        q = sa.select(m.c.id, m.c.meter_number, m.c.status, m.c.account_id, m.c.motor_id)
        q = q.where(m.c.id == meter_id) if meter_id is not None else q.where(m.c.meter_number == str(meter_number).strip())
        q = scope_where(q, self._meter_in_scope(m.c.id))
        with read_tx(self.engine) as conn:
            row = conn.execute(q).mappings().first()
        return MeterInfo(**row) if row else None

    def meter_choice(self, meter_id: int) -> MeterChoice | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(scope_where(_choice_select().where(m.c.id == meter_id), self._in_scope(f.c.area_id))
                               .limit(1)).mappings().first()
        return MeterChoice.from_row(row) if row else None

    def _prefix(self, col, term: str):
        return prefix_match(col, term, self.dialect)

    def _meter_matches(self, term: str):
        """Meter ids a search matches: meter number prefix, flat code prefix, primary owner's name part.
        Three index-friendly sets instead of one OR over the joined rows."""
        by_meter = sa.select(m.c.id).where(self._prefix(m.c.meter_number, term))
        by_flat = (sa.select(m.c.id).select_from(f.join(m, m.c.account_id == f.c.id))
                   .where(self._prefix(f.c.code, term.upper())))
        by_owner = (sa.select(m.c.id).select_from(
            o.join(fo, sa.and_(fo.c.contact_id == o.c.id, fo.c.is_primary.is_(True))).join(m, m.c.account_id == fo.c.account_id))
            .where(name_contains(o, term, self.dialect)))
        return sa.union(by_meter, by_flat, by_owner)

    def list_meter_choices(self, search=None, offset=0, limit=50) -> Page[MeterChoice]:
        # Step 1 picks the page of meter ids with a narrow query; step 2 joins the display columns
        # (floor, type, owner, shared motor) for those ids only. coalesce() keeps SQLite from
        # starting at the low-selectivity status index, so it walks accounts in code order and stops
        # at the page end instead of sorting every active meter.
        searching = bool(search and search.strip())
        # Searching, the matches (a few thousand meters at most) lead, each meter found by its id: with
        # the accounts' is_active index in reach SQLite walked every active account and, for each,
        # every match (300,000 x 4,444 probes for "B17": minutes). So that test is kept off the index.
        active = (sa.func.coalesce(f.c.is_active, sa.false()) == sa.true() if searching and self.dialect == "sqlite"
                  else f.c.is_active.is_(True))
        ids_q = (sa.select(m.c.id).select_from(f.join(m, m.c.account_id == f.c.id))
                 .where(sa.func.coalesce(m.c.status, "") == "active", active))
        ids_q = scope_where(ids_q, self._in_scope(f.c.area_id))
        if searching:
            ids_q = ids_q.where(m.c.id.in_(self._meter_matches(search.strip())))
        ids_q = ids_q.order_by(f.c.code, m.c.id).offset(offset).limit(limit)
        with read_tx(self.engine) as conn:
            ids = [x for (x,) in conn.execute(ids_q)]
            rows = conn.execute(_choice_select().where(m.c.id.in_(ids))).mappings().all() if ids else []
        by_id = {x["meter_id"]: x for x in rows}
        return Page([MeterChoice.from_row(by_id[i]) for i in ids if i in by_id], offset, limit)

    # ---- readings: the chain, under the meter's lock ---------------------------------------
    def reading_neighbours(self, meter_id, reading_date):
        with read_tx(self.engine) as conn:
            ctx = self._reading_context(conn, meter_id, reading_date, None, lock=False, history=1)
        return ctx.previous, ctx.following

    def _lock_meter(self, conn, meter_id) -> MeterInfo | None:
        """The meter's lock for the rest of the transaction (see the module docstring); returns the
        meter as it is now (a meter change may have replaced it meanwhile)."""
        row = conn.execute(sa.select(m.c.id, m.c.meter_number, m.c.status, m.c.account_id, m.c.motor_id)
                           .where(m.c.id == meter_id).with_for_update()).mappings().first()
        return MeterInfo(**row) if row else None

    def _reading_context(self, conn, meter_id, reading_date, meter, *, lock=True, history=HISTORY) -> ReadingContext:
        """The chain around a new reading of that date: what comes before it (a same-day reading stored
        earlier comes before it), the first reading dated after it (row-locked on PostgreSQL, so a bill
        cannot start referencing it until this transaction ends) with whether it is billed."""
        live = sa.and_(r.c.meter_id == meter_id, r.c.status != "rejected")
        before = conn.execute(sa.select(*_CHAIN_COLS).where(live, r.c.reading_date <= reading_date)
                              .order_by(r.c.reading_date.desc(), r.c.id.desc()).limit(history)).mappings().all()
        q = sa.select(*_CHAIN_COLS).where(live, r.c.reading_date > reading_date).order_by(r.c.reading_date, r.c.id)
        nxt = conn.execute((q.with_for_update() if lock else q).limit(1)).mappings().first()
        following = None
        if nxt:
            following = NeighbourReading(**nxt, billed=bool(self._billed_reading_ids(conn, [nxt["id"]])))
        chain = tuple(NeighbourReading(**x) for x in before)
        return ReadingContext(chain[0] if chain else None, following, chain, meter)

    def insert_reading_checked(self, meter_id, reading_date, reading_value, build, actor) -> tuple[Reading, bool]:
        with write_tx(self.engine) as conn:
            meter = self._lock_meter(conn, meter_id)
            existing = conn.execute(sa.select(r.c.id).where(
                r.c.meter_id == meter_id, r.c.reading_date == reading_date, r.c.reading_value == reading_value)).scalar()
            if existing is None:
                plan = build(self._reading_context(conn, meter_id, reading_date, meter))
                new = plan.new
                rid = self._insert_reading_row(conn, new, actor)
                self._audit(conn, actor, "reading.submit", "reading", rid, {
                    "meter_id": new.meter_id, "reading_value": new.reading_value,
                    "reading_date": new.reading_date, "consumption": new.consumption, "source": new.source,
                    "flags": [fl_["code"] for fl_ in (new.flags or [])],
                })
                if plan.following_id is not None:
                    self._relink(conn, Relink(plan.following_id, rid, plan.following_consumption), actor,
                                 f"reading #{rid} of {new.reading_date} was stored before it", rid)
        if existing is not None:
            return self.get_reading(existing), False
        return self.get_reading(rid), True

    def _insert_reading_row(self, conn, new: NewReading, actor: Actor) -> int:
        now = utcnow()
        values = {k: getattr(new, k) for k in new.__dataclass_fields__}
        values.update(submitted_by=actor.user_id, created_at=now, updated_at=now)
        if new.status == "approved":
            values.update(reviewed_by=actor.user_id, reviewed_at=now)
        return conn.execute(r.insert().values(**values).returning(r.c.id)).scalar_one()

    def _relink(self, conn, relink: Relink, actor: Actor, because: str, cause_id: int) -> None:
        """Re-measure a stored reading (the relink trigger checks it is unbilled and consistent)."""
        old = conn.execute(sa.select(r.c.previous_reading_id, r.c.consumption)
                           .where(r.c.id == relink.reading_id)).mappings().one()
        conn.execute(r.update().where(r.c.id == relink.reading_id).values(
            previous_reading_id=relink.previous_reading_id, consumption=relink.consumption, updated_at=utcnow()))
        self._audit(conn, actor, "reading.relink", "reading", relink.reading_id, {
            "because": because, "cause_reading_id": cause_id,
            "old_previous_reading_id": old["previous_reading_id"], "new_previous_reading_id": relink.previous_reading_id,
            "old_consumption": old["consumption"], "new_consumption": relink.consumption,
        })

    @contextlib.contextmanager
    def hold_meter(self, meter_id: int):
        with super().hold_meter(meter_id):  # one thread of this process at a time, then other processes
            if self.dialect == "postgresql":
                with self.engine.connect() as conn:
                    conn.execute(sa.text("SELECT pg_advisory_lock(:ns, :key)"),
                                 {"ns": HOLD_METER_LOCK_NS, "key": meter_id % 2**31})
                    try:
                        yield
                    finally:
                        conn.execute(sa.text("SELECT pg_advisory_unlock(:ns, :key)"),
                                     {"ns": HOLD_METER_LOCK_NS, "key": meter_id % 2**31})
                        conn.commit()
            elif self.engine.url.database and self.engine.url.database != ":memory:":
                from services.storage.meter_locks import file_lock

                with file_lock(Path(self.engine.url.database + ".meter-locks"), meter_id):
                    yield
            else:
                yield

    def meter_history(self, meter_id, before=None, limit=12) -> list[Reading]:
        q = _reading_select().where(r.c.meter_id == meter_id, r.c.status != "rejected")
        q = scope_where(q, self._meter_in_scope(r.c.meter_id))
        if before is not None:
            q = q.where(r.c.reading_date < before)
        q = q.order_by(r.c.reading_date.desc(), r.c.id.desc()).limit(limit)
        with read_tx(self.engine) as conn:
            return [Reading.from_row(x) for x in conn.execute(q).mappings()]

    def find_reading(self, meter_id, reading_date, reading_value) -> Reading | None:
        q = _reading_select().where(r.c.meter_id == meter_id, r.c.reading_date == reading_date,
                                    r.c.reading_value == reading_value)
        q = scope_where(q, self._meter_in_scope(r.c.meter_id))
        with read_tx(self.engine) as conn:
            row = conn.execute(q).mappings().first()
        return Reading.from_row(row) if row else None

    def get_reading(self, reading_id) -> Reading | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(scope_where(_reading_select().where(r.c.id == reading_id),
                                           self._meter_in_scope(r.c.meter_id))).mappings().first()
        return Reading.from_row(row) if row else None

    def _meter_filter(self, flt: ReadingFilter, areas: list[int] | None):
        """The account-side filters (area at any level, as the ids of its subtree; account code;
        account meters only) as a set of meter ids, so every condition is on `readings` and the
        count needs no join. None when there are none."""
        conds = []
        if flt.area_id is not None:
            conds.append(f.c.area_id.in_(areas))
        if flt.account_code and flt.account_code.strip():
            conds.append(self._prefix(f.c.code, flt.account_code.strip().upper()))
        if conds:
            q = sa.select(m.c.id).select_from(m.join(f, f.c.id == m.c.account_id)).where(*conds)
        elif flt.account_id is not None:
            # On the meters alone: PostgreSQL then plans one account's few readings by the meter
            # index (1 ms at 300,000 accounts), not a join of every reading (1 s with a code filter).
            q = sa.select(m.c.id)
        elif flt.account_meters_only:
            return sa.select(m.c.id).where(m.c.account_id.is_not(None))
        else:
            return None
        return q if flt.account_id is None else q.where(m.c.account_id == flt.account_id)

    def _reading_where(self, q, flt: ReadingFilter, by_meter: bool, areas: list[int] | None):
        if flt.status:
            # by_meter: the filter selects a few meters. SQLite (no statistics unless ANALYZE ran)
            # would still start from the status index and walk 1.8 million approved readings for one
            # flat; wrapping the column in coalesce() takes that index out of the running.
            # On SQLite the flagged queue's status test is kept off the indexes too, so that it reads
            # the flagged readings' index (database/schema.py, ix_readings_flagged_queue).
            off_index = by_meter or (flt.flagged_only and self.dialect == "sqlite")
            q = q.where((sa.func.coalesce(r.c.status, "") if off_index else r.c.status) == flt.status)
        if flt.unbilled_only:
            q = q.where(_not_billed(r.c.id))
        if flt.date_from:
            q = q.where(r.c.reading_date >= flt.date_from)
        if flt.date_to:
            q = q.where(r.c.reading_date <= flt.date_to)
        if flt.flagged_only:
            q = q.where(r.c.flags.is_not(None))
        if flt.unflagged_only:
            q = q.where(r.c.flags.is_(None))
        if flt.submitted_by is not None:
            q = q.where(r.c.submitted_by == flt.submitted_by)
        if flt.meter_id is not None:
            q = q.where(r.c.meter_id == flt.meter_id)
        meters = self._meter_filter(flt, areas)
        if meters is not None and flt.flagged_only and not by_meter:
            # Few readings are flagged: each one's meter is looked up, rather than listing every
            # meter of the area first (75,000 for a block at 300,000 flats: 60 ms on SQLite).
            q = q.where(sa.exists(meters.where(m.c.id == r.c.meter_id)))
        elif meters is not None:
            q = q.where(r.c.meter_id.in_(meters))
        return scope_where(q, self._meter_in_scope(r.c.meter_id))

    @staticmethod
    def _by_meter(flt: ReadingFilter, counting: bool) -> bool:
        """Start from the readings of the filter's meters (meter/date index) rather than the status index:
        always for one meter or an account code; for an area only when counting (a page of the
        newest rows is found fastest by walking the status index in date order)."""
        if flt.meter_id is not None or flt.account_id is not None or (flt.account_code and flt.account_code.strip()):
            return True
        # Pending readings are one month of many: counting an area's from the status index reads
        # far fewer rows (64 ms against 120 ms for a block of 75,000 accounts).
        return counting and flt.area_id is not None and flt.status != "pending"

    def list_readings(self, flt: ReadingFilter, offset=0, limit=50, with_total=True) -> Page[Reading]:
        column = sort_column(READING_SORTS, flt.sort)
        key = f.c.code if column == "account_code" else r.c[column]
        order = (lambda c: c.desc()) if flt.descending else (lambda c: c.asc())
        with read_tx(self.engine) as conn:
            areas = area_ids(conn, flt.area_id)
            q = self._reading_where(_reading_select(), flt, self._by_meter(flt, False), areas)
            q = q.order_by(order(key), order(r.c.id))
            rows = conn.execute(q.offset(offset).limit(limit)).mappings().all()
            total = None
            if with_total:
                total = self._count_readings(conn, flt, areas)
        return Page([Reading.from_row(x) for x in rows], offset, limit, total)

    def _count_readings(self, conn, flt: ReadingFilter, areas: list[int] | None) -> int:
        """The exact total for the pager. With unbilled_only, the filter is counted without the
        "no bill references it" test, and the matching readings a bill does reference are taken
        away: those are found from the bills' side, from the smallest matching reading id up (the
        readings waiting for review are the newest), instead of probing two indexes for each of
        300,000 pending readings (about 140 ms at that size)."""
        by_meter = self._by_meter(flt, True)
        if not flt.unbilled_only:
            return conn.execute(self._reading_where(sa.select(sa.func.count()).select_from(r), flt, by_meter,
                                                    areas)).scalar_one()
        import dataclasses

        every = dataclasses.replace(flt, unbilled_only=False)
        n, low = conn.execute(self._reading_where(
            sa.select(sa.func.count(), sa.func.min(r.c.id)).select_from(r), every, by_meter, areas)).one()
        if not n:
            return 0
        referenced = sa.union(*(q for b, br in ((s.bills, s.bill_readings), (s.archived_bills, s.archived_bill_readings))
                                for q in (sa.select(br.c.reading_id).where(br.c.reading_id >= low,
                                                                           br.c.superseded_by.is_(None)),
                                          sa.select(b.c.motor_reading_id).where(b.c.motor_reading_id >= low,
                                                                                b.c.status != "superseded"))))
        # by_meter=True keeps the status index out: this count starts from the few referenced ids.
        billed = conn.execute(self._reading_where(sa.select(sa.func.count()).select_from(r), every, True, areas)
                              .where(r.c.id.in_(referenced))).scalar_one()
        return n - billed

    def review_reading(self, reading_id, *, approve, actor, reason=None, approved_units=None) -> Reading:
        if not approve and not (reason and reason.strip()):
            raise ValidationError("reason", "is required to reject a reading.", "Say what is wrong so the engineer can fix it.")
        now = utcnow()
        values = {"status": "approved" if approve else "rejected", "reviewed_by": actor.user_id,
                  "reviewed_at": now, "updated_at": now}
        if approve and approved_units is not None:
            values["approved_units"] = approved_units
        if not approve:
            values["rejection_reason"] = reason.strip()
        with write_tx(self.engine) as conn:
            meter_id = conn.execute(sa.select(r.c.meter_id).where(r.c.id == reading_id)).scalar()
            if meter_id is None:
                raise NotFoundError(f"Reading {reading_id} does not exist.")
            if not approve:
                self._lock_meter(conn, meter_id)  # rejecting changes the chain
            changed = conn.execute(r.update().where(r.c.id == reading_id, r.c.status == "pending").values(**values)).rowcount
            if not changed:
                current = conn.execute(sa.select(r.c.status).where(r.c.id == reading_id)).scalar()
                raise ConflictError(f"Reading {reading_id} is already {current}; only pending readings can be reviewed.")
            self._audit(conn, actor, "reading.approve" if approve else "reading.reject", "reading", reading_id,
                        {"approved_units": approved_units, "reason": reason})
            if not approve:
                self._relink_after_rejection(conn, reading_id, actor)
        return self.get_reading(reading_id)

    def _relink_after_rejection(self, conn, reading_id: int, actor: Actor) -> None:
        """The reading measured from the rejected one (its follower in the chain) is re-measured from
        the reading before the rejected one."""
        before_id = conn.execute(sa.select(r.c.previous_reading_id).where(r.c.id == reading_id)).scalar()
        row = conn.execute(sa.select(*_CHAIN_COLS).where(r.c.previous_reading_id == reading_id, r.c.status != "rejected")
                           .order_by(r.c.id).limit(1).with_for_update()).mappings().first()
        if row is None:
            return
        follower = NeighbourReading(**row, billed=bool(self._billed_reading_ids(conn, [row["id"]])))
        before = None
        if before_id is not None:
            b = conn.execute(sa.select(*_CHAIN_COLS).where(r.c.id == before_id)).mappings().one()
            before = NeighbourReading(**b)
        relink = relink_after_rejection(reading_id, before, follower)
        self._relink(conn, relink, actor, f"reading #{reading_id} it was measured from was rejected", reading_id)

    def undo_review(self, reading_id, actor) -> Reading:
        """services/readings/undo.py's rule inside the meter's lock; the review trigger
        (database/review_undo_triggers.py) holds its billed and chain-place parts too."""
        with write_tx(self.engine) as conn:
            meter_id = conn.execute(sa.select(r.c.meter_id).where(r.c.id == reading_id)).scalar()
            if meter_id is None:
                raise NotFoundError(f"Reading {reading_id} does not exist.")
            self._lock_meter(conn, meter_id)
            row = conn.execute(sa.select(*_CHAIN_COLS, r.c.status, r.c.source, r.c.reviewed_by, r.c.reviewed_at,
                                         r.c.rejection_reason).where(r.c.id == reading_id)).mappings().one()
            bill_id = conn.execute(sa.select(sa.func.coalesce(_bill_ref(r.c.id), _motor_bill_ref(r.c.id)))
                                   .where(r.c.id == reading_id)).scalar()
            check_undoable(reading_id, row["status"], row["source"], bill_id)
            relink = None
            if row["status"] == "rejected":
                me = NeighbourReading(**{c.name: row[c.name] for c in _CHAIN_COLS})
                live = sa.and_(r.c.meter_id == meter_id, r.c.status != "rejected", r.c.id != reading_id)
                earlier = sa.or_(r.c.reading_date < row["reading_date"],
                                 sa.and_(r.c.reading_date == row["reading_date"], r.c.id < reading_id))
                b = conn.execute(sa.select(*_CHAIN_COLS).where(live, earlier)
                                 .order_by(r.c.reading_date.desc(), r.c.id.desc()).limit(1)).mappings().first()
                nxt = conn.execute(sa.select(*_CHAIN_COLS).where(live, ~earlier)
                                   .order_by(r.c.reading_date, r.c.id).limit(1).with_for_update()).mappings().first()
                follower, newer = None, False
                if nxt:
                    follower = NeighbourReading(**nxt, billed=bool(self._billed_reading_ids(conn, [nxt["id"]])))
                    stored = conn.execute(sa.select(r.c.created_at).where(r.c.id == nxt["id"])).scalar()
                    newer = row["reviewed_at"] is not None and stored > row["reviewed_at"]
                relink = plan_undo_rejection(me, NeighbourReading(**b) if b else None, follower, newer)
            now = utcnow()
            values = {"status": "pending", "reviewed_by": None, "reviewed_at": None, "updated_at": now}
            if row["status"] == "approved":
                values["approved_units"] = None  # units confirmed by the approval go with it
            else:
                values["rejection_reason"] = None
            conn.execute(r.update().where(r.c.id == reading_id, r.c.status == row["status"]).values(**values))
            self._audit(conn, actor, "reading.undo_review", "reading", reading_id, {
                "was": row["status"], "reviewed_by": row["reviewed_by"], "reviewed_at": row["reviewed_at"],
                "approved_units": row["approved_units"], "rejection_reason": row["rejection_reason"]})
            if relink is not None:
                self._relink(conn, relink, actor, f"the rejection of reading #{reading_id} it was measured from was "
                             "undone", reading_id)
        return self.get_reading(reading_id)

    def approve_readings(self, reading_ids, actor, *, unflagged_only=True) -> int:
        if not reading_ids:
            return 0
        now = utcnow()
        total = 0
        with write_tx(self.engine) as conn:
            for i in range(0, len(reading_ids), 900):
                chunk = list(reading_ids[i:i + 900])
                q = r.update().where(r.c.id.in_(chunk), r.c.status == "pending")
                if unflagged_only:
                    q = q.where(r.c.flags.is_(None))
                total += conn.execute(q.values(status="approved", reviewed_by=actor.user_id, reviewed_at=now,
                                               updated_at=now)).rowcount
            self._audit(conn, actor, "reading.bulk_approve", "reading", None,
                        {"requested": len(reading_ids), "approved": total})
        return total

    def set_reading_photo_url(self, reading_id, photo_url, actor) -> None:
        with write_tx(self.engine) as conn:
            conn.execute(r.update().where(r.c.id == reading_id).values(photo_url=photo_url, updated_at=utcnow()))
            self._audit(conn, actor, "reading.photo_url", "reading", reading_id, {"photo_url": photo_url})

    def set_reading_ai_opinion(self, reading_id, opinion, actor) -> None:
        with write_tx(self.engine) as conn:
            n = conn.execute(r.update().where(r.c.id == reading_id).values(ai_opinion=opinion, updated_at=utcnow())).rowcount
            if not n:
                raise NotFoundError(f"Reading {reading_id} does not exist.")
            self._audit(conn, actor, "reading.ai_opinion", "reading", reading_id,
                        {k: (opinion or {}).get(k) for k in ("verdict", "confidence", "model")})

    def readings_billed(self, reading_ids) -> set[int]:
        with read_tx(self.engine) as conn:
            return self._billed_reading_ids(conn, reading_ids)

    def _billed_reading_ids(self, conn, reading_ids) -> set[int]:
        """THE SQL backend's test "a reading is billed", in the caller's transaction (the chain's
        relinking asks it): a bill that is not superseded covers it (bill_readings), or takes its
        motor share from it. database/triggers.reading_billed_sql is the database's twin."""
        ids = list(reading_ids)
        out: set[int] = set()
        for i in range(0, len(ids), 900):
            chunk = ids[i:i + 900]
            # live and archived bills (issue 14): an archived bill still covers what it covered
            for b, br in ((s.bills, s.bill_readings), (s.archived_bills, s.archived_bill_readings)):
                out |= {x for (x,) in conn.execute(sa.select(br.c.reading_id).where(
                    br.c.reading_id.in_(chunk), br.c.superseded_by.is_(None)))}
                out |= {x for (x,) in conn.execute(sa.select(b.c.motor_reading_id).where(
                    b.c.motor_reading_id.in_(chunk), b.c.status != "superseded"))}
        return out
