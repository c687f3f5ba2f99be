"""SQL backend part: which readings a bill covers, and re-issues (void-and-replace with a credit).

The rules are in services/billing/coverage.py (what a bill covers) and services/database_service.py (how
a re-issue is priced); this part finds the readings and stores what was decided, inside the
insert's transaction (sql_bills.BillsPart.insert_bill calls lock_replaced, supersede, cover and
credit). The database's triggers (database/billing_triggers.py) hold the same rules.
"""
from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import sqlalchemy as sa

from database import bill_estimates, bill_totals
from database import schema as s
from services.clock import utcnow
from services.billing.coverage import ChainReading, CoveredReading
from services.billing.estimates import BASIS_READINGS, EstimateEntry, HistoryReading
from services.errors import ConflictError, NotFoundError, ValidationError
from services.models import Bill, NewBill
from services.storage.sql_common import read_tx, as_date

b, br, m, r, p = s.bills, s.bill_readings, s.meters, s.readings, s.payments
CREDIT_METHOD = "credit"
ZERO = Decimal("0.00")


def _current_cover(reading_col):
    """The bill (not superseded) covering a reading, if any."""
    return (sa.select(br.c.bill_id).where(br.c.reading_id == reading_col, br.c.superseded_by.is_(None))
            .limit(1).scalar_subquery())


def _after(row_date, row_id, date, id_):
    """(row_date, row_id) > (date, id_) in reading order."""
    return sa.or_(row_date > date, sa.and_(row_date == date, row_id > id_))


def _units(approved, consumption):
    return approved if approved is not None else consumption


