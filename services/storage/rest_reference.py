"""REST backend part: the utility, its areas and accounts, tariff plans, service connections and
daily usage (the reference data every bill is made from; services/storage/sql_reference.py is the
SQL twin). Reads select from tables and views; each write is one /rpc function
(database/supabase/25_functions_reference.sql), so a change and its audit row are one transaction.
"""
from __future__ import annotations

import datetime as dt

from database import schema as s
from services.models import Account, AccountFilter, Area, Page, ServiceConnection, StoredPlan, UsageTotal
from services.storage.rest_client import actor_json, chunks, dec, like_escape, quoted, to_json, under_area
from services.storage.sql_reference import _stored_plan
from services.tariffs import TariffPlan

_AREA_ORDER = (("sort_order", False), ("path", False))
USAGE_CHUNK = 1000  # account ids per usage call (sent in the JSON body, not the URL)


class RestReferencePart:
    # ---- the utility ------------------------------------------------------------------------
    def utility_settings_row(self) -> dict | None:
        rows, _ = self.rest.select("utility_settings", filters=[("eq", "id", 1)], limit=1,
                                   what="reading the utility's settings")
        return rows[0] if rows else None

    def save_utility_settings(self, row: dict, actor) -> None:
        values = {k: v for k, v in row.items() if k in s.utility_settings.c and k not in ("id", "updated_at")}
        self.rest.rpc("meterline_save_utility_settings", {"p_row": to_json(values), "p_actor": actor_json(actor)},
                      what="saving the utility's settings")

    # ---- areas -------------------------------------------------------------------------------
    def list_areas(self, *, level: int | None = None, parent_id: int | None = None) -> list[Area]:
        flt = []
        if level is not None:
            flt.append(("eq", "level", level))
        if parent_id is not None:
            flt.append(("eq", "parent_id", parent_id))
        rows = self.rest.select_all("areas", filters=flt, order=_AREA_ORDER + (("id", False),), what="reading the areas")
        return [Area.from_row(x) for x in rows]

    def get_area(self, *, area_id: int | None = None, path: str | None = None) -> Area | None:
        flt = [("eq", "id", area_id)] if area_id is not None else [("eq", "path", path)]
        rows, _ = self.rest.select("areas", filters=flt, limit=1, what="reading an area")
        return Area.from_row(rows[0]) if rows else None

    def ensure_areas(self, areas: list[dict], actor) -> dict[str, int]:
        out = self.rest.rpc("meterline_ensure_areas", {"p_areas": to_json(list(areas)), "p_actor": actor_json(actor)},
                            what=f"storing {len(areas)} area(s)")
        return {path: int(i) for path, i in (out or {}).items()}

    def _area_filter(self, area_id: int) -> tuple | None:
        """The view filter for "under this area" (None: no such area, nothing can match)."""
        area = self.get_area(area_id=area_id)
        return under_area(area.path) if area is not None else None

    # ---- accounts ----------------------------------------------------------------------------
    def get_account(self, *, account_id=None, code=None) -> Account | None:
        flt = [("eq", "id", account_id)] if account_id is not None else [("eq", "code", str(code or "").strip().upper())]
        rows, _ = self.rest.select("account_details", filters=flt, limit=1, what="reading an account")
        return Account.from_row(rows[0]) if rows else None

    def _account_filters(self, flt: AccountFilter) -> list[tuple] | None:
        out = []
        if flt.area_id is not None:
            area = self._area_filter(flt.area_id)
            if area is None:
                return None
            out.append(area)
        if flt.category:
            out.append(("eq", "category", flt.category))
        if flt.account_type:
            out.append(("eq", "account_type", flt.account_type))
        if flt.is_active is not None:
            out.append(("is", "is_active", flt.is_active))
        if flt.search and flt.search.strip():
            term = flt.search.strip()
            contains = quoted("*" + like_escape(term) + "*")
            out.append(("or", f"code.like.{quoted(like_escape(term.upper()) + '*')},name.ilike.{contains},"
                              f"contact_name.ilike.{contains}"))
        return out

    def list_accounts(self, flt: AccountFilter, offset=0, limit=50, with_total=True) -> Page[Account]:
        filters = self._account_filters(flt)
        if filters is None:
            return Page([], offset, limit, 0 if with_total else None)
        rows, total = self.rest.select("account_details", filters=filters, order=(("code", False), ("id", False)),
                                       offset=offset, limit=limit, count="exact" if with_total else None,
                                       what="listing accounts")
        return Page([Account.from_row(x) for x in rows], offset, limit, total)

    # ---- tariff plans ------------------------------------------------------------------------
    def save_tariff_plan(self, plan: TariffPlan, actor) -> StoredPlan:
        plan_id = self.rest.rpc("meterline_save_tariff_plan", {"p_plan": to_json(plan.to_dict()),
                                                               "p_actor": actor_json(actor)},
                                what=f"storing tariff plan {plan.code}")
        return self.get_tariff_plan(plan_id=int(plan_id))

    def get_tariff_plan(self, *, plan_id: int | None = None, code: str | None = None) -> StoredPlan | None:
        flt = [("eq", "id", plan_id)] if plan_id is not None else [("eq", "code", code)]
        rows, _ = self.rest.select("tariff_plans", filters=flt, limit=1, what="reading a tariff plan")
        if not rows:
            return None
        versions = self.rest.select_all("tariff_plan_versions", filters=[("eq", "plan_id", rows[0]["id"])],
                                        order=(("version", False),), what="reading a tariff plan's versions")
        return _stored_plan(rows[0], versions)

    def list_tariff_plans(self) -> list[StoredPlan]:
        # A utility has a handful of plans, each a few versions: both lists are read whole, page by page.
        plans = self.rest.select_all("tariff_plans", order=(("code", False),), what="reading the tariff plans")
        versions: dict[int, list[dict]] = {}
        for chunk in chunks([p["id"] for p in plans]):
            for v in self.rest.select_all("tariff_plan_versions", filters=[("in", "plan_id", chunk)],
                                          order=(("plan_id", False), ("version", False)),
                                          what="reading the tariff plans' versions"):
                versions.setdefault(v["plan_id"], []).append(v)
        return [_stored_plan(p, versions.get(p["id"], [])) for p in plans]

    # ---- service connections -----------------------------------------------------------------
    def service_connection(self, account_id: int, service: str) -> ServiceConnection | None:
        rows, _ = self.rest.select("connection_details", filters=[("eq", "account_id", account_id),
                                                                  ("eq", "service", service)],
                                   limit=1, what="reading a service connection")
        return ServiceConnection.from_row(rows[0]) if rows else None

    # ---- daily usage -------------------------------------------------------------------------
    def usage_totals(self, account_ids: list[int], start: dt.date, end: dt.date) -> dict[int, UsageTotal]:
        out: dict[int, UsageTotal] = {}
        for chunk in chunks(list(dict.fromkeys(account_ids)), USAGE_CHUNK):
            for x in self.rest.rpc("meterline_usage_totals", {"p_account_ids": chunk, "p_start": start, "p_end": end},
                                   what="summing daily usage", idempotent=True) or []:
                out[x["account_id"]] = usage_total(x["account_id"], x)
        return out


def usage_total(account_id: int, x: dict) -> UsageTotal:
    """A UsageTotal from a function's JSON ({first_date, last_date, days, quantity[, since]})."""
    return UsageTotal(account_id, dt.date.fromisoformat(x["first_date"]), dt.date.fromisoformat(x["last_date"]),
                      int(x["days"]), dec(x["quantity"]), dt.date.fromisoformat(x["since"]) if x.get("since") else None)
