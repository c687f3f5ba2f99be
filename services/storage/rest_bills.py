"""REST backend part: period locks, bills, payments, bill runs and dashboard figures."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from database import schema as s
from database.schema import BILL_STATUSES, OPEN_BILL_STATUSES
from services.billing.arrears import apply_payment
from services.clock import utcnow
from services.errors import ConflictError, DuplicateError, NotFoundError, ValidationError
from services.billing.coverage import ChainReading, CoveredReading
from services.billing.estimates import EstimateEntry
from services.models import BILL_SORTS, sort_column
from services.models import (
    NEW_BILL_LINKS, looks_like_bill_number, BatchResult, Bill, BillFilter, BillLine, BillRun, DashboardFigures, MonthlyPoint, NewBill, Page,
    Payment, PaymentResult, PeriodLock, RunCandidate,
)
from services.billing.periods import month_bounds
from services.storage.rest_client import (
    IN_CHUNK, StaleWriteError, actor_json, chunks, columns, dec, like_escape, quoted, to_json,
)
from services.storage.rest_reference import usage_total
from services.storage.sql_backend import _jsonable

PAYMENT_ATTEMPTS = 5
BATCH_ATTEMPTS = 3  # a batch refused whole by a unique key (another writer billed an account meanwhile)


def _bill_row(new: NewBill) -> dict:
    row = {k: getattr(new, k) for k in new.__dataclass_fields__ if k not in NEW_BILL_LINKS}
    return to_json(row)


def _links(new: NewBill) -> dict:
    """A bill's lines, what it covers (and, for a re-issue, credits) besides its columns:
    meterline_insert_bill's extra keys of p_bill."""
    return to_json({
        "lines": [{"seq": ln.seq, "code": ln.code, "label": ln.label, "quantity": ln.quantity, "unit": ln.unit,
                   "rate": ln.rate, "amount": ln.amount} for ln in new.lines],
        "covered": [{"reading_id": c.reading_id, "units": c.units, "motor_units": c.motor_units} for c in new.covered],
        "confirm_units": list(new.confirm_units) if new.confirm_units is not None else None,
        "replaced_paid": new.replaced_paid, "credit_paid_on": new.credit_paid_on,
        "number_series": new.number_series})


def _chain_reading(c: dict) -> ChainReading:
    units = c["approved_units"] if c["approved_units"] is not None else c["consumption"]
    return ChainReading(c["reading_id"], c["meter_id"], dt.date.fromisoformat(c["reading_date"]), c["status"],
                        dec(units), dec(c["motor_share"]), c["motor_reading_id"], c.get("covered_by"))


