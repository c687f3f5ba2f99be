"""DatabaseService's trust features (docs/trust.md): reused or stale meter photos, the bills' hash
chain head, month-run manifests. Kept out of database_service.py (a shared file); mixed into it.

The photo checks and the chain head go through the storage contract (every backend; the photo
checks scoped to the actor); manifests run on the SQL backends only: on the REST backend a manifest
is shown but not saved (docs/trust.md says so).
"""
from __future__ import annotations

import datetime as dt


class TrustServiceMixin:
    storage: object

    def _trust_engine(self):
        return getattr(self.storage, "engine", None)

    # ---- issue 20: reused or stale meter photos (docs/trust.md) --------------------------------
    def record_photo_print(self, reading, stored_photo, actor=None) -> bool:
        """Store the perceptual hash and EXIF time of a reading's photo (every backend, through the
        storage contract)."""
        pr = getattr(stored_photo, "fingerprint", None)
        if pr is None:
            return False
        self.storage.record_photo_print(reading.id, reading.meter_id, reading.reading_date, pr, stored_photo.ref)
        return True

    def photo_findings(self, reading_id: int, actor=None) -> list:
        """The reading's photo checked against every other stored photo: reused (another meter's,
        or this meter's from an earlier month) or stale (EXIF time far from the reading date). Read
        through the actor's scope: a match on a meter outside it is shown without who or which photo."""
        return self.storage.photo_findings(reading_id)

    # ---- month-run manifest and diff ---------------------------------------------------------------
    def month_run(self, billing_period_start, billing_period_end, due_date, *, dry_run: bool = False, actor=None,
                  progress=None, area_id: int | None = None, estimate: bool = False):
        """generate_bills_for_month, plus its manifest (saved with the run, and returned):
        (summary, Manifest, manifest id or None). A dry run's manifest has the diff against the
        previous month's bills; a real run's carries the bills' chain head after it."""
        from database import bill_chain
        from services.billing.manifest import Manifest, ManifestBuilder, reason
        from services.billing.periods import BillingPeriod
        from services.storage import sql_manifests as q

        engine = self._trust_engine()
        utility = self.utility()
        start = dt.date.fromisoformat(billing_period_start) if isinstance(billing_period_start, str) else billing_period_start
        end_date = dt.date.fromisoformat(billing_period_end) if isinstance(billing_period_end, str) else billing_period_end
        prev = BillingPeriod.for_month(f"{(start.replace(day=1) - dt.timedelta(days=1)):%Y-%m}")
        service = utility.service

        def previous(lo, hi):
            with engine.connect() as conn:
                return q.previous_bills(conn, service, prev.start, prev.end, area_id, lo, hi, start, end_date)

        builder = ManifestBuilder(diff=dry_run and engine is not None, previous=previous if engine is not None else None)
        summary = self.generate_bills_for_month(billing_period_start, billing_period_end, due_date, dry_run=dry_run,
                                                actor=actor, progress=progress, area_id=area_id, on_batch=builder.add,
                                                estimate=estimate)
        builder.finish()
        data = {"period_start": summary.period_start, "period_end": summary.period_end, "due_date": summary.due_date,
                "service": service, "dry_run": dry_run, "run_id": summary.run_id, "status": summary.status,
                "area_id": area_id, "bills": summary.created, "total_amount": summary.total_amount,
                "skipped": {"already_billed": summary.skipped, "refused_locked_month": summary.refused,
                            "no_units_first_reading": summary.missing_units, "waiting_for_review": summary.waiting,
                            "changed_during_run": len(summary.changed),
                            "no_history_to_estimate": summary.no_basis},
                "estimate": estimate, "estimated": summary.estimated,
                "message": summary.message}
        if engine is None:  # the REST backend: shown from the priced batches, not saved
            data["groups"] = [{"area": str(a), "category": c, "bills": n, "units": u, "amount": t}
                              for (a, c), (n, u, t) in sorted(builder.groups.items())]
            data["chain_head"] = self.bill_chain_head() if not dry_run else None  # sealed by the REST backend
            return summary, Manifest(data), None
        with engine.begin() as conn:
            groups = (q.run_groups(conn, summary.run_id) if summary.run_id is not None
                      else [(a, c, n, u, t) for (a, c), (n, u, t) in sorted(builder.groups.items())])
            before = q.area_totals(conn, service, prev.start, prev.end, area_id)
            # The period's totals per area: the bills it already has (a real run's included), plus a dry
            # run's priced ones, so a month billed in parts compares whole with last month.
            now = {a: amt for a, (_, amt) in q.area_totals(conn, service, start, end_date, area_id).items()}
            if summary.run_id is None:
                for a, _, n, _, t in groups:
                    now[a] = now.get(a, 0) + t
            movers = sorted(builder.movers, reverse=True)
            prev_tiers = q.tiers_of(conn, [m[2]["previous_bill_id"] for m in movers])
            labels = q.area_labels(conn, list(now) + list(before) + [m[2]["area_id"] for m in movers])
            data["groups"] = [{"area": labels.get(a, str(a)), "category": c, "bills": n, "units": u, "amount": t}
                              for a, c, n, u, t in sorted(groups, key=lambda g: (labels.get(g[0], ""), g[1]))]
            data["previous_period_start"] = prev.start
            data["diff"] = {
                "areas": [{"area": labels.get(a, str(a)), "previous": before.get(a, (0, 0))[1], "now": now.get(a, 0),
                           "change": now.get(a, 0) - before.get(a, (0, 0))[1]}
                          for a in sorted(set(now) | set(before), key=lambda x: labels.get(x, ""))],
            }
            if dry_run:
                data["diff"].update({
                    "new_accounts": builder.new_count, "missing_accounts": builder.missing_count,
                    "missing_sample": builder.missing_sample,
                    "new_sample": _codes(conn, builder.new_sample),
                    "movers": [{"account": r["account"], "area": labels.get(r["area_id"], ""), "previous": r["previous"],
                                "now": r["now"], "change": r["change"],
                                "reason": reason(_Prev(r), r["units"][1], r["arrears"][1], r["tier"],
                                                 prev_tiers.get(r["previous_bill_id"]), r.get("estimate"))}
                               for _, _, r in movers]})
            head = bill_chain.head(conn).export() if not dry_run else None
            data["chain_head"] = head
            manifest_id = q.save(conn, run_id=summary.run_id, dry_run=dry_run, service=service, start=summary.period_start,
                                 end=summary.period_end, area_id=area_id, manifest=_jsonable(data), chain_head=head,
                                 by=getattr(actor, "username", "system"))
        return summary, Manifest(data), manifest_id

    def run_manifests(self, limit: int = 10) -> list:
        from services.storage import sql_manifests as q

        engine = self._trust_engine()
        if engine is None:
            return []
        with engine.connect() as conn:
            return q.recent(conn, limit)

    def run_manifest(self, manifest_id: int):
        from services.billing.manifest import Manifest
        from services.storage import sql_manifests as q

        engine = self._trust_engine()
        with engine.connect() as conn:
            row = q.get(conn, manifest_id)
        return None if row is None else Manifest(row.manifest)

    def bill_chain_head(self) -> str | None:
        """The exported chain head (every backend, through the storage contract)."""
        return self.storage.bill_chain_head().export()


class _Prev:
    """The previous bill's units and arrears, as manifest.reason reads them."""

    def __init__(self, row):
        self.units, self.previous_outstanding = row["units"][0], row["arrears"][0]


def _codes(conn, account_ids):
    import sqlalchemy as sa

    from database import schema as s

    if not account_ids:
        return []
    found = dict(conn.execute(sa.select(s.accounts.c.id, s.accounts.c.code).where(s.accounts.c.id.in_(account_ids))).all())
    return [found.get(i, str(i)) for i in account_ids]


def _jsonable(v):
    """Decimals as strings, dates ISO: the manifest is stored as JSON exactly as shown."""
    from decimal import Decimal

    if isinstance(v, dict):
        return {k: _jsonable(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [_jsonable(x) for x in v]
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, (dt.date, dt.datetime)):
        return v.isoformat()
    return v
