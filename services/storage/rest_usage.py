"""REST backend part: daily usage stored all or nothing, usage history, usage anomalies (detection,
list, review) and contacts (services/storage/base.py, "water"). Each write and the detection is one
/rpc function of database/supabase/80_functions_water.sql (one transaction with its audit rows);
reads select from tables and the anomaly_details view. The SQL twins are sql_usage.py and
sql_anomalies.py."""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

from services.clock import utcnow
from services.models import AnomalyCount, Contact, DailyUsage, Page, UsageAnomaly, UsageMonth
from services.storage.rest_client import actor_json, chunks, dec, to_json
from services.storage.sql_usage import CONTACT_FIELDS

CENT = Decimal("0.01")
_NEWEST = (("usage_date", True), ("id", True))


class RestUsagePart:
    # ---- storing usage ----------------------------------------------------------------------------
    def store_usage(self, batch, actor) -> int:
        rows = list(batch.rows)
        details = None
        if rows:
            details = {"rows": len(rows), "accounts": len({x.account_id for x in rows}),
                       "from": min(x.usage_date for x in rows), "to": max(x.usage_date for x in rows),
                       "quantity": sum((x.quantity for x in rows), Decimal("0")), "label": batch.label,
                       "reading_id": batch.approve_reading_id, "readings": len(batch.readings)}
        reading_details = [{"meter_id": x.meter_id, "reading_value": x.reading_value, "reading_date": x.reading_date,
                            "consumption": x.consumption, "source": "import", "label": batch.label}
                           for x in batch.readings]
        body = {"approve_reading_id": batch.approve_reading_id, "approve_consumption": batch.approve_consumption,
                "readings": [dataclasses.asdict(x) for x in batch.readings],
                "rows": [dataclasses.asdict(x) for x in rows]}
        n = self.rest.rpc("meterline_store_usage", {
            "p_batch": to_json(body), "p_actor": actor_json(actor), "p_details": to_json(details),
            "p_reading_details": to_json(reading_details), "p_now": utcnow()},
            what=f"storing {len(rows)} day(s) of usage")
        return int(n or 0)

    # ---- reading usage ----------------------------------------------------------------------------
    def usage_days_present(self, account_ids, start, end) -> set[tuple[int, dt.date]]:
        out = set()
        for chunk in chunks(list(dict.fromkeys(account_ids))):
            for x in self.rest.select_all("daily_usage", filters=[("in", "account_id", chunk),
                                                                  ("gte", "usage_date", start),
                                                                  ("lte", "usage_date", end)],
                                          cols="account_id,usage_date", what="reading which days have usage"):
                out.add((x["account_id"], x["usage_date"]))
        return out

    def usage_quantities(self, account_ids, start, end) -> dict[tuple[int, dt.date], Decimal]:
        out = {}
        for chunk in chunks(list(dict.fromkeys(account_ids))):
            for x in self.rest.select_all("daily_usage", filters=[("in", "account_id", chunk),
                                                                  ("gte", "usage_date", start),
                                                                  ("lte", "usage_date", end)],
                                          cols="account_id,usage_date,quantity::text", what="reading stored usage"):
                out[(x["account_id"], x["usage_date"])] = Decimal(x["quantity"]).quantize(CENT)
        return out

    def usage_billed_to(self, account_ids) -> dict[int, dt.date]:
        out = {}
        for chunk in chunks(list(dict.fromkeys(account_ids)), 1000):
            for x in self.rest.rpc("meterline_usage_billed_to", {"p_account_ids": chunk},
                                   what="reading the last billed usage days", idempotent=True) or []:
                out[x["account_id"]] = dt.date.fromisoformat(x["billed_to"])
        return out

    def list_daily_usage(self, account_id, start, end) -> list[DailyUsage]:
        rows = self.rest.select_all("daily_usage", filters=[("eq", "account_id", account_id),
                                                            ("gte", "usage_date", start), ("lte", "usage_date", end)],
                                    order=(("usage_date", False),),
                                    cols="id,account_id,usage_date,quantity::text,source,meter_id",
                                    what="reading daily usage")
        return [DailyUsage(x["id"], x["account_id"], x["usage_date"], Decimal(x["quantity"]).quantize(CENT), x["source"],
                           x["meter_id"]) for x in rows]

    def usage_months(self, account_id, start, end) -> list[UsageMonth]:
        rows = self.rest.rpc("meterline_usage_months", {"p_account_id": account_id, "p_start": start, "p_end": end},
                             what="summing usage per month", idempotent=True) or []
        return [UsageMonth(x["month"], int(x["days"]), dec(x["quantity"]).quantize(CENT),
                           dec(x["peak"]).quantize(CENT), int(x["zero_days"])) for x in rows]

    # ---- anomalies --------------------------------------------------------------------------------
    def detect_anomalies(self, start, end, params, actor, accounts=None) -> dict[str, int]:
        if accounts is not None and not accounts:
            return {m: 0 for m in params.methods}
        binds = {**params.as_dict(), "methods": list(params.methods)}
        out = self.rest.rpc("meterline_detect_usage_anomalies", {
            "p_start": start, "p_end": end, "p_binds": to_json(binds), "p_params": to_json(params.as_dict()),
            "p_actor": actor_json(actor), "p_now": utcnow(),
            "p_accounts": None if accounts is None else sorted(set(accounts))}, what="detecting usage anomalies") or {}
        return {m: int(out.get(m, 0)) for m in params.methods}

    def _anomaly_filters(self, flt) -> list | None:
        f = []
        if flt.status:
            f.append(("eq", "status", flt.status))
        if flt.area_id is not None:
            area = self._area_filter(flt.area_id)
            if area is None:
                return None
            f.append(area)
        for col, value in (("method", flt.method), ("account_type", flt.account_type), ("account_id", flt.account_id)):
            if value is not None and value != "":
                f.append(("eq", col, value))
        if flt.min_score is not None:
            f.append(("gte", "score", flt.min_score))
        if flt.date_from is not None:
            f.append(("gte", "usage_date", flt.date_from))
        if flt.date_to is not None:
            f.append(("lte", "usage_date", flt.date_to))
        return f

    def list_anomalies(self, flt, offset=0, limit=50, with_total=True) -> Page[UsageAnomaly]:
        f = self._anomaly_filters(flt)
        if f is None:
            return Page([], offset, limit, 0 if with_total else None)
        rows, total = self.rest.select("anomaly_details", filters=f, order=_NEWEST, offset=offset, limit=limit,
                                       count="exact" if with_total else None, what="reading usage anomalies")
        return Page([UsageAnomaly.from_row(x) for x in rows], offset, limit, total)

    def get_anomaly(self, anomaly_id) -> UsageAnomaly | None:
        rows, _ = self.rest.select("anomaly_details", filters=[("eq", "id", anomaly_id)], limit=1,
                                   what="reading a usage anomaly")
        return UsageAnomaly.from_row(rows[0]) if rows else None

    def review_anomaly(self, anomaly_id, *, outcome, note, actor) -> UsageAnomaly:
        self.rest.rpc("meterline_review_anomaly", {"p_id": anomaly_id, "p_outcome": outcome, "p_note": note,
                                                   "p_actor": actor_json(actor), "p_now": utcnow()},
                      what="recording an anomaly's review")
        return self.get_anomaly(anomaly_id)

    def anomaly_counts(self, start, end) -> list[AnomalyCount]:
        rows = self.rest.rpc("meterline_anomaly_counts", {"p_start": start, "p_end": end},
                             what="counting usage anomalies", idempotent=True) or []
        return [AnomalyCount(dt.date.fromisoformat(x["period_start"]), x["method"], int(x["accounts"]),
                             int(x["reviewed"] or 0)) for x in rows]

    # ---- contacts ---------------------------------------------------------------------------------
    def get_contact(self, contact_id) -> Contact | None:
        rows, _ = self.rest.select("contacts", filters=[("eq", "id", contact_id)], limit=1, what="reading a contact")
        return Contact.from_row(rows[0]) if rows else None

    def update_contact(self, contact_id, changes, actor) -> Contact:
        values = {k: v for k, v in changes.items() if k in CONTACT_FIELDS}
        self.rest.rpc("meterline_update_contact", {"p_id": contact_id, "p_values": to_json(values),
                                                   "p_actor": actor_json(actor)}, what="changing a contact")
        return self.get_contact(contact_id)