class RestBillsPart:
    # ---- period locks ------------------------------------------------------------------
    def locked_months(self) -> list[str]:
        return [lk.month for lk in self.list_period_locks()]

    def add_period_lock(self, month, reason, actor) -> bool:
        first, last = month_bounds(month)
        return bool(self.rest.rpc("meterline_add_period_lock", {
            "p_month": first.strftime("%Y-%m"), "p_first": first, "p_last": last, "p_reason": reason or "",
            "p_actor": actor_json(actor)}, what=f"locking {first:%Y-%m}"))

    def list_period_locks(self) -> list[PeriodLock]:
        rows = self.rest.select_all("period_locks", order=(("month", False),), what="reading the period locks")
        return [PeriodLock.from_row(x) for x in rows]

    def probe_lock_enforced(self, month) -> tuple[bool, str]:
        first, last = month_bounds(month)
        out = self.rest.rpc("meterline_probe_lock", {"p_first": first, "p_last": last},
                            what=f"probing the {first:%Y-%m} lock", idempotent=True)  # always rolled back
        return bool(out["refused"]), out["detail"]

    def count_bills_ending_in(self, month) -> int:
        first, last = month_bounds(month)
        return self.rest.count("bills", [("gte", "billing_period_end", first), ("lte", "billing_period_end", last)])

    # ---- bills -------------------------------------------------------------------------
    def open_balance(self, account_id, service: str | None = None) -> tuple[Decimal, tuple[int, ...]]:
        flt = [("eq", "account_id", account_id), ("in", "status", OPEN_BILL_STATUSES)]
        if service is not None:
            flt.append(("eq", "service", service))
        rows = self.rest.select_all("bills", filters=flt, order=(("id", False),),
                                    cols=columns("bills", ("id", "total_amount", "amount_paid")))
        return (sum((r["total_amount"] - r["amount_paid"] for r in rows), Decimal("0.00")),
                tuple(r["id"] for r in rows))

    def insert_bill(self, new: NewBill, actor) -> Bill:
        # The function checks the lock (and the trigger backs it): PeriodLockedError comes from there.
        details = _jsonable({k: getattr(new, k) for k in (
            "account_id", "billing_period_end", "due_date", "units", "motor_units", "rate_per_unit", "fixed_charge",
            "previous_outstanding", "total_amount", "pricing_rule", "first_reading_id", "last_reading_id")} | {
            "carried_forward": list(new.carry_forward_bill_ids),
            "covered_readings": [c.reading_id for c in new.covered]})
        out = self.rest.rpc("meterline_insert_bill", {
            "p_bill": _bill_row(new) | _links(new), "p_carry": list(new.carry_forward_bill_ids),
            "p_actor": actor_json(actor), "p_details": details}, what=f"storing the bill of account {new.account_id}")
        self._seal_after_write([out["id"]])  # tamper evidence (rest_chain.py, docs/trust.md)
        return self.get_bill(out["id"])

    def get_bill(self, bill_id) -> Bill | None:
        rows, _ = self.rest.select("bill_details", filters=[("eq", "id", bill_id)], limit=1)
        return Bill.from_row(rows[0]) if rows else None

    def list_bill_lines(self, bill_id) -> list[BillLine]:
        rows = self.rest.select_all("bill_lines", filters=[("eq", "bill_id", bill_id)], order=(("seq", False),),
                                    what=f"reading the lines of bill {bill_id}")
        return [BillLine.from_row(x) for x in rows]

    def _bill_filters(self, flt: BillFilter) -> list[tuple] | None:
        out = []
        if flt.period_month:
            first, last = month_bounds(flt.period_month)
            out += [("gte", "billing_period_start", first), ("lte", "billing_period_start", last)]
        if flt.statuses:
            out.append(("in", "status", list(flt.statuses)))
        if flt.area_id is not None:
            area = self._area_filter(flt.area_id)
            if area is None:
                return None  # no such area: nothing can match
            out.append(area)
        if flt.category:
            out.append(("eq", "category", flt.category))
        if flt.service:
            out.append(("eq", "service", flt.service))
        if flt.overdue_only:
            as_of = flt.as_of or dt.date.today()
            out += [("in", "status", list(OPEN_BILL_STATUSES)), ("lt", "due_date", as_of)]
        if flt.search and looks_like_bill_number(flt.search):
            out.append(("like", "bill_number", like_escape(flt.search.strip().upper()) + "*"))
        elif flt.search and flt.search.strip():
            term = flt.search.strip()
            out.append(("or", f"account_code.like.{quoted(like_escape(term.upper()) + '*')},"
                              f"contact_name.ilike.{quoted('*' + like_escape(term) + '*')}"))
        if flt.account_id is not None:
            out.append(("eq", "account_id", flt.account_id))
        if flt.contact_id is not None:
            accounts = self.rest.select_all("account_contacts", filters=[("eq", "contact_id", flt.contact_id)],
                                            order=(("account_id", False),), cols="account_id")
            if not accounts:
                return None  # the contact has no accounts: nothing can match
            out.append(("in", "account_id", [r["account_id"] for r in accounts]))
        if flt.due_from:
            out.append(("gte", "due_date", flt.due_from))
        if flt.due_to:
            out.append(("lte", "due_date", flt.due_to))
        if flt.bill_run_id is not None:
            out.append(("eq", "bill_run_id", flt.bill_run_id))
        return out

    def list_bills(self, flt: BillFilter, offset=0, limit=50, with_total=True) -> Page[Bill]:
        filters = self._bill_filters(flt)
        if filters is None:
            return Page([], offset, limit, 0 if with_total else None)
        order = ((sort_column(BILL_SORTS, flt.sort), flt.descending), ("id", flt.descending))
        rows, total = self.rest.select("bill_details", filters=filters, order=order, offset=offset, limit=limit,
                                       count="exact" if with_total else None)
        return Page([Bill.from_row(x) for x in rows], offset, limit, total)

    def list_bills_after(self, flt: BillFilter, after_id=0, limit=1000) -> list[Bill]:
        filters = self._bill_filters(flt)
        if filters is None:
            return []
        rows, _ = self.rest.select("bill_details", filters=filters + [("gt", "id", after_id)], order=(("id", False),),
                                   limit=limit)
        return [Bill.from_row(x) for x in rows]

    def _payment_by_external_id(self, external_id) -> Payment | None:
        rows, _ = self.rest.select("payments", filters=[("eq", "external_id", external_id)], limit=1)
        return Payment.from_row(rows[0]) if rows else None

    def record_payment(self, bill_id, *, amount, paid_on, method, reference, actor, external_id=None) -> PaymentResult:
        if external_id:
            prior = self._payment_by_external_id(external_id)
            if prior:
                return PaymentResult(self.get_bill(prior.bill_id), prior, applied=False)
        for _ in range(PAYMENT_ATTEMPTS):
            rows, _ = self.rest.select("bills", filters=[("eq", "id", bill_id)], limit=1,
                                       cols=columns("bills", ("total_amount", "amount_paid", "status")))
            if not rows:
                raise NotFoundError(f"Bill {bill_id} does not exist.")
            row = rows[0]
            # The rules live in one place (services.billing.arrears); the function stores the result
            # only if the bill is still as it was read (compare-and-set).
            new_paid, status = apply_payment(row["total_amount"], row["amount_paid"], row["status"], amount)
            paid_amount = new_paid - row["amount_paid"]
            try:
                out = self.rest.rpc("meterline_apply_payment", {
                    "p_bill_id": bill_id, "p_amount": paid_amount, "p_expected_paid": row["amount_paid"],
                    "p_expected_status": row["status"], "p_new_paid": new_paid, "p_new_status": status,
                    "p_paid_on": paid_on, "p_method": method, "p_reference": reference, "p_external_id": external_id,
                    "p_actor": actor_json(actor), "p_details": _jsonable({
                        "amount": paid_amount, "paid_on": paid_on, "method": method, "reference": reference,
                        "external_id": external_id})},
                    what=f"recording a payment on bill {bill_id}", idempotent=bool(external_id))
            except StaleWriteError:
                continue  # another payment landed between our read and write: price it again
            payment = next(x for x in self.list_payments(bill_id) if x.id == out["payment_id"]) if out["applied"] \
                else self._payment_by_external_id(external_id)
            return PaymentResult(self.get_bill(payment.bill_id), payment, applied=bool(out["applied"]))
        raise ConflictError(f"Bill {bill_id} kept changing while the payment was being recorded; nothing was stored. "
                            "Try again.")

    def settle_bills_in_full(self, bill_ids, *, paid_on, method, reference, actor) -> int:
        return int(self.rest.rpc("meterline_settle_in_full", {
            "p_ids": list(bill_ids), "p_paid_on": paid_on, "p_method": method, "p_reference": reference,
            "p_actor": actor_json(actor)}, what="settling bills in full"))

    def list_payments(self, bill_id) -> list[Payment]:
        return [Payment.from_row(x) for x in self.rest.select_all(
            "payments", filters=[("eq", "bill_id", bill_id)], order=(("id", False),))]

    def set_bill_status(self, bill_id, status, actor, reason, expected_status=None) -> Bill:
        if status not in s.BILL_STATUSES:
            raise ValidationError("status", f"'{status}' is not a bill status.", f"Use one of {', '.join(s.BILL_STATUSES)}.")
        self.rest.rpc("meterline_set_bill_status", {"p_id": bill_id, "p_status": status, "p_reason": reason,
                                                    "p_actor": actor_json(actor), "p_expected": expected_status},
                      what=f"changing bill {bill_id}")
        return self.get_bill(bill_id)

    def set_payment_link(self, bill_id, link_id, url, actor) -> None:
        self.rest.rpc("meterline_set_payment_link", {"p_id": bill_id, "p_link_id": link_id, "p_url": url,
                                                     "p_actor": actor_json(actor)},
                      what=f"storing the payment link of bill {bill_id}")

    def mark_overdue(self, as_of, actor) -> list[int]:
        ids = self.rest.rpc("meterline_mark_overdue", {"p_as_of": as_of, "p_actor": actor_json(actor)},
                            what="marking bills overdue")
        return sorted(ids or [])

    def mark_overdue_notified(self, bill_ids) -> None:
        now = utcnow()
        for chunk in chunks(list(bill_ids), IN_CHUNK):  # the same value every time: safe to repeat
            self.rest.update("bills", {"overdue_notified_at": now}, [("in", "id", chunk)],
                             what="marking overdue notices sent", idempotent=True)

    def bills_due_between(self, start, end, statuses, after_id=0, limit=500) -> list[Bill]:
        rows, _ = self.rest.select("bill_details", filters=[
            ("gte", "due_date", start), ("lte", "due_date", end), ("in", "status", list(statuses)),
            ("gt", "id", after_id)], order=(("id", False),), limit=limit)
        return [Bill.from_row(x) for x in rows]

    # ---- bill runs ---------------------------------------------------------------------
    def count_run_skips(self, start, end, *, service="electricity", source="readings", area_id=None) -> int:
        return int(self.rest.rpc("meterline_count_run_skips", {
            "p_start": start, "p_end": end, "p_service": service, "p_source": source, "p_area": area_id},
            what="counting accounts already billed", idempotent=True))

    def estimate_entries(self, account_ids, service="electricity", excluding_bill_id=None):
        ids = sorted(set(account_ids))
        if not ids:
            return {}
        filters = [("in", "account_id", ids), ("eq", "service", service), ("not_is", "tariff_details->estimate", None),
                   ("in", "status", [x for x in BILL_STATUSES if x not in ("superseded", "cancelled")])]
        if excluding_bill_id is not None:
            filters.append(("neq", "id", excluding_bill_id))
        found: dict[int, list[EstimateEntry]] = {}
        for row in self.rest.select_all("bills", filters=filters, cols="id,account_id,billing_period_start,tariff_details",
                                        what="reading the open estimates"):
            found.setdefault(row["account_id"], []).append(EstimateEntry(
                row["id"], row["billing_period_start"], (row.get("tariff_details") or {}).get("estimate") or {}))
        return found

    def bill_run_candidates(self, start, end, *, service="electricity", source="readings", area_id=None,
                            after_account_id=0, limit=5000):
        out = self.rest.rpc("meterline_bill_run_candidates", {
            "p_start": start, "p_end": end, "p_service": service, "p_source": source, "p_area": area_id,
            "p_after": after_account_id, "p_limit": limit}, what="reading the bill run's candidates", idempotent=True)
        if out["upper"] is None:
            return [], None
        owed: dict[int, list] = {}
        for b in out["open_bills"]:
            owed.setdefault(b["account_id"], []).append((b["id"], dec(b["total_amount"]) - dec(b["amount_paid"])))
        result = []
        for x in out["candidates"]:
            bills_open = owed.get(x["account_id"], [])
            result.append(RunCandidate(
                account_id=x["account_id"], account_code=x["account_code"], category=x["category"],
                tail=tuple(_chain_reading(c) for c in x["tail"]),
                outstanding=sum((amt for _, amt in bills_open), Decimal("0.00")),
                open_bill_ids=tuple(bid for bid, _ in bills_open), area_id=x["area_id"],
                account_type=x["account_type"], service=service, tariff_plan_id=x["tariff_plan_id"],
                usage=usage_total(x["account_id"], x["usage"]) if x.get("usage") else None))
        return result, out["upper"]

    def insert_bill_batch(self, bills, actor) -> BatchResult:
        if not bills:
            return BatchResult(0, 0, Decimal("0.00"))
        # A locked month refuses the whole batch inside the function, before anything is written.
        rows = []
        for nb in bills:
            links = _links(nb)
            rows.append(_bill_row(nb) | {"carry_forward_bill_ids": list(nb.carry_forward_bill_ids),
                                         "covered": links["covered"], "lines": links["lines"],
                                         "number_series": nb.number_series})
        for attempt in range(1, BATCH_ATTEMPTS + 1):
            try:
                out = self.rest.rpc("meterline_insert_bill_batch", {"p_bills": rows, "p_actor": actor_json(actor)},
                                    what=f"storing a batch of {len(bills)} bills")
                break
            except DuplicateError:
                # Another writer billed one of these accounts between the function's check and its
                # insert: the call was rolled back whole, so looking again is safe.
                if attempt == BATCH_ATTEMPTS:
                    raise
        self._seal_after_write(out.get("ids"))  # tamper evidence (rest_chain.py, docs/trust.md)
        return BatchResult(int(out["created"]), int(out["skipped"]), dec(out["total_amount"]),
                           tuple(int(x) for x in out.get("stale") or ()))

    def start_bill_run(self, start, end, due, actor, *, service="electricity", area_id=None) -> int:
        return int(self.rest.rpc("meterline_start_bill_run", {"p_start": start, "p_end": end, "p_due": due,
                                                               "p_actor": actor_json(actor), "p_service": service,
                                                               "p_area": area_id},
                                 what="starting the bill run"))

    def finish_bill_run(self, run_id, *, status, skipped, refused, error=None) -> None:
        self.rest.rpc("meterline_finish_bill_run", {"p_run": run_id, "p_status": status, "p_skipped": skipped,
                                                    "p_refused": refused, "p_error": error},
                      what=f"finishing bill run {run_id}", idempotent=True)

    def bill_run_totals(self, run_id) -> tuple[int, Decimal]:
        out = self.rest.rpc("meterline_bill_run_totals", {"p_run": run_id}, what=f"counting bill run {run_id}",
                            idempotent=True)
        return int(out["created"]), dec(out["total_amount"])

    def list_bill_runs(self, limit=20) -> list[BillRun]:
        rows, _ = self.rest.select("bill_runs", order=(("id", True),), limit=limit)
        out = []
        for x in rows:
            if x["status"] == "running":  # still running, or dead: what it has stored so far
                x["created_count"], x["total_amount"] = self.bill_run_totals(x["id"])
            out.append(BillRun.from_row(x))
        return out

    # ---- coverage ------------------------------------------------------------------------
    def coverage_chain(self, account_id, reading_id, replacing_bill_id=None) -> list[ChainReading]:
        out = self.rest.rpc("meterline_coverage_chain", {"p_account": account_id, "p_reading": reading_id,
                                                         "p_replacing": replacing_bill_id},
                            what=f"reading the readings bill of reading {reading_id} covers", idempotent=True)
        return [_chain_reading(c) for c in out or []]

    def current_bill_at(self, account_id, start, service="electricity") -> Bill | None:
        rows, _ = self.rest.select("bills", filters=[("eq", "account_id", account_id), ("eq", "service", service),
                                                     ("eq", "billing_period_start", start)],
                                   limit=1, cols="id,status,superseded_by")
        for _ in range(1000):  # a chain of re-issues, followed to the bill that stands
            if not rows:
                return None
            if rows[0]["status"] != "superseded":
                return self.get_bill(rows[0]["id"])
            rows, _ = self.rest.select("bills", filters=[("eq", "id", rows[0]["superseded_by"])], limit=1,
                                       cols="id,status,superseded_by")
        raise ConflictError(f"Account {account_id}'s chain of re-issues does not end; run python -m scripts.verify_billing.")

    def list_bill_readings(self, bill_id) -> list[CoveredReading]:
        rows = self.rest.select_all("bill_readings", filters=[("eq", "bill_id", bill_id)], order=(("id", False),),
                                    cols=columns("bill_readings", ("reading_id", "units", "motor_units")))
        return [CoveredReading(x["reading_id"], x["units"], x["motor_units"]) for x in rows]

    def billing_checks(self, limit=10) -> dict[str, tuple[int, list]]:
        out = self.rest.rpc("meterline_billing_checks", {"p_limit": limit}, what="checking the bills", idempotent=True)
        return {name: (int(v["count"]), list(v["first"])) for name, v in out.items()}

    # ---- dashboard ---------------------------------------------------------------------
    def dashboard_figures(self, month, as_of) -> DashboardFigures:
        first, last = month_bounds(month)
        f = self.rest.rpc("meterline_dashboard", {"p_first": first, "p_last": last, "p_as_of": as_of},
                          what="reading the dashboard", idempotent=True)
        return DashboardFigures(first.strftime("%Y-%m"), dec(f["billed"]), int(f["bill_count"]), dec(f["collected"]),
                                dec(f["outstanding"]), int(f["pending_readings"]), int(f["overdue_count"]))

    def monthly_series(self, months) -> list[MonthlyPoint]:
        if not months:
            return []
        first, _ = month_bounds(min(months))
        _, last = month_bounds(max(months))
        out = self.rest.rpc("meterline_monthly_series", {"p_first": first, "p_last": last},
                            what="reading the monthly series", idempotent=True)
        billed = {r["month"]: r for r in out["billed"]}
        paid = {r["month"]: dec(r["collected"]) for r in out["collected"]}
        zero = Decimal("0.00")
        return [MonthlyPoint(mo, dec(billed[mo]["units"]) if mo in billed else zero,
                             dec(billed[mo]["billed"]) if mo in billed else zero, paid.get(mo, zero),
                             int(billed[mo]["n"]) if mo in billed else 0) for mo in sorted(months)]

