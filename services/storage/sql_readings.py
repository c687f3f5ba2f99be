"""SQL backend part: flats, meters and readings."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from database import schema as s
from services.clock import utcnow
from services.errors import ConflictError, NotFoundError, ValidationError
from services.models import Flat, MeterChoice, NewReading, Page, Reading, ReadingFilter
from services.readings_rules import MeterInfo, NeighbourReading
from services.roles import Actor
from services.storage.sql_common import is_unique_violation, read_tx, write_tx

f, fl, ft, o, fo, m, r = s.flats, s.floors, s.flat_types, s.owners, s.flat_owners, s.meters, s.readings

# Primary owner of a flat (at most one, enforced by a partial unique index).
_primary = sa.and_(fo.c.flat_id == f.c.id, fo.c.is_primary.is_(True))


def _flat_select():
    return (
        sa.select(f.c.id, f.c.code, f.c.block, f.c.is_active, fl.c.code.label("floor_code"),
                  fl.c.name.label("floor_name"), ft.c.name.label("flat_type"), o.c.name.label("owner_name"),
                  o.c.phone.label("owner_phone"), o.c.id.label("owner_id"))
        .select_from(f.outerjoin(fl, fl.c.id == f.c.floor_id).outerjoin(ft, ft.c.id == f.c.type_id)
                     .outerjoin(fo, _primary).outerjoin(o, o.c.id == fo.c.owner_id))
    )


def _choice_select():
    mm = m.alias("motor_meter")
    mo = s.motors.alias("motor")
    fm = s.flat_motors.alias("fm")
    return (
        sa.select(m.c.id.label("meter_id"), m.c.meter_number, f.c.id.label("flat_id"), f.c.code.label("flat_code"),
                  f.c.block, fl.c.code.label("floor_code"), fl.c.name.label("floor_name"),
                  ft.c.name.label("flat_type"), o.c.name.label("owner_name"), o.c.phone.label("owner_phone"),
                  mo.c.code.label("motor_code"), mm.c.id.label("motor_meter_id"),
                  mm.c.meter_number.label("motor_meter_number"))
        .select_from(
            m.join(f, f.c.id == m.c.flat_id)
            .outerjoin(fl, fl.c.id == f.c.floor_id).outerjoin(ft, ft.c.id == f.c.type_id)
            .outerjoin(fo, _primary).outerjoin(o, o.c.id == fo.c.owner_id)
            .outerjoin(fm, fm.c.flat_id == f.c.id).outerjoin(mo, mo.c.id == fm.c.motor_id)
            .outerjoin(mm, sa.and_(mm.c.motor_id == mo.c.id, mm.c.flat_id.is_(None), mm.c.status == "active"))
        )
        .where(m.c.status == "active", f.c.is_active.is_(True))
    )


# "Billed" means covered by a bill that is not superseded (services/coverage.py): a flat reading
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
        sa.select(r, m.c.meter_number, f.c.id.label("flat_id"), f.c.code.label("flat_code"), f.c.block,
                  fl.c.code.label("floor_code"), o.c.name.label("owner_name"),
                  u.c.username.label("submitted_by_name"),
                  sa.func.coalesce(_bill_ref(r.c.id), _motor_bill_ref(r.c.id)).label("bill_id"))
        .select_from(
            r.join(m, m.c.id == r.c.meter_id).outerjoin(f, f.c.id == m.c.flat_id)
            .outerjoin(fl, fl.c.id == f.c.floor_id)
            .outerjoin(fo, _primary).outerjoin(o, o.c.id == fo.c.owner_id)
            .outerjoin(u, u.c.id == r.c.submitted_by)
        )
    )


def _not_billed(col):
    b, br = s.bills, s.bill_readings
    return sa.and_(
        ~sa.exists().where(br.c.reading_id == col, br.c.superseded_by.is_(None)),
        ~sa.exists().where(b.c.motor_reading_id == col, b.c.status != "superseded"),
    )


def prefix_match(col, term: str, dialect: str):
    """`col` starts with `term`. On SQLite a range, which uses the column's index (LIKE does not
    on a BINARY-collated column, so a prefix search would scan 300,000 rows)."""
    if dialect == "sqlite":
        return sa.and_(col >= term, col < term + "\U0010ffff")
    return col.startswith(term, autoescape=True)


class ReadingsPart:
    # ---- flats and meters --------------------------------------------------------------
    def get_flat(self, *, flat_id=None, code=None) -> Flat | None:
        q = _flat_select()
        q = q.where(f.c.id == flat_id) if flat_id is not None else q.where(f.c.code == str(code or "").strip().upper())
        with read_tx(self.engine) as conn:
            row = conn.execute(q).mappings().first()
        return Flat.from_row(row) if row else None

    def get_meter(self, *, meter_id=None, meter_number=None) -> MeterInfo | None:
        q = sa.select(m.c.id, m.c.meter_number, m.c.status, m.c.flat_id, m.c.motor_id)
        q = q.where(m.c.id == meter_id) if meter_id is not None else q.where(m.c.meter_number == str(meter_number).strip())
        with read_tx(self.engine) as conn:
            row = conn.execute(q).mappings().first()
        return MeterInfo(**row) if row else None

    def meter_choice(self, meter_id: int) -> MeterChoice | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(_choice_select().where(m.c.id == meter_id).limit(1)).mappings().first()
        return MeterChoice.from_row(row) if row else None

    def _prefix(self, col, term: str):
        return prefix_match(col, term, self.dialect)

    def _meter_matches(self, term: str):
        """Meter ids a search matches: meter number prefix, flat code prefix, primary owner's name part.
        Three index-friendly sets instead of one OR over the joined rows."""
        by_meter = sa.select(m.c.id).where(self._prefix(m.c.meter_number, term))
        by_flat = (sa.select(m.c.id).select_from(f.join(m, m.c.flat_id == f.c.id))
                   .where(self._prefix(f.c.code, term.upper())))
        by_owner = (sa.select(m.c.id).select_from(
            o.join(fo, sa.and_(fo.c.owner_id == o.c.id, fo.c.is_primary.is_(True))).join(m, m.c.flat_id == fo.c.flat_id))
            .where(o.c.name.icontains(term, autoescape=True)))
        return sa.union(by_meter, by_flat, by_owner)

    def list_meter_choices(self, search=None, offset=0, limit=50) -> Page[MeterChoice]:
        # Step 1 picks the page of meter ids with a narrow query; step 2 joins the display columns
        # (floor, type, owner, shared motor) for those ids only. coalesce() keeps SQLite from
        # starting at the low-selectivity status index, so it walks flats in code order and stops
        # at the page end instead of sorting every active meter.
        ids_q = (sa.select(m.c.id).select_from(f.join(m, m.c.flat_id == f.c.id))
                 .where(sa.func.coalesce(m.c.status, "") == "active", f.c.is_active.is_(True)))
        if search and search.strip():
            ids_q = ids_q.where(m.c.id.in_(self._meter_matches(search.strip())))
        ids_q = ids_q.order_by(f.c.code, m.c.id).offset(offset).limit(limit)
        with read_tx(self.engine) as conn:
            ids = [x for (x,) in conn.execute(ids_q)]
            rows = conn.execute(_choice_select().where(m.c.id.in_(ids))).mappings().all() if ids else []
        by_id = {x["meter_id"]: x for x in rows}
        return Page([MeterChoice.from_row(by_id[i]) for i in ids if i in by_id], offset, limit)

    def list_blocks(self) -> list[str]:
        with read_tx(self.engine) as conn:
            return [b for (b,) in conn.execute(sa.select(f.c.block).distinct().order_by(f.c.block)) if b]

    def list_floors(self) -> list[tuple[str, str]]:
        with read_tx(self.engine) as conn:
            return [(c, n) for c, n in conn.execute(sa.select(fl.c.code, fl.c.name).order_by(fl.c.sort_order, fl.c.code))]

    # ---- readings ----------------------------------------------------------------------
    def reading_neighbours(self, meter_id, reading_date):
        base = sa.select(r.c.id, r.c.reading_value, r.c.reading_date).where(r.c.meter_id == meter_id, r.c.status != "rejected")
        with read_tx(self.engine) as conn:
            prev = conn.execute(base.where(r.c.reading_date < reading_date)
                                .order_by(r.c.reading_date.desc(), r.c.id.desc()).limit(1)).mappings().first()
            nxt = conn.execute(base.where(r.c.reading_date > reading_date)
                               .order_by(r.c.reading_date, r.c.id).limit(1)).mappings().first()
        return (NeighbourReading(**prev) if prev else None, NeighbourReading(**nxt) if nxt else None)

    def meter_history(self, meter_id, before=None, limit=12) -> list[Reading]:
        q = _reading_select().where(r.c.meter_id == meter_id, r.c.status != "rejected")
        if before is not None:
            q = q.where(r.c.reading_date < before)
        q = q.order_by(r.c.reading_date.desc(), r.c.id.desc()).limit(limit)
        with read_tx(self.engine) as conn:
            return [Reading.from_row(x) for x in conn.execute(q).mappings()]

    def find_reading(self, meter_id, reading_date, reading_value) -> Reading | None:
        q = _reading_select().where(r.c.meter_id == meter_id, r.c.reading_date == reading_date,
                                    r.c.reading_value == reading_value)
        with read_tx(self.engine) as conn:
            row = conn.execute(q).mappings().first()
        return Reading.from_row(row) if row else None

    def insert_reading(self, new: NewReading, actor: Actor) -> tuple[Reading, bool]:
        values = {k: getattr(new, k) for k in new.__dataclass_fields__}
        now = utcnow()
        values.update(submitted_by=actor.user_id, created_at=now, updated_at=now)
        try:
            with write_tx(self.engine) as conn:
                rid = conn.execute(r.insert().values(**values).returning(r.c.id)).scalar_one()
                self._audit(conn, actor, "reading.submit", "reading", rid, {
                    "meter_id": new.meter_id, "reading_value": new.reading_value,
                    "reading_date": new.reading_date, "consumption": new.consumption, "source": new.source,
                    "flags": [fl_["code"] for fl_ in (new.flags or [])],
                })
        except IntegrityError as exc:
            if is_unique_violation(exc, "reading_date"):
                existing = self.find_reading(new.meter_id, new.reading_date, new.reading_value)
                if existing:
                    return existing, False
            raise
        return self.get_reading(rid), True

    def get_reading(self, reading_id) -> Reading | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(_reading_select().where(r.c.id == reading_id)).mappings().first()
        return Reading.from_row(row) if row else None

    def _meter_filter(self, flt: ReadingFilter):
        """The flat-side filters (block, floor, flat code, flat meters only) as a set of meter ids,
        so every condition is on `readings` and the count needs no join. None when there are none."""
        conds = []
        if flt.block:
            conds.append(f.c.block == flt.block)
        if flt.floor_code:
            conds.append(f.c.floor_id.in_(sa.select(fl.c.id).where(fl.c.code == flt.floor_code)))
        if flt.flat_code and flt.flat_code.strip():
            conds.append(self._prefix(f.c.code, flt.flat_code.strip().upper()))
        if conds:
            return sa.select(m.c.id).select_from(m.join(f, f.c.id == m.c.flat_id)).where(*conds)
        if flt.flat_meters_only:
            return sa.select(m.c.id).where(m.c.flat_id.is_not(None))
        return None

    def _reading_where(self, q, flt: ReadingFilter, by_meter: bool = False):
        if flt.status:
            # by_meter: the filter selects a few meters. SQLite (no statistics unless ANALYZE ran)
            # would still start from the status index and walk 1.8 million approved readings for one
            # flat; wrapping the column in coalesce() takes that index out of the running.
            q = q.where((sa.func.coalesce(r.c.status, "") if by_meter else r.c.status) == flt.status)
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
        meters = self._meter_filter(flt)
        if meters is not None:
            q = q.where(r.c.meter_id.in_(meters))
        return q

    @staticmethod
    def _by_meter(flt: ReadingFilter, counting: bool) -> bool:
        """Start from the readings of the filter's meters (meter/date index) rather than the status index:
        always for one meter or a flat code; for a block or floor only when counting (a page of the
        newest rows is found fastest by walking the status index in date order)."""
        if flt.meter_id is not None or (flt.flat_code and flt.flat_code.strip()):
            return True
        # Pending readings are one month of many: counting a block's from the status index reads
        # far fewer rows (64 ms against 120 ms for a block of 75,000 flats).
        return counting and bool(flt.block or flt.floor_code) and flt.status != "pending"

    def list_readings(self, flt: ReadingFilter, offset=0, limit=50, with_total=True) -> Page[Reading]:
        q = self._reading_where(_reading_select(), flt, self._by_meter(flt, False))
        q = q.order_by(r.c.reading_date.desc(), r.c.id.desc())
        with read_tx(self.engine) as conn:
            rows = conn.execute(q.offset(offset).limit(limit)).mappings().all()
            total = None
            if with_total:
                total = self._count_readings(conn, flt)
        return Page([Reading.from_row(x) for x in rows], offset, limit, total)

    def _count_readings(self, conn, flt: ReadingFilter) -> int:
        """The exact total for the pager. With unbilled_only, the filter is counted without the
        "no bill references it" test, and the matching readings a bill does reference are taken
        away: those are found from the bills' side, from the smallest matching reading id up (the
        readings waiting for review are the newest), instead of probing two indexes for each of
        300,000 pending readings (about 140 ms at that size)."""
        by_meter = self._by_meter(flt, True)
        if not flt.unbilled_only:
            return conn.execute(self._reading_where(sa.select(sa.func.count()).select_from(r), flt, by_meter)).scalar_one()
        import dataclasses

        every = dataclasses.replace(flt, unbilled_only=False)
        n, low = conn.execute(self._reading_where(
            sa.select(sa.func.count(), sa.func.min(r.c.id)).select_from(r), every, by_meter)).one()
        if not n:
            return 0
        b, br = s.bills, s.bill_readings
        referenced = sa.union(sa.select(br.c.reading_id).where(br.c.reading_id >= low, br.c.superseded_by.is_(None)),
                              sa.select(b.c.motor_reading_id).where(b.c.motor_reading_id >= low,
                                                                    b.c.status != "superseded"))
        # by_meter=True keeps the status index out: this count starts from the few referenced ids.
        billed = conn.execute(self._reading_where(sa.select(sa.func.count()).select_from(r), every, True)
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
            changed = conn.execute(r.update().where(r.c.id == reading_id, r.c.status == "pending").values(**values)).rowcount
            if not changed:
                current = conn.execute(sa.select(r.c.status).where(r.c.id == reading_id)).scalar()
                if current is None:
                    raise NotFoundError(f"Reading {reading_id} does not exist.")
                raise ConflictError(f"Reading {reading_id} is already {current}; only pending readings can be reviewed.")
            self._audit(conn, actor, "reading.approve" if approve else "reading.reject", "reading", reading_id,
                        {"approved_units": approved_units, "reason": reason})
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
        b, br = s.bills, s.bill_readings
        ids = list(reading_ids)
        out: set[int] = set()
        with read_tx(self.engine) as conn:
            for i in range(0, len(ids), 900):
                chunk = ids[i:i + 900]
                out |= {x for (x,) in conn.execute(sa.select(br.c.reading_id).where(
                    br.c.reading_id.in_(chunk), br.c.superseded_by.is_(None)))}
                out |= {x for (x,) in conn.execute(sa.select(b.c.motor_reading_id).where(
                    b.c.motor_reading_id.in_(chunk), b.c.status != "superseded"))}
        return out