class CoveragePart:
    def coverage_chain(self, account_id, reading_id, replacing_bill_id=None) -> list[ChainReading]:
        with read_tx(self.engine) as conn:
            billed = conn.execute(sa.select(r.c.id, r.c.reading_date).where(r.c.id == reading_id)).first()
            if billed is None:
                raise NotFoundError(f"Reading {reading_id} does not exist.")
            upto = sa.or_(r.c.reading_date < billed.reading_date,
                          sa.and_(r.c.reading_date == billed.reading_date, r.c.id <= billed.id))
            out = []
            for (meter_id,) in conn.execute(sa.select(m.c.id).where(m.c.account_id == account_id).order_by(m.c.id)):
                covered = sa.exists().where(br.c.reading_id == r.c.id, br.c.superseded_by.is_(None))
                if replacing_bill_id is not None:
                    covered = covered.where(br.c.bill_id != replacing_bill_id)
                last = conn.execute(
                    sa.select(r.c.reading_date, r.c.id)
                    .where(r.c.meter_id == meter_id, upto, r.c.id != billed.id, covered)
                    .order_by(r.c.reading_date.desc(), r.c.id.desc()).limit(1)).first()
                q = (sa.select(r.c.id, r.c.meter_id, r.c.reading_date, r.c.status, r.c.approved_units, r.c.consumption,
                               r.c.motor_share, r.c.motor_reading_id, _current_cover(r.c.id).label("covered_by"))
                     .where(r.c.meter_id == meter_id, r.c.status != "rejected", upto))
                if last is not None:
                    q = q.where(_after(r.c.reading_date, r.c.id, last.reading_date, last.id))
                out += [ChainReading(x.id, x.meter_id, x.reading_date, x.status, _units(x.approved_units, x.consumption),
                                     x.motor_share, x.motor_reading_id, x.covered_by) for x in conn.execute(q)]
        return sorted(out, key=lambda c: c.key)

    def estimate_basis(self, account_ids, start, end) -> dict[int, tuple[list[HistoryReading], bool]]:
        ids = sorted(set(account_ids))
        if not ids:
            return {}
        newest = sa.func.row_number().over(partition_by=m.c.account_id, order_by=(r.c.reading_date.desc(), r.c.id.desc()))
        ranked = (sa.select(m.c.account_id, r.c.id, r.c.reading_date, r.c.approved_units, r.c.consumption,
                            newest.label("n"))
                  .select_from(r.join(m, m.c.id == r.c.meter_id))
                  .where(m.c.account_id.in_(ids), r.c.status == "approved", r.c.reading_date <= end)).subquery()
        in_period = (sa.select(m.c.account_id).distinct().select_from(r.join(m, m.c.id == r.c.meter_id))
                     .where(m.c.account_id.in_(ids), r.c.status != "rejected", r.c.reading_date >= start))
        out: dict[int, tuple[list[HistoryReading], bool]] = {a: ([], False) for a in ids}
        with read_tx(self.engine) as conn:
            for x in conn.execute(sa.select(ranked).where(ranked.c.n <= BASIS_READINGS + 1)):
                out[x.account_id][0].append(HistoryReading(x.id, as_date(x.reading_date),
                                                           _units(x.approved_units, x.consumption)))
            for (account_id,) in conn.execute(in_period):
                out[account_id] = (out[account_id][0], True)
        return out

    def estimate_entries(self, account_ids, service="electricity", excluding_bill_id=None) -> dict[int, list[EstimateEntry]]:
        ids = sorted(set(account_ids))
        if not ids:
            return {}
        q = bill_estimates.open_estimate_rows(self.dialect, excluding_bill_id is not None)
        found: dict[int, list[EstimateEntry]] = {}
        with read_tx(self.engine) as conn:
            for bill_id, account_id, start, entry in conn.execute(
                    q, {"ids": ids, "service": service, "excluding": excluding_bill_id}):
                found.setdefault(account_id, []).append(
                    EstimateEntry(bill_id, as_date(start), json.loads(entry) if isinstance(entry, str) else entry))
        return found

    def current_bill_at(self, account_id, start, service="electricity") -> Bill | None:
        with read_tx(self.engine) as conn:
            bill_id = conn.execute(sa.select(b.c.id).where(b.c.account_id == account_id, b.c.service == service,
                                                           b.c.billing_period_start == start)).scalar()
            for _ in range(1000):  # a chain of re-issues, followed to the bill that stands
                if bill_id is None:
                    return None
                row = conn.execute(sa.select(b.c.status, b.c.superseded_by).where(b.c.id == bill_id)).first()
                if row.status != "superseded":
                    return self.get_bill(bill_id)
                bill_id = row.superseded_by
        raise ConflictError(f"Bill #{bill_id}'s chain of re-issues does not end; run python -m scripts.verify_billing.")

    def list_bill_readings(self, bill_id) -> list[CoveredReading]:
        with read_tx(self.engine) as conn:
            rows = conn.execute(
                sa.select(br.c.reading_id, br.c.units, br.c.motor_units).select_from(br.join(r, r.c.id == br.c.reading_id))
                .where(br.c.bill_id == bill_id).order_by(r.c.reading_date, r.c.id)).all()
        return [CoveredReading(x.reading_id, x.units, x.motor_units) for x in rows]

    def billing_checks(self, limit=10) -> dict[str, tuple[int, list]]:
        open_ = ("pending", "partially_paid", "overdue")
        not_charged = ("cancelled", "superseded")

        def cents(expr):  # exact on SQLite too (NUMERIC is binary floating point there)
            return sa.cast(sa.func.round(expr * 100), sa.BigInteger) if self.dialect == "sqlite" else expr

        # Coverage, balances and payments are checked over live and archived bills together (issue 14):
        # an archived bill still covers its readings and still carried its balance.
        r2 = r.alias("r2")
        br_all, br2_all = with_archive(br, "br_all"), with_archive(br, "br2_all")
        b_all, p_all = with_archive(b, "b_all"), with_archive(p, "p_all")
        uncovered = (
            sa.select(r.c.id.label("reading_id"), r.c.meter_id, r.c.reading_date)
            .where(r.c.status == "approved",
                   ~sa.exists().where(br_all.c.reading_id == r.c.id, br_all.c.superseded_by.is_(None)),
                   sa.exists().where(r2.c.meter_id == r.c.meter_id,
                                     _after(r2.c.reading_date, r2.c.id, r.c.reading_date, r.c.id),
                                     sa.exists().where(br2_all.c.reading_id == r2.c.id,
                                                       br2_all.c.superseded_by.is_(None)))))
        double = (sa.select(br_all.c.reading_id, sa.func.count().label("bills"))
                  .select_from(br_all.join(b_all, b_all.c.id == br_all.c.bill_id)).where(b_all.c.status != "superseded")
                  .group_by(br_all.c.reading_id).having(sa.func.count() > 1))
        br2 = br.alias("br2")
        sums = (sa.select(br.c.bill_id, sa.func.sum(cents(br.c.units)).label("units"),
                          sa.func.sum(cents(br.c.motor_units)).label("motor")).group_by(br.c.bill_id).subquery())
        stale_units = sa.exists().where(
            br2.c.bill_id == b.c.id, r2.c.id == br2.c.reading_id,
            cents(br2.c.units) != cents(sa.func.coalesce(r2.c.approved_units, r2.c.consumption, 0)))
        units = (sa.select(b.c.id.label("bill_id"), b.c.account_id, b.c.units, b.c.motor_units)
                 .select_from(b.join(sums, sums.c.bill_id == b.c.id))
                 .where(sa.or_(cents(b.c.units + bill_estimates.deducted_units(self.dialect)) != sums.c.units,
                               cents(b.c.motor_units) != sums.c.motor,
                               sa.and_(b.c.status != "superseded", b.c.first_reading_id.is_not(None), stale_units))))
        ba = b_all
        owed = sa.func.sum(sa.case((ba.c.status.in_(open_), cents(ba.c.total_amount - ba.c.amount_paid)), else_=0))
        charges = sa.func.sum(sa.case((ba.c.status.not_in(not_charged), cents(ba.c.total_amount - ba.c.previous_outstanding)),
                                      else_=0))
        per_account = sa.select(ba.c.account_id, owed.label("owed"), charges.label("charges")).group_by(ba.c.account_id).subquery()
        b_paid = with_archive(b, "b_paid")
        paid = (sa.select(b_paid.c.account_id, sa.func.sum(cents(p_all.c.amount)).label("paid"))
                .select_from(p_all.join(b_paid, b_paid.c.id == p_all.c.bill_id)).where(b_paid.c.status.not_in(not_charged))
                .group_by(b_paid.c.account_id).subquery())
        balance = (sa.select(per_account.c.account_id, per_account.c.owed, per_account.c.charges,
                             sa.func.coalesce(paid.c.paid, 0).label("paid"))
                   .select_from(per_account.outerjoin(paid, paid.c.account_id == per_account.c.account_id))
                   .where(per_account.c.owed != per_account.c.charges - sa.func.coalesce(paid.c.paid, 0)))
        bl = s.bill_lines
        line_sums = sa.select(bl.c.bill_id, sa.func.sum(cents(bl.c.amount)).label("lines")).group_by(bl.c.bill_id).subquery()
        lines = (sa.select(b.c.id.label("bill_id"), b.c.account_id, b.c.total_amount,
                           sa.func.coalesce(line_sums.c.lines, 0).label("lines_sum"))
                 .select_from(b.outerjoin(line_sums, line_sums.c.bill_id == b.c.id))
                 .where(sa.func.coalesce(line_sums.c.lines, 0) != cents(b.c.total_amount)))
        checks = {"uncovered_readings": (uncovered, "reading_id"), "double_covered": (double, "reading_id"),
                  "units_mismatch": (units, "bill_id"), "balance_mismatch": (balance, "account_id"),
                  "lines_mismatch": (lines, "bill_id")}
        out = {}
        with read_tx(self.engine) as conn:
            for name, (q, key) in checks.items():
                sub = q.subquery()
                n = conn.execute(sa.select(sa.func.count()).select_from(sub)).scalar_one()
                rows = [dict(x) for x in conn.execute(sa.select(sub).order_by(sub.c[key]).limit(limit)).mappings()] \
                    if n else []
                if self.dialect == "sqlite" and name == "balance_mismatch":
                    rows = [{k: (Decimal(v) / 100 if k != "account_id" else v) for k, v in x.items()} for x in rows]
                if self.dialect == "sqlite" and name == "lines_mismatch":
                    rows = [x | {"lines_sum": Decimal(x["lines_sum"]) / 100} for x in rows]
                out[name] = (n, rows)
            out["totals_mismatch"] = bill_totals.mismatches(conn, limit)  # the summary rows (database/bill_totals.py)
        return out

    def bill_run_totals(self, run_id) -> tuple[int, Decimal]:
        from services.storage.sql_common import money_sum, money_value

        with read_tx(self.engine) as conn:
            n, total = conn.execute(sa.select(sa.func.count(), money_sum(b.c.total_amount, self.dialect))
                                    .where(b.c.bill_run_id == run_id)).one()
        return n, money_value(total, self.dialect)


