"""SQL backend part: daily usage (stored all or nothing, with the register readings it comes from),
usage history per account (aggregated in the database), and contacts (services/storage/base.py,
"water"). The REST twin is services/storage/rest_usage.py."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from database import schema as s
from services.clock import utcnow
from services.errors import ConflictError, NotFoundError, PeriodLockedError
from services.models import Contact, DailyUsage, UsageBatch, UsageMonth
from services.storage.sql_common import read_tx, write_tx

du, r, b, a, o = s.daily_usage, s.readings, s.bills, s.accounts, s.contacts
IN = 900
CONTACT_FIELDS = ("name", "phone", "email", "address")


def _d(v):
    return dt.date.fromisoformat(v) if isinstance(v, str) else v


def month_expr(col, dialect: str):
    """'YYYY-MM' of a date column."""
    return sa.func.strftime("%Y-%m", col) if dialect == "sqlite" else sa.func.to_char(col, "YYYY-MM")


class UsagePart:
    # ---- storing usage ----------------------------------------------------------------------------
    def store_usage(self, batch: UsageBatch, actor) -> int:
        rows = list(batch.rows)
        with write_tx(self.engine) as conn:
            if batch.approve_reading_id is not None:
                self._approve_for_usage(conn, batch, actor)
            ids = self._store_batch_readings(conn, batch, actor)
            if not rows:
                return 0
            self._check_usage_days(conn, rows)
            now = utcnow()
            values = [{"account_id": x.account_id, "meter_id": x.meter_id, "usage_date": x.usage_date,
                       "quantity": x.quantity, "source": x.source, "created_by": actor.user_id, "created_at": now,
                       "reading_id": ids[x.reading_ref] if x.reading_ref is not None else x.reading_id}
                      for x in rows]
            try:
                with conn.begin_nested():
                    conn.execute(du.insert(), values)
            except IntegrityError:
                raise self._taken_day(conn, rows) from None
            first, last = min(x.usage_date for x in rows), max(x.usage_date for x in rows)
            # Derived rows those days fed are rebuilt by the next detection.
            conn.execute(s.usage_day_index.delete().where(s.usage_day_index.c.usage_date.between(first, last)))
            conn.execute(s.usage_baselines.delete().where(s.usage_baselines.c.as_of > first))
            self._audit(conn, actor, "usage.store", "daily_usage", None, {
                "rows": len(rows), "accounts": len({x.account_id for x in rows}), "from": first, "to": last,
                "quantity": sum((x.quantity for x in rows), Decimal("0")), "label": batch.label,
                "reading_id": batch.approve_reading_id, "readings": len(batch.readings)})
        return len(rows)

    def _approve_for_usage(self, conn, batch: UsageBatch, actor) -> None:
        rid = batch.approve_reading_id
        meter_id = conn.execute(sa.select(r.c.meter_id).where(r.c.id == rid)).scalar()
        if meter_id is None:
            raise NotFoundError(f"Reading {rid} does not exist.")
        self._lock_meter(conn, meter_id)
        now = utcnow()
        q = r.update().where(r.c.id == rid, r.c.status == "pending")
        q = q.where(r.c.consumption.is_(None) if batch.approve_consumption is None
                    else r.c.consumption == batch.approve_consumption)
        if not conn.execute(q.values(status="approved", reviewed_by=actor.user_id, reviewed_at=now,
                                     updated_at=now)).rowcount:
            status = conn.execute(sa.select(r.c.status).where(r.c.id == rid)).scalar()
            raise ConflictError(f"Reading {rid} is {status} and " + (
                "was re-measured meanwhile; open it again." if status == "pending"
                else "only pending readings can be reviewed."))
        self._audit(conn, actor, "reading.approve", "reading", rid, {"usage_rows": len(batch.rows)})

    def _store_batch_readings(self, conn, batch: UsageBatch, actor) -> list[int]:
        ids: list[int] = []
        last_of: dict[int, int | None] = {}
        for i, x in enumerate(batch.readings):
            if x.meter_id not in last_of:
                self._lock_meter(conn, x.meter_id)
                live = sa.and_(r.c.meter_id == x.meter_id, r.c.status != "rejected")
                latest = conn.execute(sa.select(r.c.id, r.c.reading_date).where(live)
                                      .order_by(r.c.reading_date.desc(), r.c.id.desc()).limit(1)).first()
                if (latest[0] if latest else None) != x.previous_reading_id:
                    raise ConflictError(f"Meter #{x.meter_id} has a reading stored meanwhile (#{latest[0]} of "
                                        f"{_d(latest[1])}); check the file against it and import it again.")
                previous = x.previous_reading_id
            else:
                previous = last_of[x.meter_id]
            now = utcnow()
            rid = conn.execute(r.insert().values(
                meter_id=x.meter_id, reading_value=x.reading_value, reading_date=x.reading_date,
                consumption=x.consumption, previous_reading_id=previous, source="import", status="approved",
                submitted_by=actor.user_id, reviewed_by=actor.user_id, reviewed_at=now, created_at=now,
                updated_at=now).returning(r.c.id)).scalar_one()
            self._audit(conn, actor, "reading.submit", "reading", rid, {
                "meter_id": x.meter_id, "reading_value": x.reading_value, "reading_date": x.reading_date,
                "consumption": x.consumption, "source": "import", "label": batch.label})
            ids.append(rid)
            last_of[x.meter_id] = rid
        return ids

    def _check_usage_days(self, conn, rows) -> None:
        """Refuse days that are billed already or in a locked month (inside the write's transaction)."""
        locked = set(conn.execute(sa.select(s.period_locks.c.month)).scalars())
        for x in rows:
            if x.usage_date.strftime("%Y-%m") in locked:
                m = x.usage_date.strftime("%Y-%m")
                raise PeriodLockedError(m, f"{m} is locked: its usage cannot change (account #{x.account_id}, "
                                           f"{x.usage_date}). Nothing was stored.")
        billed = self._billed_to(conn, list({x.account_id for x in rows}))
        for x in rows:
            if x.account_id in billed and x.usage_date <= billed[x.account_id]:
                code = conn.execute(sa.select(a.c.code).where(a.c.id == x.account_id)).scalar()
                raise ConflictError(f"{code} is billed for its usage up to {billed[x.account_id]}, so usage of "
                                    f"{x.usage_date} cannot be added (the bill would not count it). Nothing was stored.")

    def _taken_day(self, conn, rows) -> ConflictError:
        present = self._days_present(conn, list({x.account_id for x in rows}),
                                     min(x.usage_date for x in rows), max(x.usage_date for x in rows))
        clash = next((x for x in rows if (x.account_id, x.usage_date) in present), None)
        seen, dup = set(), None
        for x in rows:
            if (x.account_id, x.usage_date) in seen:
                dup = x
                break
            seen.add((x.account_id, x.usage_date))
        x = clash or dup or rows[0]
        code = conn.execute(sa.select(a.c.code).where(a.c.id == x.account_id)).scalar()
        return ConflictError(f"{code} already has usage for {x.usage_date}: the same water would be counted twice. "
                             "Nothing was stored.")

    # ---- reading usage ----------------------------------------------------------------------------
    def _days_present(self, conn, account_ids, start, end) -> set[tuple[int, dt.date]]:
        out = set()
        for i in range(0, len(account_ids), IN):
            for aid, day in conn.execute(sa.select(du.c.account_id, du.c.usage_date).where(
                    du.c.account_id.in_(account_ids[i:i + IN]), du.c.usage_date.between(start, end))):
                out.add((aid, _d(day)))
        return out

    def usage_days_present(self, account_ids, start, end) -> set[tuple[int, dt.date]]:
        with read_tx(self.engine) as conn:
            return self._days_present(conn, list(dict.fromkeys(account_ids)), start, end)

    def usage_quantities(self, account_ids, start, end) -> dict[tuple[int, dt.date], Decimal]:
        ids, out = list(dict.fromkeys(account_ids)), {}
        with read_tx(self.engine) as conn:
            for i in range(0, len(ids), IN):
                for aid, day, q in conn.execute(sa.select(du.c.account_id, du.c.usage_date, du.c.quantity).where(
                        du.c.account_id.in_(ids[i:i + IN]), du.c.usage_date.between(start, end))):
                    out[(aid, _d(day))] = Decimal(str(q)).quantize(Decimal("0.01"))
        return out

    def _billed_to(self, conn, account_ids) -> dict[int, dt.date]:
        out = {}
        for i in range(0, len(account_ids), IN):
            for aid, day in conn.execute(
                    sa.select(b.c.account_id, sa.func.max(b.c.usage_to))
                    .where(b.c.account_id.in_(account_ids[i:i + IN]), b.c.usage_to.is_not(None),
                           b.c.status != "superseded").group_by(b.c.account_id)):
                out[aid] = _d(day)
        return out

    def usage_billed_to(self, account_ids) -> dict[int, dt.date]:
        with read_tx(self.engine) as conn:
            return self._billed_to(conn, list(dict.fromkeys(account_ids)))

    def list_daily_usage(self, account_id, start, end) -> list[DailyUsage]:
        q = (sa.select(du.c.id, du.c.account_id, du.c.usage_date, du.c.quantity, du.c.source, du.c.meter_id)
             .where(du.c.account_id == account_id, du.c.usage_date.between(start, end)).order_by(du.c.usage_date))
        with read_tx(self.engine) as conn:
            return [DailyUsage(x.id, x.account_id, _d(x.usage_date), Decimal(str(x.quantity)).quantize(Decimal("0.01")),
                               x.source, x.meter_id) for x in conn.execute(q)]

    def usage_months(self, account_id, start, end) -> list[UsageMonth]:
        month = month_expr(du.c.usage_date, self.dialect).label("month")
        q = (sa.select(month, sa.func.count(), sa.func.sum(du.c.quantity), sa.func.max(du.c.quantity),
                       sa.func.sum(sa.case((du.c.quantity == 0, 1), else_=0)))
             .where(du.c.account_id == account_id, du.c.usage_date.between(start, end))
             .group_by(month).order_by(month))
        cent = Decimal("0.01")
        with read_tx(self.engine) as conn:
            return [UsageMonth(m, n, Decimal(str(total)).quantize(cent), Decimal(str(peak)).quantize(cent), int(zeros))
                    for m, n, total, peak, zeros in conn.execute(q)]

    # ---- contacts ---------------------------------------------------------------------------------
    def get_contact(self, contact_id) -> Contact | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(sa.select(o).where(o.c.id == contact_id)).mappings().first()
        return Contact.from_row(row) if row else None

    def update_contact(self, contact_id, changes, actor) -> Contact:
        values = {k: v for k, v in changes.items() if k in CONTACT_FIELDS}
        with write_tx(self.engine) as conn:
            old = conn.execute(sa.select(o).where(o.c.id == contact_id).with_for_update()).mappings().first()
            if old is None:
                raise NotFoundError(f"Contact {contact_id} does not exist.")
            changed = {k: {"old": old[k], "new": v} for k, v in values.items() if old[k] != v}
            if changed:
                conn.execute(o.update().where(o.c.id == contact_id).values(**{k: values[k] for k in changed}))
                self._audit(conn, actor, "contact.update", "contact", contact_id, changed)
        return self.get_contact(contact_id)
