"""SQL backend part: the municipal survey import and a unit's survey and history
(services/municipal/survey.py decides what changes; this reads the state and stores the plan in one
transaction)."""
from __future__ import annotations

import sqlalchemy as sa

from database import schema as s
from services.clock import utcnow
from services.municipal.survey import AccountChange, AccountSurvey, SurveyPlan, SurveyState
from services.storage.sql_common import read_tx, write_tx

a, o, ac, sv, h, sc = (s.accounts, s.contacts, s.account_contacts, s.account_surveys, s.account_history,
                       s.service_connections)
IN = 900  # SQLite's bound-parameter limit
SURVEY_COLS = ("surveyor_name", "surveyed_at", "survey_name", "survey_mobile", "survey_address", "house_type",
               "water_connection", "size_marla", "photo_ref", "gps_text", "unit_type", "size_category")


def _account_values(u: dict, now) -> dict:
    return {"area_id": u["area_id"], "name": u["billing_name"], "category": u["category"],
            "account_type": u["account_type"], "is_active": u["is_active"], "address": u["billing_address"],
            "gps_lat": u["gps_lat"], "gps_lon": u["gps_lon"], "updated_at": now}


def _survey_values(u: dict) -> dict:
    return {c: u[c] for c in SURVEY_COLS}


class SurveyPart:
    def survey_state(self, codes) -> SurveyState:
        st = SurveyState()
        codes = list(dict.fromkeys(codes))
        primary = sa.and_(ac.c.account_id == a.c.id, ac.c.is_primary.is_(True))
        q = (sa.select(a.c.id.label("account_id"), a.c.code, a.c.area_id, a.c.category, a.c.account_type, a.c.is_active,
                       a.c.name.label("billing_name"), a.c.address.label("billing_address"), a.c.gps_lat, a.c.gps_lon,
                       o.c.id.label("contact_id"), o.c.phone.label("billing_mobile"),
                       *[sv.c[c] for c in SURVEY_COLS])
             .select_from(a.outerjoin(ac, primary).outerjoin(o, o.c.id == ac.c.contact_id)
                          .outerjoin(sv, sv.c.account_id == a.c.id)))
        with read_tx(self.engine) as conn:
            for i in range(0, len(codes), IN):
                for r in conn.execute(q.where(a.c.code.in_(codes[i:i + IN]))).mappings():
                    st.units[r["code"]] = dict(r)
        return st

    def apply_survey(self, plan: SurveyPlan, source: str, actor) -> dict[str, int]:
        now = utcnow()
        with write_tx(self.engine) as conn:
            for u in plan.inserts:
                account_id = conn.execute(a.insert().values(code=u["code"], created_at=now, **_account_values(u, now))
                                          .returning(a.c.id)).scalar_one()
                contact_id = conn.execute(o.insert().values(name=u["billing_name"], phone=u["billing_mobile"],
                                                            address=u["billing_address"])
                                          .returning(o.c.id)).scalar_one()
                conn.execute(ac.insert().values(account_id=account_id, contact_id=contact_id, role="owner",
                                                is_primary=True))
                conn.execute(sv.insert().values(account_id=account_id, survey_id=u["code"], **_survey_values(u)))
                if u.get("connect_plan_id") is not None:
                    conn.execute(sc.insert().values(account_id=account_id, service=u["service"],
                                                    tariff_plan_id=u["connect_plan_id"], is_active=u["is_active"],
                                                    started_on=u["connect_from"]))
            for u in plan.updates:
                account_id = u["account_id"]
                conn.execute(a.update().where(a.c.id == account_id).values(**_account_values(u, now)))
                if u.get("contact_id") is not None:
                    conn.execute(o.update().where(o.c.id == u["contact_id"]).values(
                        name=u["billing_name"], phone=u["billing_mobile"], address=u["billing_address"]))
                else:
                    contact_id = conn.execute(o.insert().values(name=u["billing_name"], phone=u["billing_mobile"],
                                                                address=u["billing_address"])
                                              .returning(o.c.id)).scalar_one()
                    conn.execute(ac.insert().values(account_id=account_id, contact_id=contact_id, role="owner",
                                                    is_primary=True))
                if conn.execute(sv.update().where(sv.c.account_id == account_id)
                                .values(**_survey_values(u))).rowcount == 0:
                    conn.execute(sv.insert().values(account_id=account_id, survey_id=u["code"], **_survey_values(u)))
            if plan.history:
                conn.execute(h.insert(), [{**x, "old_value": _text(x["old_value"]), "new_value": _text(x["new_value"]),
                                           "source": source[:64], "changed_by_name": actor.username,
                                           "created_at": now} for x in plan.history])
            counts = plan.counts()
            self._audit(conn, actor, "survey.import", "account", None, {"source": source, **counts})
        return counts

    def account_survey(self, account_id: int) -> AccountSurvey | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(sa.select(sv).where(sv.c.account_id == account_id)).mappings().first()
        return AccountSurvey.from_row(row) if row else None

    def list_account_history(self, account_id: int, limit: int = 50) -> list[AccountChange]:
        with read_tx(self.engine) as conn:
            rows = conn.execute(sa.select(h).where(h.c.account_id == account_id)
                                .order_by(h.c.created_at.desc(), h.c.id.desc()).limit(limit)).mappings().all()
        return [AccountChange.from_row(r) for r in rows]


def _text(value) -> str | None:
    return None if value is None else str(value)[:255]