# ---- inside insert_bill's transaction ------------------------------------------------------------
def with_archive(live: sa.Table, name: str):
    """The live table's rows and its archived rows (database/schema_archive.py), as one relation."""
    archived = s.metadata.tables[f"archived_{live.name}"]
    return sa.union_all(sa.select(live), sa.select(*(archived.c[c.name] for c in live.columns))).subquery(name)


def lock_replaced(st, conn, new: NewBill):
    """The bill a re-issue replaces, locked, and still as it was when the re-issue was priced."""
    q = sa.select(b.c.id, b.c.account_id, b.c.status, b.c.amount_paid, b.c.previous_outstanding, b.c.superseded_by,
                  b.c.carried_forward_to).where(b.c.id == new.reissue_of)
    row = conn.execute(q.with_for_update() if st.dialect == "postgresql" else q).first()
    if row is None:
        raise NotFoundError(f"Bill {new.reissue_of} does not exist.")
    if row.account_id != new.account_id:
        raise ValidationError("reissue_of", f"bill #{row.id} is another account's bill.", "Re-issue a bill of the same account.")
    if row.status == "superseded":
        raise ConflictError(f"Bill #{row.id} was replaced by bill #{row.superseded_by} meanwhile. Nothing was stored; "
                            f"open bill #{row.superseded_by} and re-issue that one if it is wrong.")
    if row.status == "carried_forward":
        raise ConflictError(f"Bill #{row.id}'s balance was carried forward into bill #{row.carried_forward_to}, so it "
                            f"cannot be replaced on its own. Nothing was stored; re-issue bill #{row.carried_forward_to}.")
    if row.amount_paid != new.replaced_paid or row.previous_outstanding != new.previous_outstanding:
        raise ConflictError(f"Bill #{row.id} changed while its re-issue was being priced (a payment was recorded?). "
                            "Nothing was stored; price the re-issue again.")
    return row


