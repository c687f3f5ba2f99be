"""SQL backend part: master data import (services/master_data/importer.py decides, this stores)."""
from __future__ import annotations

from typing import Sequence

import sqlalchemy as sa

from database import schema as s
from services.accounts.roles import SYSTEM
from services.errors import ConflictError
from services.master_data.importer import MasterDataChanges, MasterDataState
from services.storage.sql_common import read_tx, write_tx

f, ar, o, fo, m, mo, fm = (s.accounts, s.areas, s.contacts, s.account_contacts, s.meters, s.motors,
                           s.account_motors)
sc, tp = s.service_connections, s.tariff_plans
IN = 900  # stay under SQLite's bound-parameter limit


def _chunks(values):
    values = list(dict.fromkeys(values))
    for i in range(0, len(values), IN):
        yield values[i:i + IN]


class MasterPart:
    def master_data_state(self, account_codes, meter_numbers, motor_codes) -> MasterDataState:
        st = MasterDataState()
        primary = sa.and_(fo.c.account_id == f.c.id, fo.c.is_primary.is_(True))
        flat_motor = mo.alias("flat_motor")
        meter_flat = f.alias("meter_flat")
        with read_tx(self.engine) as conn:
            for chunk in _chunks(account_codes):
                for r in conn.execute(
                        sa.select(f.c.id, f.c.code, ar.c.path.label("area_path"), f.c.category,
                                  o.c.id.label("contact_id"), o.c.name.label("contact_name"),
                                  o.c.phone.label("contact_phone"))
                        .select_from(f.join(ar, ar.c.id == f.c.area_id)
                                     .outerjoin(fo, primary).outerjoin(o, o.c.id == fo.c.contact_id))
                        .where(f.c.code.in_(chunk))).mappings():
                    st.accounts[r["code"]] = dict(r)
                for code, mid, number in conn.execute(
                        sa.select(f.c.code, m.c.id, m.c.meter_number).select_from(m.join(f, f.c.id == m.c.account_id))
                        .where(f.c.code.in_(chunk), m.c.status == "active").order_by(m.c.id)):
                    st.flat_meters.setdefault(code, []).append((mid, number))
                for code, motor in conn.execute(
                        sa.select(f.c.code, flat_motor.c.code).select_from(
                            fm.join(f, f.c.id == fm.c.account_id).join(flat_motor, flat_motor.c.id == fm.c.motor_id))
                        .where(f.c.code.in_(chunk)).order_by(fm.c.id)):
                    st.account_motors.setdefault(code, []).append(motor)
            for chunk in _chunks(meter_numbers):
                for r in conn.execute(
                        sa.select(m.c.id, m.c.meter_number, m.c.status, meter_flat.c.code.label("account_code"),
                                  mo.c.code.label("motor_code"))
                        .select_from(m.outerjoin(meter_flat, meter_flat.c.id == m.c.account_id)
                                     .outerjoin(mo, mo.c.id == m.c.motor_id))
                        .where(m.c.meter_number.in_(chunk))).mappings():
                    st.meters[r["meter_number"]] = {k: r[k] for k in ("id", "account_code", "motor_code", "status")}
            for chunk in _chunks(motor_codes):
                for code, mid, number in conn.execute(
                        sa.select(mo.c.code, m.c.id, m.c.meter_number).select_from(m.join(mo, mo.c.id == m.c.motor_id))
                        .where(mo.c.code.in_(chunk), m.c.account_id.is_(None), m.c.status == "active").order_by(m.c.id)):
                    st.motor_meters.setdefault(code, []).append((mid, number))
        return st

    def apply_master_data(self, changes: MasterDataChanges | Sequence[MasterDataChanges], actor) -> None:
        parts = [changes] if isinstance(changes, MasterDataChanges) else list(changes)
        totals: dict[str, int] = {}
        try:
            with write_tx(self.engine) as conn:
                for ch in parts:
                    self._apply_master_part(conn, ch)
                    for k, v in ch.counts().items():
                        totals[k] = totals.get(k, 0) + v
                self._audit(conn, actor, "master_data.import", "master_data", None,
                            {k: v for k, v in totals.items() if v})
        except sa.exc.IntegrityError as exc:
            raise ConflictError(f"The database refused the master data ({str(exc.orig).splitlines()[0]}); nothing "
                                "was written. Another change may have happened meanwhile: run the import again.") from exc

    def _apply_master_part(self, conn, ch: MasterDataChanges) -> None:
        if ch.areas:
            self._ensure_areas(conn, ch.areas, SYSTEM)
        if ch.motors:
            conn.execute(mo.insert(), ch.motors)
        area_ids = self._ids(conn, ar, ar.c.path, [x["area_path"] for x in ch.flats_new + ch.flats_changed])
        if ch.flats_new:
            conn.execute(f.insert(), [{"code": x["code"], "name": x.get("name") or "", "area_id": area_ids[x["area_path"]],
                                       "category": x["category"], "account_type": "flat"} for x in ch.flats_new])
            plan_id = conn.execute(sa.select(tp.c.id).where(tp.c.service == "electricity").order_by(tp.c.id)).scalar()
            if plan_id is None:
                raise ConflictError("No electricity tariff plan is stored, so new flats cannot be connected; set the "
                                    "utility up first (python -m scripts.seed_demo on an empty database, or the "
                                    "Tariff plans page). Nothing was written.")
            new_ids = self._ids(conn, f, f.c.code, [x["code"] for x in ch.flats_new])
            conn.execute(sc.insert(), [{"account_id": new_ids[x["code"]], "service": "electricity",
                                        "tariff_plan_id": plan_id} for x in ch.flats_new])
        if ch.flats_changed:
            conn.execute(f.update().where(f.c.id == sa.bindparam("_id")).values(
                area_id=sa.bindparam("area_id"), category=sa.bindparam("category")),
                [{"_id": x["id"], "area_id": area_ids[x["area_path"]], "category": x["category"]}
                 for x in ch.flats_changed])
        account_ids = self._ids(conn, f, f.c.code, [x["account_code"] for x in ch.owners_new + ch.links_new + ch.links_removed]
                             + [x["account_code"] for x in ch.meters_new if x["account_code"]])
        motor_ids = self._ids(conn, mo, mo.c.code, [x["motor_code"] for x in ch.links_new + ch.links_removed]
                              + [x["motor_code"] for x in ch.meters_new if x["motor_code"]])
        if ch.owners_new:
            contact_ids = conn.execute(
                o.insert().returning(o.c.id, sort_by_parameter_order=True),
                [{"name": x["name"], "phone": x["phone"]} for x in ch.owners_new]).scalars().all()
            conn.execute(fo.insert(), [{"account_id": account_ids[x["account_code"]], "contact_id": oid, "is_primary": True}
                                       for x, oid in zip(ch.owners_new, contact_ids)])
        if ch.owners_changed:
            conn.execute(o.update().where(o.c.id == sa.bindparam("_id")).values(
                name=sa.bindparam("name"), phone=sa.bindparam("phone")),
                [{"_id": x["id"], "name": x["name"], "phone": x["phone"]} for x in ch.owners_changed])
        for chunk in _chunks(ch.meters_retired):
            conn.execute(m.update().where(m.c.id.in_(chunk)).values(status="replaced"))
        if ch.meters_new:
            conn.execute(m.insert(), [{"meter_number": x["meter_number"], "status": "active",
                                       "account_id": account_ids[x["account_code"]] if x["account_code"] else None,
                                       "motor_id": motor_ids[x["motor_code"]] if x["motor_code"] else None}
                                      for x in ch.meters_new])
        for x in ch.links_removed:
            conn.execute(fm.delete().where(fm.c.account_id == account_ids[x["account_code"]],
                                           fm.c.motor_id == motor_ids[x["motor_code"]]))
        if ch.links_new:
            conn.execute(fm.insert(), [{"account_id": account_ids[x["account_code"]], "motor_id": motor_ids[x["motor_code"]]}
                                       for x in ch.links_new])

    @staticmethod
    def _ids(conn, table, key_col, keys) -> dict:
        out = {}
        for chunk in _chunks(keys):
            out.update(dict(conn.execute(sa.select(key_col, table.c.id).where(key_col.in_(chunk))).all()))
        return out
