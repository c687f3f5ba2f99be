"""SQL part: what a run's manifest reads (the previous month's bills, by account range and per area)
and where it is saved (bill_run_manifests). services/billing/manifest.py holds the rules."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa

from database import schema as s
from services.billing.manifest import PreviousBill
from services.storage.sql_common import money_sum, money_value
from services.storage.sql_readings import area_subtree

b, f, ar, bl, mf = s.bills, s.accounts, s.areas, s.bill_lines, s.bill_run_manifests


def _period(q, service, start, end, area_id):
    q = q.where(b.c.service == service, b.c.billing_period_start.between(start, end), b.c.status != "superseded")
    if area_id is not None:
        q = q.where(b.c.area_id.in_(area_subtree(area_id)))
    return q


def previous_bills(conn, service: str, start: dt.date, end: dt.date, area_id, lo: int, hi: int | None,
                   now_start: dt.date, now_end: dt.date) -> list[PreviousBill]:
    """The bills of the period of accounts lo < id <= hi (hi None: to the end), by the account index;
    accounts already billed for the run's own period (now_start..now_end) are left out: they are
    skipped by the run, not missing from it."""
    b2 = b.alias("now_bill")
    q = _period(sa.select(b.c.account_id, f.c.code, b.c.area_id, b.c.id, b.c.units, b.c.previous_outstanding,
                          b.c.total_amount).select_from(b.join(f, f.c.id == b.c.account_id))
                .where(b.c.account_id > lo, ~sa.exists().where(
                    b2.c.account_id == b.c.account_id, b2.c.service == service,
                    b2.c.billing_period_start.between(now_start, now_end))), service, start, end, area_id)
    if hi is not None:
        q = q.where(b.c.account_id <= hi)
    return [PreviousBill(*row) for row in conn.execute(q.order_by(b.c.account_id))]


def area_totals(conn, service: str, start: dt.date, end: dt.date, area_id) -> dict[int, tuple[int, Decimal]]:
    """{area id: (bills, amount)} of the period's bills, summed in the database."""
    q = _period(sa.select(b.c.area_id, sa.func.count(), money_sum(b.c.total_amount, conn.dialect.name))
                .group_by(b.c.area_id), service, start, end, area_id)
    return {a: (n, money_value(t, conn.dialect.name)) for a, n, t in conn.execute(q)}


def run_groups(conn, run_id: int) -> list[tuple[int, str, int, Decimal, Decimal]]:
    """(area id, category, bills, units, amount) of the bills a run stored, summed in the database."""
    d = conn.dialect.name
    q = (sa.select(b.c.area_id, b.c.category, sa.func.count(), money_sum(b.c.total_units, d),
                   money_sum(b.c.total_amount, d))
         .where(b.c.bill_run_id == run_id).group_by(b.c.area_id, b.c.category))
    return [(a, c or "", n, money_value(u, d), money_value(t, d)) for a, c, n, u, t in conn.execute(q)]


def tiers_of(conn, bill_ids: list[int]) -> dict[int, str]:
    """{bill id: its highest tier line code} for a few bills (the movers' previous bills)."""
    out: dict[int, str] = {}
    if not bill_ids:
        return out
    for bid, code in conn.execute(sa.select(bl.c.bill_id, bl.c.code).where(bl.c.bill_id.in_(bill_ids),
                                                                           bl.c.code.like("tier_%"))):
        if bid not in out or int(code.split("_")[1]) > int(out[bid].split("_")[1]):
            out[bid] = code
    return out


def area_labels(conn, ids) -> dict[int, str]:
    ids = [i for i in set(ids) if i is not None]
    if not ids:
        return {}
    return {i: f"{p} {n}" for i, p, n in conn.execute(sa.select(ar.c.id, ar.c.path, ar.c.name).where(ar.c.id.in_(ids)))}


def save(conn, *, run_id, dry_run: bool, service: str, start, end, area_id, manifest: dict, chain_head, by: str) -> int:
    return conn.execute(mf.insert().values(
        bill_run_id=run_id, dry_run=dry_run, service=service, billing_period_start=start, billing_period_end=end,
        area_id=area_id, manifest=manifest, chain_head=chain_head, created_by=by).returning(mf.c.id)).scalar_one()


def recent(conn, limit: int = 10) -> list:
    return conn.execute(sa.select(mf.c.id, mf.c.bill_run_id, mf.c.dry_run, mf.c.billing_period_start, mf.c.area_id,
                                  mf.c.chain_head, mf.c.created_by, mf.c.created_at)
                        .order_by(mf.c.id.desc()).limit(limit)).all()


def get(conn, manifest_id: int):
    return conn.execute(sa.select(mf).where(mf.c.id == manifest_id)).first()