def supersede(st, conn, new: NewBill, replaced, bill_id: int, now: dt.datetime) -> None:
    """The replaced bill becomes superseded (its coverage is released by a trigger), and the bills
    whose balance it carried now point at the replacement, which carries the same arrears."""
    conn.execute(b.update().where(b.c.id == replaced.id)
                 .values(status="superseded", superseded_by=bill_id, updated_at=now))
    moved = conn.execute(b.update().where(b.c.carried_forward_to == replaced.id, b.c.status == "carried_forward")
                         .values(carried_forward_to=bill_id, updated_at=now)
                         .returning(b.c.total_amount, b.c.amount_paid)).all()
    if moved and sum((t - pd for t, pd in moved), ZERO) != new.previous_outstanding:
        raise ConflictError(f"The arrears bill #{replaced.id} carried ({new.previous_outstanding}) do not match the bills "
                            "carried into it. Nothing was stored; run python -m scripts.verify_billing.")


def cover(st, conn, new: NewBill, bill_id: int, actor) -> None:
    """The admin's confirmed units on the billed reading, then one bill_readings row per covered reading."""
    if new.confirm_units is not None:
        reading_id, units = new.confirm_units
        old = conn.execute(sa.select(r.c.approved_units).where(r.c.id == reading_id, r.c.status == "approved")).first()
        if old is None:
            raise ConflictError(f"Reading #{reading_id} is no longer approved; nothing was stored.")
        conn.execute(r.update().where(r.c.id == reading_id).values(approved_units=units, updated_at=utcnow()))
        st._audit(conn, actor, "reading.confirm_units", "reading", reading_id,
                  {"from": old.approved_units, "to": units, "bill_id": bill_id})
    if new.covered:
        conn.execute(br.insert(), [{"bill_id": bill_id, "reading_id": c.reading_id, "units": c.units,
                                    "motor_units": c.motor_units} for c in new.covered])


def credit(st, conn, new: NewBill, replaced, bill_id: int, actor, now: dt.datetime) -> Decimal | None:
    """What was paid on the replaced bill, applied to the replacement as one `credit` payment."""
    amount = replaced.amount_paid
    if amount <= 0:
        return None
    if amount > new.total_amount:
        raise ValidationError("units", f"{amount} was paid on bill #{replaced.id}, more than the replacement's "
                                            f"total of {new.total_amount}.",
                              "A replacement must be at least what was paid; refund or credit the difference first.")
    pid = conn.execute(p.insert().values(
        bill_id=bill_id, amount=amount, paid_on=new.credit_paid_on or now.date(), method=CREDIT_METHOD,
        reference=f"credit from bill #{replaced.id}", credit_from_bill=replaced.id, recorded_by=actor.user_id,
        recorded_by_name=actor.username, created_at=now).returning(p.c.id)).scalar_one()
    status = "paid" if amount == new.total_amount else "partially_paid"
    conn.execute(b.update().where(b.c.id == bill_id).values(
        amount_paid=amount, status=status, paid_at=now if status == "paid" else None, updated_at=now))
    st._audit(conn, actor, "payment.credit", "bill", bill_id,
              {"payment_id": pid, "amount": amount, "credit_from_bill": replaced.id, "status": status})
    return amount
