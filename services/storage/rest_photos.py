"""REST backend part: meter photos' perceptual hashes (issue 20, docs/trust.md) on Supabase. Both
calls are /rpc functions of database/supabase/92_functions_photos.sql: the print is stored there
(bands cut from the hash), and the lookup (four band index probes, the exact distance, the reader's
scope from the request headers) returns the checked photo and its near matches, a match outside the
scope without its meter, account, reading or photo. The reuse rule and wording are
services/photo_checks.py's, as on the SQL backends (sql_photo_hashes.py)."""
from __future__ import annotations

import datetime as dt

from services import photo_checks as pc


class RestPhotosPart:
    def record_photo_print(self, reading_id: int, meter_id: int, reading_date: dt.date, photo_print: pc.PhotoPrint,
                           photo_ref: str | None) -> None:
        taken = photo_print.taken_at.replace(tzinfo=None).isoformat() if photo_print.taken_at else None
        self.rest.rpc("meterline_record_photo_print", {
            "p_reading_id": reading_id, "p_meter_id": meter_id, "p_reading_date": reading_date.isoformat(),
            "p_phash": photo_print.phash, "p_taken_at": taken, "p_photo_ref": photo_ref,
        }, what="storing the photo's hash", idempotent=True)

    def photo_findings(self, reading_id: int, max_distance: int = pc.MAX_DISTANCE, limit: int = 3) -> list[pc.PhotoFinding]:
        out = self.rest.rpc("meterline_photo_candidates", {"p_reading_id": reading_id, "p_max_distance": max_distance},
                            what="checking the photo against earlier photos", idempotent=True)
        if not out:
            return []
        found = [pc.PhotoCandidate(dt.date.fromisoformat(c["reading_date"]), c["phash"], c.get("meter_id"),
                                   c.get("reading_id"), c.get("photo_ref"), c.get("meter_number"), c.get("account_code"))
                 for c in out.get("candidates") or []]
        mine_date = dt.date.fromisoformat(out["reading_date"])
        reused = pc.reuse_findings(out["meter_id"], mine_date, out["phash"], found, max_distance=max_distance, limit=limit)
        taken = dt.datetime.fromisoformat(out["taken_at"]) if out.get("taken_at") else None
        stale = pc.stale_finding(taken, mine_date)
        return reused + ([stale] if stale else [])
