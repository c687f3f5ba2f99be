"""Service records -> response dicts (the shapes in services/api/schemas.py)."""
from __future__ import annotations

from services.database_service import BillDetail
from services.models import Bill, JobRun, Notification, Page, Reading


def bill_out(bill: Bill) -> dict:
    return {
        "id": bill.id, "account_id": bill.account_id, "account_code": bill.account_code, "contact_id": bill.contact_id,
        "contact_name": bill.contact_name, "billing_period_start": bill.billing_period_start,
        "billing_period_end": bill.billing_period_end, "due_date": bill.due_date, "status": bill.status,
        "units": bill.units, "motor_units": bill.motor_units, "total_units": bill.total_units,
        "rate_per_unit": bill.rate_per_unit, "fixed_charge": bill.fixed_charge,
        "previous_outstanding": bill.previous_outstanding, "total_amount": bill.total_amount,
        "amount_paid": bill.amount_paid, "balance": bill.balance, "pricing_rule": bill.pricing_rule,
        "tariff_kind": bill.tariff_kind, "payment_link_url": bill.payment_link_url,
        "carried_forward_to": bill.carried_forward_to, "reissue_of": bill.reissue_of,
        "superseded_by": bill.superseded_by, "first_reading_id": bill.first_reading_id,
        "last_reading_id": bill.last_reading_id, "service": bill.service, "area_path": bill.area_path,
        "category": bill.category, "plan_code": bill.plan_code, "plan_version": bill.plan_version,
        # The society's names of the same fields, for clients written before the three-utility core.
        "flat_code": bill.account_code, "owner_name": bill.contact_name, "flat_units": bill.units,
    }


def bill_detail_out(detail: BillDetail) -> dict:
    out = bill_out(detail.bill)
    out["payments"] = [{"id": p.id, "amount": p.amount, "paid_on": p.paid_on, "method": p.method,
                        "reference": p.reference, "recorded_by": p.recorded_by_name} for p in detail.payments]
    out["arithmetic_ok"] = detail.arithmetic_ok
    out["lines"] = [{"seq": ln.seq, "code": ln.code, "label": ln.label, "quantity": ln.quantity, "unit": ln.unit,
                     "rate": ln.rate, "amount": ln.amount} for ln in detail.lines]
    return out


def bill_page_out(page: Page[Bill]) -> dict:
    return {"items": [bill_out(b) for b in page.items], "offset": page.offset, "limit": page.limit,
            "total": page.total, "has_next": page.has_next}


def reading_out(r: Reading) -> dict:
    return {
        "id": r.id, "meter_id": r.meter_id, "meter_number": r.meter_number, "account_code": r.account_code,
        "reading_value": r.reading_value, "reading_date": r.reading_date, "consumption": r.consumption,
        "motor_share": r.motor_share, "status": r.status, "source": r.source,
        "flags": [{"code": str(f.get("code")), "reason": str(f.get("reason"))} for f in (r.flags or [])],
    }


def notification_out(n: Notification) -> dict:
    return {"id": n.id, "kind": n.kind, "channel": n.channel, "status": n.status, "error": n.error}


def job_run_out(run: JobRun | None) -> dict | None:
    if run is None:
        return None
    return {"id": run.id, "job_id": run.job_id, "run_key": run.run_key, "status": run.status,
            "started_at": run.started_at, "finished_at": run.finished_at, "counts": run.counts, "error": run.error}
