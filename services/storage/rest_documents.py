"""REST backend part: what bill documents print besides the bill rows, for a page of bills at once
(a few filtered selects, in chunks of ids), and the once-only claim of an emailed bill."""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from services.clock import utcnow
from services.errors import DuplicateError
from services.models import BilledReading, BillLine, BillParts, Notification
from services.storage.rest_client import IN_CHUNK, chunks, columns
from database.schema import BILL_STATUSES
from services.storage.sql_documents import NOT_CHARGED, history_points, month_start

CHARGED = [x for x in BILL_STATUSES if x not in NOT_CHARGED]


class RestDocumentsPart:
    def bill_document_parts(self, bill_ids, history_months=12) -> dict[int, BillParts]:
        ids = sorted(set(bill_ids))
        heads, lines, covered = {}, defaultdict(list), defaultdict(list)
        for chunk in chunks(ids, IN_CHUNK):
            for x in self.rest.select_all("bills", filters=[("in", "id", chunk)], cols=columns("bills", (
                    "id", "account_id", "service", "billing_period_start", "reissue_of", "superseded_by"))):
                heads[x["id"]] = x
            for x in self.rest.select_all("bill_lines", filters=[("in", "bill_id", chunk)],
                                          order=(("bill_id", False), ("seq", False))):
                lines[x["bill_id"]].append(BillLine.from_row(x))
            for x in self.rest.select_all("bill_readings", filters=[("in", "bill_id", chunk)], order=(("id", False),),
                                          cols=columns("bill_readings", ("bill_id", "reading_id", "units", "motor_units"))):
                covered[x["bill_id"]].append(x)
        reading_ids = sorted({x["reading_id"] for rows in covered.values() for x in rows})
        readings = {}
        for chunk in chunks(reading_ids, IN_CHUNK):
            readings.update({x["id"]: x for x in self.rest.select_all(
                "reading_details", filters=[("in", "id", chunk)],
                cols=columns("reading_details", ("id", "reading_date", "reading_value", "meter_number", "unit")))})
        account_ids = sorted({h["account_id"] for h in heads.values()})
        linked = sorted({x for h in heads.values() for x in (h["reissue_of"], h["superseded_by"]) if x})
        accounts, numbers, history = {}, {}, defaultdict(list)
        for chunk in chunks(account_ids, IN_CHUNK):
            accounts.update({x["id"]: x for x in self.rest.select_all(
                "accounts", filters=[("in", "id", chunk)], cols="id,name,address")})
        for chunk in chunks(linked, IN_CHUNK):
            numbers.update({x["id"]: x["bill_number"] for x in self.rest.select_all(
                "bills", filters=[("in", "id", chunk)], cols="id,bill_number")})
        if heads:
            lo = month_start(min(h["billing_period_start"] for h in heads.values()), history_months - 1)
            hi = max(h["billing_period_start"] for h in heads.values())
            for chunk in chunks(account_ids, IN_CHUNK):
                for x in self.rest.select_all("bills", filters=[
                        ("in", "account_id", chunk), ("gte", "billing_period_start", lo),
                        ("lte", "billing_period_start", hi), ("in", "status", CHARGED)],
                        cols=columns("bills", ("account_id", "service", "billing_period_start", "total_units",
                                               "total_amount", "previous_outstanding"))):
                    history[(x["account_id"], x["service"])].append(
                        (x["billing_period_start"], x["total_units"], x["total_amount"] - x["previous_outstanding"]))
        out = {}
        for bill_id, h in heads.items():
            acct = accounts.get(h["account_id"]) or {}
            rows = []
            for c in covered.get(bill_id, ()):
                rd = readings.get(c["reading_id"])
                if rd is not None:
                    rows.append(BilledReading(c["reading_id"], rd["reading_date"], rd["reading_value"], c["units"],
                                              c["motor_units"] or Decimal("0"), rd["meter_number"], rd["unit"]))
            rows.sort(key=lambda x: (x.reading_date, x.reading_id))
            out[bill_id] = BillParts(
                lines=tuple(lines.get(bill_id, ())), readings=tuple(rows),
                history=history_points(history.get((h["account_id"], h["service"]), ()), h["billing_period_start"],
                                       history_months),
                account_name=acct.get("name"), address=acct.get("address"),
                replaces_number=numbers.get(h["reissue_of"]), replaced_by_number=numbers.get(h["superseded_by"]))
        return out

    def claim_notification(self, row) -> Notification | None:
        values = dict(row)
        values.setdefault("created_at", utcnow())
        values.update(status="pending", attempts=values.get("attempts", 0))
        try:
            rows = self.rest.insert("notifications", [values], what="storing a notification", returning="*")
        except DuplicateError:
            return None
        return Notification.from_row(rows[0])
