"""SQL backend part: the utility, its areas and accounts, tariff plans, service connections and
daily usage (the reference data every bill is made from)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from database import schema as s
from database.name_search import name_contains
from services.clock import utcnow
from services.errors import ValidationError
from services.models import Account, AccountFilter, Area, Page, ServiceConnection, StoredPlan, UsageTotal
from services.storage.sql_common import read_tx, write_tx, as_date
from services.storage.sql_readings import _account_select, area_subtree, prefix_match
from services.storage.sql_scope import scope_where
from services.tariffs import TariffPlan

a, ar, o, fo = s.accounts, s.areas, s.contacts, s.account_contacts
tp, tpv, sc, du = s.tariff_plans, s.tariff_plan_versions, s.service_connections, s.daily_usage
IN = 900


class ReferencePart:
    # ---- the utility ------------------------------------------------------------------------
    def utility_settings_row(self) -> dict | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(sa.select(s.utility_settings).where(s.utility_settings.c.id == 1)).mappings().first()
        return dict(row) if row else None

    def save_utility_settings(self, row: dict, actor) -> None:
        values = {k: v for k, v in row.items() if k in s.utility_settings.c and k not in ("id", "updated_at")}
        values.update(updated_by=actor.username, updated_at=utcnow())
        with write_tx(self.engine) as conn:
            old = conn.execute(sa.select(s.utility_settings).where(s.utility_settings.c.id == 1)).mappings().first()
            if old is None:
                conn.execute(s.utility_settings.insert().values(id=1, **values))
            else:
                conn.execute(s.utility_settings.update().where(s.utility_settings.c.id == 1).values(**values))
            changed = {k: v for k, v in values.items() if old is None or old.get(k) != v}
            changed.pop("updated_at", None)
            self._audit(conn, actor, "utility.settings", "utility", 1, changed)

    # ---- areas -------------------------------------------------------------------------------
    def list_areas(self, *, level: int | None = None, parent_id: int | None = None) -> list[Area]:
        q = sa.select(ar)
        if level is not None:
            q = q.where(ar.c.level == level)
        if parent_id is not None:
            q = q.where(ar.c.parent_id == parent_id)
        q = scope_where(q, self._area_shown(ar.c.path))
        with read_tx(self.engine) as conn:
            return [Area.from_row(x) for x in conn.execute(q.order_by(ar.c.sort_order, ar.c.path)).mappings()]

    def get_area(self, *, area_id: int | None = None, path: str | None = None) -> Area | None:
        q = sa.select(ar).where(ar.c.id == area_id) if area_id is not None else sa.select(ar).where(ar.c.path == path)
        q = scope_where(q, self._area_shown(ar.c.path))
        with read_tx(self.engine) as conn:
            row = conn.execute(q).mappings().first()
        return Area.from_row(row) if row else None

    def ensure_areas(self, areas: list[dict], actor) -> dict[str, int]:
        """Create the areas (dicts with path, name, optional kind/sort_order; parents before children,
        or implied by the path) that do not exist yet; return {path: id} of all of them."""
        with write_tx(self.engine) as conn:
            return self._ensure_areas(conn, areas, actor)

    def _ensure_areas(self, conn, areas: list[dict], actor) -> dict[str, int]:
        wanted = {}
        for x in areas:
            parts = x["path"].split("/")
            for i in range(1, len(parts)):  # parents a path implies
                wanted.setdefault("/".join(parts[:i]), {"path": "/".join(parts[:i]), "name": parts[i - 1]})
            wanted[x["path"]] = x
        ids = {}
        paths = sorted(wanted, key=lambda p: p.count("/"))
        for i in range(0, len(paths), IN):
            ids.update(dict(conn.execute(sa.select(ar.c.path, ar.c.id).where(ar.c.path.in_(paths[i:i + IN]))).all()))
        made = 0
        for path in paths:
            if path in ids:
                continue
            x = wanted[path]
            parent, _, code = path.rpartition("/")
            ids[path] = conn.execute(ar.insert().values(
                parent_id=ids[parent] if parent else None, level=path.count("/") + 1, code=code,
                name=x.get("name") or code, path=path, kind=x.get("kind"), sort_order=x.get("sort_order", 0),
                created_at=utcnow()).returning(ar.c.id)).scalar_one()
            made += 1
        if made:
            self._audit(conn, actor, "area.create", "area", None, {"created": made})
        return ids

    # ---- accounts ----------------------------------------------------------------------------
    def get_account(self, *, account_id=None, code=None) -> Account | None:
        q = _account_select()
        q = q.where(a.c.id == account_id) if account_id is not None else q.where(a.c.code == str(code or "").strip().upper())
        q = scope_where(q, self._in_scope(a.c.area_id))
        with read_tx(self.engine) as conn:
            row = conn.execute(q).mappings().first()
        return Account.from_row(row) if row else None

    def _account_where(self, q, flt: AccountFilter):
        q = scope_where(q, self._in_scope(a.c.area_id))
        if flt.area_id is not None:
            q = q.where(a.c.area_id.in_(area_subtree(flt.area_id)))
        if flt.category:
            q = q.where(a.c.category == flt.category)
        if flt.account_type:
            q = q.where(a.c.account_type == flt.account_type)
        if flt.is_active is not None:
            q = q.where(a.c.is_active.is_(flt.is_active))
        if flt.search and flt.search.strip():
            term = flt.search.strip()
            q = q.where(a.c.id.in_(sa.union(
                sa.select(a.c.id).where(prefix_match(a.c.code, term.upper(), self.dialect)),
                sa.select(a.c.id).where(name_contains(a, term, self.dialect)),
                sa.select(fo.c.account_id).where(fo.c.is_primary.is_(True), fo.c.contact_id.in_(
                    sa.select(o.c.id).where(name_contains(o, term, self.dialect)))))))
        return q

    def list_accounts(self, flt: AccountFilter, offset=0, limit=50, with_total=True) -> Page[Account]:
        ids_q = self._account_where(sa.select(a.c.id), flt).order_by(a.c.code).offset(offset).limit(limit)
        with read_tx(self.engine) as conn:
            ids = [x for (x,) in conn.execute(ids_q)]
            rows = conn.execute(_account_select().where(a.c.id.in_(ids))).mappings().all() if ids else []
            total = None
            if with_total:
                total = conn.execute(self._account_where(sa.select(sa.func.count()).select_from(a), flt)).scalar_one()
        by_id = {x["id"]: x for x in rows}
        return Page([Account.from_row(by_id[i]) for i in ids], offset, limit, total)

    # ---- tariff plans ------------------------------------------------------------------------
    def save_tariff_plan(self, plan: TariffPlan, actor) -> StoredPlan:
        """Store a plan, or the versions of it not stored yet (versions are append-only: a stored
        version that differs from the plan's is refused)."""
        d = plan.to_dict()
        with write_tx(self.engine) as conn:
            plan_id = conn.execute(sa.select(tp.c.id).where(tp.c.code == plan.code)).scalar()
            if plan_id is None:
                plan_id = conn.execute(tp.insert().values(
                    code=plan.code, name=plan.name, kind=plan.kind, service=plan.service, unit=plan.unit,
                    currency=plan.currency, notes=plan.notes, created_at=utcnow()).returning(tp.c.id)).scalar_one()
                self._audit(conn, actor, "tariff_plan.create", "tariff_plan", plan_id, {"code": plan.code, "kind": plan.kind})
            stored = {r.version: r for r in conn.execute(sa.select(tpv).where(tpv.c.plan_id == plan_id))}
            for v in d["versions"]:
                old = stored.get(v["version"])
                if old is not None:
                    if old.params != v["params"] or old.effective_from.isoformat() != v["effective_from"]:
                        raise ValidationError("version", f"version {v['version']} of plan {plan.code} is stored with "
                                              "other terms.", "Add a new version instead of changing a stored one.")
                    continue
                vid = conn.execute(tpv.insert().values(
                    plan_id=plan_id, version=v["version"], effective_from=dt.date.fromisoformat(v["effective_from"]),
                    params=v["params"], notes=v.get("notes"), created_by_name=actor.username,
                    created_at=utcnow()).returning(tpv.c.id)).scalar_one()
                self._audit(conn, actor, "tariff_plan.version", "tariff_plan", plan_id, {
                    "version": v["version"], "effective_from": v["effective_from"], "version_id": vid})
        return self.get_tariff_plan(plan_id=plan_id)

    def get_tariff_plan(self, *, plan_id: int | None = None, code: str | None = None) -> StoredPlan | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(sa.select(tp).where(tp.c.id == plan_id) if plan_id is not None
                               else sa.select(tp).where(tp.c.code == code)).mappings().first()
            if row is None:
                return None
            versions = conn.execute(sa.select(tpv).where(tpv.c.plan_id == row["id"]).order_by(tpv.c.version)).mappings().all()
        return _stored_plan(row, versions)

    def list_tariff_plans(self) -> list[StoredPlan]:
        with read_tx(self.engine) as conn:
            plans = conn.execute(sa.select(tp).order_by(tp.c.code)).mappings().all()
            versions = conn.execute(sa.select(tpv).order_by(tpv.c.plan_id, tpv.c.version)).mappings().all()
        return [_stored_plan(p, [v for v in versions if v["plan_id"] == p["id"]]) for p in plans]

    # ---- service connections -----------------------------------------------------------------
    def service_connection(self, account_id: int, service: str) -> ServiceConnection | None:
        q = (sa.select(sc, tp.c.code.label("plan_code"), tp.c.kind.label("plan_kind"))
             .select_from(sc.join(tp, tp.c.id == sc.c.tariff_plan_id))
             .where(sc.c.account_id == account_id, sc.c.service == service))
        q = scope_where(q, self._account_in_scope(sc.c.account_id))
        with read_tx(self.engine) as conn:
            row = conn.execute(q).mappings().first()
        return ServiceConnection.from_row(row) if row else None

    # ---- daily usage -------------------------------------------------------------------------
    def usage_totals(self, account_ids: list[int], start: dt.date, end: dt.date) -> dict[int, UsageTotal]:
        """Each account's daily usage summed over [start, end], in the database."""
        out: dict[int, UsageTotal] = {}
        ids = list(dict.fromkeys(account_ids))
        with read_tx(self.engine) as conn:
            for i in range(0, len(ids), IN):
                for row in conn.execute(
                        sa.select(du.c.account_id, sa.func.min(du.c.usage_date), sa.func.max(du.c.usage_date),
                                  sa.func.count(), sa.func.sum(du.c.quantity))
                        .where(du.c.account_id.in_(ids[i:i + IN]), du.c.usage_date.between(start, end),
                               *self._scope_conds(self._account_in_scope(du.c.account_id)))
                        .group_by(du.c.account_id)):
                    out[row[0]] = UsageTotal(row[0], as_date(row[1]), as_date(row[2]), row[3],
                                             Decimal(str(row[4])).quantize(Decimal("0.01")))
        return out


def _stored_plan(row, versions) -> StoredPlan:
    d = {k: row[k] for k in ("code", "name", "kind", "service", "unit", "currency")}
    if row["notes"]:
        d["notes"] = row["notes"]
    d["versions"] = [{"version": v["version"], "effective_from": as_date(v["effective_from"]).isoformat(),
                      "params": v["params"], **({"notes": v["notes"]} if v["notes"] else {})} for v in versions]
    return StoredPlan(row["id"], TariffPlan.from_dict(d, source=f"tariff plan {row['code']}"),
                      {v["version"]: v["id"] for v in versions})

