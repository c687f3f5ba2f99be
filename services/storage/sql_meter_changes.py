"""SQL backend part: meter replacements and rollovers (services/readings/meter_changes.py), one
transaction under the old meter's lock (ReadingsPart._lock_meter)."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from database import schema as s
from services.clock import utcnow
from services.errors import ConflictError, ValidationError
from services.readings.meter_changes import MeterChange, MeterChangeRequest
from services.models import NewReading, Page
from services.readings.rules import check_meter
from services.storage.sql_common import is_unique_violation, read_tx, write_tx

m, r, mc = s.meters, s.readings, s.meter_changes


def _change_select():
    old, new, fin, start = m.alias("old_m"), m.alias("new_m"), r.alias("fin"), r.alias("start")
    return (
        sa.select(mc, old.c.meter_number.label("old_meter_number"), new.c.meter_number.label("new_meter_number"),
                  s.accounts.c.code.label("account_code"), fin.c.reading_value.label("final_value"),
                  start.c.reading_value.label("start_value"))
        .select_from(mc.join(old, old.c.id == mc.c.old_meter_id).join(new, new.c.id == mc.c.new_meter_id)
                     .join(fin, fin.c.id == mc.c.final_reading_id).join(start, start.c.id == mc.c.start_reading_id)
                     .outerjoin(s.accounts, s.accounts.c.id == old.c.account_id))
    )


class MeterChangesPart:
    def record_meter_change(self, req: MeterChangeRequest, plan_final, actor) -> MeterChange:
        try:
            with write_tx(self.engine) as conn:
                meter = check_meter(self._lock_meter(conn, req.meter_id), req.meter_number)
                final_id = self._final_reading(conn, req, meter, plan_final, actor)
                new_meter_id = meter.id
                if req.kind == "replacement":
                    row = conn.execute(sa.select(m.c.is_smart, m.c.service, m.c.unit).where(m.c.id == meter.id)).one()
                    new_meter_id = conn.execute(m.insert().values(
                        meter_number=req.new_meter_number, account_id=meter.account_id, motor_id=meter.motor_id,
                        service=row.service, unit=row.unit, status="active", is_smart=row.is_smart,
                        created_at=utcnow()).returning(m.c.id)).scalar_one()
                    conn.execute(m.update().where(m.c.id == meter.id).values(status="replaced"))
                start_id = self._insert_reading_row(conn, NewReading(
                    meter_id=new_meter_id, reading_value=req.start_value, reading_date=req.change_date,
                    consumption=None, previous_reading_id=None, source="meter_change", status="approved"), actor)
                change_id = conn.execute(mc.insert().values(
                    kind=req.kind, old_meter_id=meter.id, new_meter_id=new_meter_id, change_date=req.change_date,
                    final_reading_id=final_id, start_reading_id=start_id, reason=req.reason,
                    recorded_by=actor.user_id, recorded_by_name=actor.username, created_at=utcnow(),
                ).returning(mc.c.id)).scalar_one()
                self._audit(conn, actor, "meter.change", "meter", meter.id, {
                    "kind": req.kind, "change_date": req.change_date, "meter_number": req.meter_number,
                    "new_meter_number": req.new_meter_number or req.meter_number, "final_reading_id": final_id,
                    "final_value": req.final_value, "start_reading_id": start_id, "start_value": req.start_value,
                    "reason": req.reason, "meter_change_id": change_id,
                })
        except IntegrityError as exc:
            if is_unique_violation(exc, "meter_number"):
                raise ValidationError("new_meter_number", f"meter {req.new_meter_number} already exists.",
                                      "Check the number on the new meter.") from None
            if is_unique_violation(exc, "reading_date"):
                raise ValidationError("start_reading", f"meter {req.meter_number} already has a reading of "
                                      f"{req.start_value} kWh on {req.change_date}.", "Check the start reading.") from None
            raise
        return self._get_meter_change(change_id)

    def _final_reading(self, conn, req: MeterChangeRequest, meter, plan_final, actor) -> int:
        """The reading stored with the final value on that day (approved now if pending), else a new one."""
        row = conn.execute(sa.select(r.c.id, r.c.status).where(
            r.c.meter_id == meter.id, r.c.reading_date == req.change_date,
            r.c.reading_value == req.final_value)).mappings().first()
        if row is None:
            plan = plan_final(self._reading_context(conn, meter.id, req.change_date, meter))
            final_id = self._insert_reading_row(conn, plan.new, actor)
            self._audit(conn, actor, "reading.submit", "reading", final_id, {
                "meter_id": meter.id, "reading_value": req.final_value, "reading_date": req.change_date,
                "consumption": plan.new.consumption, "source": plan.new.source, "flags": []})
            return final_id
        if row["status"] == "rejected":
            raise ValidationError("final_reading", f"reading #{row['id']} of {req.change_date} with that value was "
                                  "rejected.", "Check the final reading.")
        later = conn.execute(sa.select(r.c.id, r.c.reading_date, r.c.reading_value).where(
            r.c.meter_id == meter.id, r.c.status != "rejected",
            sa.or_(r.c.reading_date > req.change_date,
                   sa.and_(r.c.reading_date == req.change_date, r.c.id > row["id"])))
            .order_by(r.c.reading_date, r.c.id).limit(1)).mappings().first()
        if later is not None:
            raise ValidationError("change_date", f"meter {req.meter_number} has a reading after its final reading "
                                  f"(#{later['id']} of {later['reading_date']}, {later['reading_value']} kWh).",
                                  "Date the change on or after the meter's last reading, or reject the later readings first.")
        if row["status"] == "pending":
            now = utcnow()
            conn.execute(r.update().where(r.c.id == row["id"]).values(
                status="approved", reviewed_by=actor.user_id, reviewed_at=now, updated_at=now))
            self._audit(conn, actor, "reading.approve", "reading", row["id"], {"because": "final reading of a meter change"})
        return row["id"]

    def _get_meter_change(self, change_id: int) -> MeterChange:
        with read_tx(self.engine) as conn:
            row = conn.execute(_change_select().where(mc.c.id == change_id)).mappings().first()
        if row is None:
            raise ConflictError(f"Meter change {change_id} does not exist.")
        return MeterChange.from_row(row)

    def list_meter_changes(self, meter_id=None, offset=0, limit=20) -> Page[MeterChange]:
        q = _change_select()
        count = sa.select(sa.func.count()).select_from(mc)
        if meter_id is not None:
            cond = sa.or_(mc.c.old_meter_id == meter_id, mc.c.new_meter_id == meter_id)
            q, count = q.where(cond), count.where(cond)
        with read_tx(self.engine) as conn:
            rows = conn.execute(q.order_by(mc.c.change_date.desc(), mc.c.id.desc()).offset(offset).limit(limit)).mappings().all()
            total = conn.execute(count).scalar_one()
        return Page([MeterChange.from_row(x) for x in rows], offset, limit, total)
