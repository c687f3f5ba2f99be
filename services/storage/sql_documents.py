"""SQL backend part: what bill documents print besides the bill rows (lines, covered readings,
accounts, replaced bills, 12 months of history) for a page of bills at once, and the once-only
claim of an emailed bill in the notifications log."""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from database import schema as s
from services.clock import utcnow
from services.models import BilledReading, BillLine, BillParts, Notification, UsagePoint
from services.storage.sql_common import is_unique_violation, read_tx, write_tx

b, bl, br, r, m, f, n = s.bills, s.bill_lines, s.bill_readings, s.readings, s.meters, s.accounts, s.notifications
IN_CHUNK = 900  # SQLite's bound parameters per statement
NOT_CHARGED = ("cancelled", "superseded")


def month_start(d: dt.date, back: int) -> dt.date:
    """The first day of the month `back` months before d's."""
    k = d.year * 12 + d.month - 1 - back
    return dt.date(k // 12, k % 12 + 1, 1)


def history_points(rows, start: dt.date, months: int) -> tuple[UsagePoint, ...]:
    """[(billing_period_start, quantity, charges)] of one account -> one point per month of the
    `months` up to start's, oldest first (a month without a bill is absent)."""
    first = month_start(start, months - 1)
    per: dict[str, list[Decimal]] = {}
    for period_start, qty, charges in rows:
        if first <= period_start <= start:
            key = period_start.strftime("%Y-%m")
            acc = per.setdefault(key, [Decimal("0"), Decimal("0")])
            acc[0] += qty
            acc[1] += charges
    return tuple(UsagePoint(k, q, c) for k, (q, c) in sorted(per.items()))


def _chunks(ids):
    ids = list(ids)
    for i in range(0, len(ids), IN_CHUNK):
        yield ids[i:i + IN_CHUNK]


class DocumentsPart:
    def bill_document_parts(self, bill_ids, history_months=12) -> dict[int, BillParts]:
        ids = sorted(set(bill_ids))
        if not ids:
            return {}
        lines: dict[int, list[BillLine]] = defaultdict(list)
        readings: dict[int, list[BilledReading]] = defaultdict(list)
        with read_tx(self.engine) as conn:
            heads = {}
            for chunk in _chunks(ids):
                heads.update({x.id: x for x in conn.execute(sa.select(
                    b.c.id, b.c.account_id, b.c.service, b.c.billing_period_start, b.c.reissue_of, b.c.superseded_by)
                    .where(b.c.id.in_(chunk)))})
                for x in conn.execute(sa.select(bl).where(bl.c.bill_id.in_(chunk)).order_by(bl.c.bill_id, bl.c.seq)).mappings():
                    lines[x["bill_id"]].append(BillLine.from_row(x))
                for x in conn.execute(
                        sa.select(br.c.bill_id, br.c.reading_id, br.c.units, br.c.motor_units, r.c.reading_date,
                                  r.c.reading_value, m.c.meter_number, m.c.unit)
                        .select_from(br.join(r, r.c.id == br.c.reading_id).join(m, m.c.id == r.c.meter_id))
                        .where(br.c.bill_id.in_(chunk)).order_by(br.c.bill_id, r.c.reading_date, r.c.id)):
                    readings[x.bill_id].append(BilledReading(x.reading_id, x.reading_date, x.reading_value, x.units,
                                                             x.motor_units, x.meter_number, x.unit))
            accounts, numbers, history = {}, {}, defaultdict(list)
            account_ids = sorted({h.account_id for h in heads.values()})
            linked = sorted({x for h in heads.values() for x in (h.reissue_of, h.superseded_by) if x})
            for chunk in _chunks(account_ids):
                accounts.update({x.id: x for x in conn.execute(
                    sa.select(f.c.id, f.c.name, f.c.address).where(f.c.id.in_(chunk)))})
            for chunk in _chunks(linked):
                numbers.update(dict(conn.execute(sa.select(b.c.id, b.c.bill_number).where(b.c.id.in_(chunk))).all()))
            if heads:
                lo = month_start(min(h.billing_period_start for h in heads.values()), history_months - 1)
                hi = max(h.billing_period_start for h in heads.values())
                for chunk in _chunks(account_ids):
                    for x in conn.execute(
                            sa.select(b.c.account_id, b.c.service, b.c.billing_period_start, b.c.total_units,
                                      (b.c.total_amount - b.c.previous_outstanding).label("charges"))
                            .where(b.c.account_id.in_(chunk), b.c.billing_period_start.between(lo, hi),
                                   b.c.status.not_in(NOT_CHARGED))):
                        history[(x.account_id, x.service)].append(
                            (x.billing_period_start, Decimal(str(x.total_units)),
                             Decimal(str(x.charges)).quantize(Decimal("0.01"))))
        out = {}
        for bill_id, h in heads.items():
            acct = accounts.get(h.account_id)
            out[bill_id] = BillParts(
                lines=tuple(lines.get(bill_id, ())), readings=tuple(readings.get(bill_id, ())),
                history=history_points(history.get((h.account_id, h.service), ()), h.billing_period_start,
                                       history_months),
                account_name=acct.name if acct else None, address=acct.address if acct else None,
                replaces_number=numbers.get(h.reissue_of), replaced_by_number=numbers.get(h.superseded_by))
        return out

    def claim_notification(self, row) -> Notification | None:
        values = dict(row)
        values.setdefault("created_at", utcnow())
        values.update(status="pending", attempts=values.get("attempts", 0))
        try:
            with write_tx(self.engine) as conn:
                nid = conn.execute(n.insert().values(**values).returning(n.c.id)).scalar_one()
        except IntegrityError as exc:
            if is_unique_violation(exc, "bill_id") or "uq_notifications_email_once" in str(exc.orig):
                return None
            raise
        return self.get_notification(nid)
