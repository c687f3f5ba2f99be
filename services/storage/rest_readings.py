"""REST backend part: meters and readings (reads from the views, writes through /rpc).

A meter's chain is written only by /rpc functions that lock the meter row first
(database/supabase/30_functions_readings.sql). Python cannot run the rules inside that lock, so
insert_reading_checked reads the neighbours, runs `build` (the rules and the statistical flags),
and the function reads them again under the lock, re-applies the value rules in SQL, and answers
'stale' when the neighbours changed meanwhile: then it is all done again.
"""
from __future__ import annotations

import datetime as dt

from services.errors import ConflictError, ValidationError
from services.readings.meter_changes import MeterChange
from services.models import READING_SORTS, MeterChoice, Page, Reading, ReadingFilter, sort_column
from services.readings.rules import MeterInfo, NeighbourReading, ReadingContext, max_kwh_per_day
from services.storage.rest_client import (
    IN_CHUNK, StaleWriteError, actor_json, chunks, columns, dec, like_escape, parse_ts, quoted,
)
from services.storage.sql_backend import _jsonable

_NEWEST = (("reading_date", True), ("id", True))
_CHAIN = ("id", "reading_value", "reading_date", "consumption", "previous_reading_id", "approved_units")
HISTORY = 13
# Each 'stale' answer means another write to the meter's chain succeeded in between, so with N
# writers at once a reading is stored within N tries; this bounds a pathological stream of them.
STALE_RETRIES = 25


class RestReadingsPart:
    # ---- meters ----------------------------------------------------------------------------
    def get_meter(self, *, meter_id=None, meter_number=None) -> MeterInfo | None:
        flt = [("eq", "id", meter_id)] if meter_id is not None else [("eq", "meter_number", str(meter_number).strip())]
        rows, _ = self.rest.select("meters", filters=flt, limit=1,
                                   cols=columns("meters", ("id", "meter_number", "status", "account_id", "motor_id")))
        return MeterInfo(**rows[0]) if rows else None

    def meter_choice(self, meter_id: int) -> MeterChoice | None:
        rows, _ = self.rest.select("meter_choices", filters=[("eq", "meter_id", meter_id)], order=(("account_code", False),),
                                   limit=1)
        return MeterChoice.from_row(rows[0]) if rows else None

    def list_meter_choices(self, search=None, offset=0, limit=50) -> Page[MeterChoice]:
        flt = []
        if search and search.strip():
            term = search.strip()
            flt.append(("or", f"account_code.like.{quoted(like_escape(term.upper()) + '*')},"
                              f"meter_number.like.{quoted(like_escape(term) + '*')},"
                              f"contact_name.ilike.{quoted('*' + like_escape(term) + '*')}"))
        rows, _ = self.rest.select("meter_choices", filters=flt, order=(("account_code", False), ("meter_id", False)),
                                   offset=offset, limit=limit)
        return Page([MeterChoice.from_row(x) for x in rows], offset, limit)

    # ---- readings: the chain ----------------------------------------------------------------
    def reading_neighbours(self, meter_id, reading_date):
        ctx = self._reading_context(meter_id, reading_date, history=1)
        return ctx.previous, ctx.following

    def _reading_context(self, meter_id, reading_date, history=HISTORY) -> ReadingContext:
        live = [("eq", "meter_id", meter_id), ("neq", "status", "rejected")]
        cols = columns("readings", _CHAIN)
        before, _ = self.rest.select("readings", filters=live + [("lte", "reading_date", reading_date)], order=_NEWEST,
                                     limit=history, cols=cols)
        nxt, _ = self.rest.select("readings", filters=live + [("gt", "reading_date", reading_date)],
                                  order=(("reading_date", False), ("id", False)), limit=1, cols=cols)
        following = None
        if nxt:
            following = NeighbourReading(**nxt[0], billed=bool(self.readings_billed([nxt[0]["id"]])))
        chain = tuple(NeighbourReading(**x) for x in before)
        return ReadingContext(chain[0] if chain else None, following, chain, self.get_meter(meter_id=meter_id))

    def insert_reading_checked(self, meter_id, reading_date, reading_value, build, actor) -> tuple[Reading, bool]:
        for _ in range(STALE_RETRIES):
            existing = self.find_reading(meter_id, reading_date, reading_value)
            if existing is not None:
                return existing, False
            ctx = self._reading_context(meter_id, reading_date)
            plan = build(ctx)
            new = plan.new
            values = {k: getattr(new, k) for k in new.__dataclass_fields__}
            details = _jsonable({"meter_id": new.meter_id, "reading_value": new.reading_value,
                                 "reading_date": new.reading_date, "consumption": new.consumption, "source": new.source,
                                 "flags": [f["code"] for f in (new.flags or [])]})
            expect = {"previous_id": ctx.previous.id if ctx.previous else None,
                      "following_id": ctx.following.id if ctx.following else None}
            try:
                out = self.rest.rpc("meterline_insert_reading", {
                    "p_reading": values, "p_actor": actor_json(actor), "p_details": details, "p_expect": expect,
                    "p_max_kwh_per_day": max_kwh_per_day()}, what="storing the reading")
            except StaleWriteError:
                continue  # another reading of the meter landed meanwhile: check against the new chain
            return self.get_reading(out["id"]), bool(out["created"])
        raise ConflictError("The meter's readings kept changing while this reading was checked; send it again.")

    def meter_history(self, meter_id, before=None, limit=12) -> list[Reading]:
        flt = [("eq", "meter_id", meter_id), ("neq", "status", "rejected")]
        if before is not None:
            flt.append(("lt", "reading_date", before))
        rows, _ = self.rest.select("reading_details", filters=flt, order=_NEWEST, limit=limit)
        return [Reading.from_row(x) for x in rows]

    def find_reading(self, meter_id, reading_date, reading_value) -> Reading | None:
        rows, _ = self.rest.select("reading_details", filters=[
            ("eq", "meter_id", meter_id), ("eq", "reading_date", reading_date), ("eq", "reading_value", reading_value)],
            order=(("id", False),), limit=1)
        return Reading.from_row(rows[0]) if rows else None

    def get_reading(self, reading_id) -> Reading | None:
        rows, _ = self.rest.select("reading_details", filters=[("eq", "id", reading_id)], limit=1)
        return Reading.from_row(rows[0]) if rows else None

    def _reading_filters(self, flt: ReadingFilter) -> list[tuple] | None:
        out = []
        if flt.status:
            out.append(("eq", "status", flt.status))
        if flt.unbilled_only:
            out.append(("is", "bill_id", None))
        if flt.area_id is not None:
            area = self._area_filter(flt.area_id)
            if area is None:
                return None  # no such area: nothing can match
            out.append(area)
        if flt.date_from:
            out.append(("gte", "reading_date", flt.date_from))
        if flt.date_to:
            out.append(("lte", "reading_date", flt.date_to))
        if flt.flagged_only:
            out.append(("not_is", "flags", None))
        if flt.unflagged_only:
            out.append(("is", "flags", None))
        if flt.submitted_by is not None:
            out.append(("eq", "submitted_by", flt.submitted_by))
        if flt.meter_id is not None:
            out.append(("eq", "meter_id", flt.meter_id))
        if flt.account_id is not None:
            out.append(("eq", "account_id", flt.account_id))
        if flt.account_code and flt.account_code.strip():
            out.append(("like", "account_code", like_escape(flt.account_code.strip().upper()) + "*"))
        if flt.account_meters_only:
            out.append(("not_is", "account_id", None))
        return out

    def list_readings(self, flt: ReadingFilter, offset=0, limit=50, with_total=True) -> Page[Reading]:
        filters = self._reading_filters(flt)
        if filters is None:
            return Page([], offset, limit, 0 if with_total else None)
        order = ((sort_column(READING_SORTS, flt.sort), flt.descending), ("id", flt.descending))
        rows, total = self.rest.select("reading_details", filters=filters, order=order,
                                       offset=offset, limit=limit, count="exact" if with_total else None)
        return Page([Reading.from_row(x) for x in rows], offset, limit, total)

    def review_reading(self, reading_id, *, approve, actor, reason=None, approved_units=None) -> Reading:
        if not approve and not (reason and reason.strip()):
            raise ValidationError("reason", "is required to reject a reading.", "Say what is wrong so the engineer can fix it.")
        self.rest.rpc("meterline_review_reading", {
            "p_id": reading_id, "p_approve": approve, "p_actor": actor_json(actor),
            "p_reason": reason.strip() if reason else None, "p_approved_units": approved_units,
            "p_details": _jsonable({"approved_units": approved_units, "reason": reason})},
            what=f"reviewing reading {reading_id}")
        return self.get_reading(reading_id)

    def undo_review(self, reading_id, actor) -> Reading:
        self.rest.rpc("meterline_undo_review", {"p_id": reading_id, "p_actor": actor_json(actor)},
                      what=f"sending reading {reading_id} back to pending")
        return self.get_reading(reading_id)

    def approve_readings(self, reading_ids, actor, *, unflagged_only=True) -> int:
        if not reading_ids:
            return 0
        # One call, one transaction: the ids travel in the JSON body, not the URL.
        return int(self.rest.rpc("meterline_approve_readings", {
            "p_ids": list(reading_ids), "p_actor": actor_json(actor), "p_unflagged_only": unflagged_only},
            what="approving readings"))

    def set_reading_photo_url(self, reading_id, photo_url, actor) -> None:
        self.rest.rpc("meterline_set_reading_photo_url", {"p_id": reading_id, "p_photo_url": photo_url,
                                                          "p_actor": actor_json(actor)},
                      what=f"storing the photo link of reading {reading_id}")

    def set_reading_ai_opinion(self, reading_id, opinion, actor) -> None:
        self.rest.rpc("meterline_set_reading_ai_opinion", {
            "p_id": reading_id, "p_opinion": opinion, "p_actor": actor_json(actor),
            "p_details": {k: (opinion or {}).get(k) for k in ("verdict", "confidence", "model")}},
            what=f"storing the AI opinion of reading {reading_id}")

    def readings_billed(self, reading_ids) -> set[int]:
        ids = list(dict.fromkeys(reading_ids))
        out: set[int] = set()
        for chunk in chunks(ids, IN_CHUNK):
            rows = self.rest.select_all("bill_readings", filters=[("in", "reading_id", chunk),
                                                                  ("is", "superseded_by", None)],
                                        order=(("id", False),), cols="reading_id")
            out |= {r["reading_id"] for r in rows}
            rows = self.rest.select_all("bills", filters=[("in", "motor_reading_id", chunk),
                                                          ("neq", "status", "superseded")],
                                        order=(("id", False),), cols="motor_reading_id")
            out |= {r["motor_reading_id"] for r in rows}
        return out

    # ---- meter changes -----------------------------------------------------------------------
    def record_meter_change(self, req, plan_final, actor) -> MeterChange:
        existing = self.find_reading(req.meter_id, req.change_date, req.final_value)
        if existing is None or existing.status == "rejected":
            plan_final(self._reading_context(req.meter_id, req.change_date))  # Python's messages first
        change = {"kind": req.kind, "meter_id": req.meter_id, "change_date": req.change_date,
                  "final_value": req.final_value, "start_value": req.start_value,
                  "new_meter_number": req.new_meter_number, "reason": req.reason}
        details = _jsonable({"kind": req.kind, "change_date": req.change_date, "meter_number": req.meter_number,
                             "new_meter_number": req.new_meter_number or req.meter_number,
                             "final_value": req.final_value, "start_value": req.start_value, "reason": req.reason})
        change_id = self.rest.rpc("meterline_record_meter_change", {
            "p_change": change, "p_actor": actor_json(actor), "p_max_kwh_per_day": max_kwh_per_day(),
            "p_details": details}, what=f"recording the change of meter {req.meter_number}")
        return self._meter_changes(None, 0, 1, change_id=int(change_id)).items[0]

    def list_meter_changes(self, meter_id=None, offset=0, limit=20) -> Page[MeterChange]:
        return self._meter_changes(meter_id, offset, limit)

    def _meter_changes(self, meter_id, offset, limit, change_id: int | None = None) -> Page[MeterChange]:
        out = self.rest.rpc("meterline_list_meter_changes", {"p_meter_id": meter_id, "p_offset": offset,
                                                             "p_limit": limit, "p_change_id": change_id},
                            what="reading the meter changes", idempotent=True)
        return Page([_meter_change(x) for x in out["items"]], offset, limit, int(out["total"]))


def _meter_change(row: dict) -> MeterChange:
    row = dict(row)
    row["change_date"] = dt.date.fromisoformat(row["change_date"])
    row["created_at"] = parse_ts(row.get("created_at"))
    row["final_value"], row["start_value"] = dec(row.get("final_value")), dec(row.get("start_value"))
    return MeterChange.from_row(row)
