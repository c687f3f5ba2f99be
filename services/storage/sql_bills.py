"""SQL backend part: period locks, bills, payments, bill runs and dashboard figures."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from database import bill_chain, bill_numbers
from database import schema as s
from database.name_search import name_contains
from database.schema import OPEN_BILL_STATUSES
from services.billing.arrears import apply_payment
from services.clock import utcnow
from services.money import from_minor_units
from services.errors import BillCollisionError, ConflictError, NotFoundError, ValidationError
from services.models import BILL_SORTS, sort_column
from services.models import (
    NEW_BILL_LINKS, looks_like_bill_number, BatchResult, Bill, BillFilter, BillLine, BillRun, DashboardFigures, MonthlyPoint, NewBill, Page,
    Payment, PaymentResult, PeriodLock,
)
from services.billing.periods import check_bill_not_locked, month_bounds, next_free_period_start
from services.billing.psid import make_psid
from services.accounts.roles import Actor
from services.storage import sql_bill_counts, sql_bill_runs, sql_coverage
from services.storage.sql_common import is_unique_violation, money_sum, money_value, read_tx, write_tx
from services.storage.sql_readings import area_ids, prefix_match
from services.storage.sql_scope import scope_area_ids, scope_where

b, f, ar, o, fo, m, r, p = s.bills, s.accounts, s.areas, s.contacts, s.account_contacts, s.meters, s.readings, s.payments
bl, tpv, tp = s.bill_lines, s.tariff_plan_versions, s.tariff_plans
_primary = sa.and_(fo.c.account_id == f.c.id, fo.c.is_primary.is_(True))
MAX_COLLISION_RETRIES = 62  # a period is at most a couple of months of days
# Bills whose charges count nowhere: cancelled, and superseded (replaced by a re-issue, which counts).
NOT_CHARGED = ("cancelled", "superseded")
MATCHES_FIRST_UP_TO = 100_000  # a search's bills ordered after matching, up to this many (_matches_first)


def _bill_select():
    return (
        sa.select(b, f.c.code.label("account_code"), ar.c.path.label("area_path"),
                  o.c.name.label("contact_name"), o.c.phone.label("contact_phone"), o.c.id.label("contact_id"),
                  tp.c.code.label("plan_code"), tpv.c.version.label("plan_version"), o.c.email.label("contact_email"))
        .select_from(b.join(f, f.c.id == b.c.account_id).join(ar, ar.c.id == b.c.area_id)
                     .outerjoin(fo, _primary).outerjoin(o, o.c.id == fo.c.contact_id)
                     .outerjoin(tpv, tpv.c.id == b.c.tariff_plan_version_id).outerjoin(tp, tp.c.id == tpv.c.plan_id))
    )


def line_rows(bill_id: int, lines) -> list[dict]:
    return [{"bill_id": bill_id, "seq": ln.seq, "code": ln.code, "label": ln.label, "quantity": ln.quantity,
             "unit": ln.unit, "rate": ln.rate, "amount": ln.amount} for ln in lines]


def _bill_values(new: NewBill, actor: Actor, now: dt.datetime) -> dict:
    values = {k: getattr(new, k) for k in new.__dataclass_fields__ if k not in NEW_BILL_LINKS}
    values.update(status="pending", amount_paid=Decimal("0"), created_by=actor.user_id,
                  created_by_name=actor.username, created_at=now, updated_at=now)
    return values


def _credits(paid_on, dialect: str, first, last) -> tuple:
    """Re-issue credits paid in [first, last], found from their own index (a range on
    credit_from_bill: SQLite uses no index for IS NOT NULL, and would otherwise walk every payment
    of the month by date)."""
    on = sa.func.coalesce(paid_on, paid_on) if dialect == "sqlite" else paid_on
    return p.c.credit_from_bill > 0, on.between(first, last)


def _month_expr(col, dialect: str):
    return sa.func.substr(col, 1, 7) if dialect == "sqlite" else sa.func.to_char(col, "YYYY-MM")


class BillsPart:
    # ---- period locks ------------------------------------------------------------------
    def locked_months(self) -> list[str]:
        with read_tx(self.engine) as conn:
            return [x for (x,) in conn.execute(sa.select(s.period_locks.c.month).order_by(s.period_locks.c.month))]

    def add_period_lock(self, month, reason, actor) -> bool:
        first, last = month_bounds(month)
        key = first.strftime("%Y-%m")
        try:
            with write_tx(self.engine) as conn:
                if conn.execute(sa.select(s.period_locks.c.id).where(s.period_locks.c.month == key)).first():
                    return False
                count = conn.execute(sa.select(sa.func.count()).select_from(b)
                                     .where(b.c.billing_period_end.between(first, last))).scalar_one()
                conn.execute(s.period_locks.insert().values(month=key, reason=reason or "", locked_by=actor.username,
                                                            locked_at=utcnow(), bill_count_at_lock=count))
                self._audit(conn, actor, "period.lock", "period_lock", key, {"reason": reason, "bills_at_lock": count})
        except IntegrityError as exc:
            if is_unique_violation(exc, "month"):
                return False  # locked at the same moment by another admin
            raise
        return True

    def list_period_locks(self) -> list[PeriodLock]:
        with read_tx(self.engine) as conn:
            return [PeriodLock.from_row(x) for x in conn.execute(
                sa.select(s.period_locks).order_by(s.period_locks.c.month)).mappings()]

    def probe_lock_enforced(self, month) -> tuple[bool, str]:
        first, last = month_bounds(month)
        with self.engine.connect() as conn:
            tx = conn.begin()
            try:
                acct = conn.execute(sa.select(f.c.id, f.c.area_id).order_by(f.c.id).limit(1)).first()
                version_id = conn.execute(sa.select(tpv.c.id).order_by(tpv.c.id).limit(1)).scalar()
                if acct is None or version_id is None:
                    return False, "no account or tariff plan exists to probe with; set up the utility first"
                try:
                    with conn.begin_nested():
                        conn.execute(b.insert().values(
                            account_id=acct.id, area_id=acct.area_id, tariff_plan_version_id=version_id,
                            billing_period_start=first, billing_period_end=last, due_date=last,
                            units=0, motor_units=0, total_units=0, rate_per_unit=0, fixed_charge=0,
                            previous_outstanding=0, total_amount=0, created_by_name="lock-probe"))
                except sa.exc.DBAPIError as exc:
                    msg = str(exc.orig).splitlines()[0]
                    return ("PERIOD_LOCKED" in msg), f"direct insert refused by the database: {msg}"
                return False, "a direct SQL insert of a bill ending in the month was ACCEPTED (rolled back)"
            finally:
                tx.rollback()

    def count_bills_ending_in(self, month) -> int:
        first, last = month_bounds(month)
        with read_tx(self.engine) as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(b)
                                .where(b.c.billing_period_end.between(first, last))).scalar_one()

    # ---- bills -------------------------------------------------------------------------
    def open_balance(self, account_id, service: str | None = None) -> tuple[Decimal, tuple[int, ...]]:
        q = sa.select(b.c.id, b.c.total_amount, b.c.amount_paid).where(
            b.c.account_id == account_id, b.c.status.in_(OPEN_BILL_STATUSES))
        q = scope_where(q, self._in_scope(b.c.area_id))
        if service is not None:
            q = q.where(b.c.service == service)
        with read_tx(self.engine) as conn:
            rows = conn.execute(q.order_by(b.c.id)).all()
        return sum((t - pd for _, t, pd in rows), Decimal("0.00")), tuple(i for i, _, _ in rows)

    def insert_bill(self, new: NewBill, actor: Actor) -> Bill:
        now = utcnow()
        with write_tx(self.engine) as conn:
            locked = [x for (x,) in conn.execute(sa.select(s.period_locks.c.month))]
            check_bill_not_locked(new.billing_period_start, new.billing_period_end, locked)
            replaced = sql_coverage.lock_replaced(self, conn, new) if new.reissue_of else None
            values = _bill_values(new, actor, now)
            # Its number, in this transaction: rolled back with it if anything below refuses the bill.
            values["bill_number"] = bill_numbers.take(
                conn, new.number_series or bill_numbers.default_series(conn, now.year), 1)[0]
            # The bill's id first, so its PSID (the payment id banks collect it by) is in the insert.
            reserved = sql_bill_runs.reserve_ids(conn, self.dialect, 1)[0]
            values.update(id=reserved, psid=make_psid(reserved, new.billing_period_end))
            bill_id = None
            for _ in range(MAX_COLLISION_RETRIES):
                taken = dict(conn.execute(
                    sa.select(b.c.billing_period_start, b.c.id).where(
                        b.c.account_id == new.account_id, b.c.service == new.service,
                        b.c.billing_period_start.between(new.billing_period_start, new.billing_period_end))).all())
                original = taken.get(new.billing_period_start)
                if original is not None and new.reissue_of is None:
                    # A collision is a re-issue, and a re-issue is priced against the bill it replaces
                    # (its arrears, what was paid on it): this one was not. Price it again.
                    raise ConflictError(
                        f"Bill #{original} for account {new.account_id} starting {new.billing_period_start} was stored while "
                        "this bill was being priced. Nothing was stored; look again: a bill for the same start is a "
                        f"re-issue of bill #{original}.")
                start = next_free_period_start(new.billing_period_start, new.billing_period_end, taken)
                if start is None:
                    raise BillCollisionError(original, (
                        f"Bill #{original} already covers account {new.account_id} from {new.billing_period_start}, and every "
                        f"start date up to the period end {new.billing_period_end} is taken by another bill. Nothing was "
                        f"stored; open bill #{original} instead of issuing another."))
                values.update(billing_period_start=start, reissue_of=new.reissue_of)
                try:
                    with conn.begin_nested():
                        bill_id = conn.execute(b.insert().values(**values).returning(b.c.id)).scalar_one()
                    break
                except IntegrityError as exc:
                    if is_unique_violation(exc, "billing_period_start"):
                        continue  # another writer took that start between our read and insert
                    raise
            if bill_id is None:
                raise BillCollisionError(None, "Could not find a free billing period start after repeated collisions; try again.")
            if new.lines:
                conn.execute(bl.insert(), line_rows(bill_id, new.lines))
            if replaced is not None:
                sql_coverage.supersede(self, conn, new, replaced, bill_id, now)
            self._carry_forward(conn, new, bill_id)
            sql_coverage.cover(self, conn, new, bill_id, actor)
            credit = sql_coverage.credit(self, conn, new, replaced, bill_id, actor, now) if replaced is not None else None
            bill_chain.seal(conn, [bill_id], now)  # tamper evidence (docs/trust.md)
            self._audit(conn, actor, "bill.reissue" if new.reissue_of else "bill.create", "bill", bill_id, {
                k: values[k] for k in ("account_id", "billing_period_start", "billing_period_end", "due_date", "units",
                                       "motor_units", "rate_per_unit", "fixed_charge", "previous_outstanding",
                                       "total_amount", "reissue_of", "pricing_rule", "first_reading_id",
                                       "last_reading_id", "bill_number")} | {
                "carried_forward": list(new.carry_forward_bill_ids),
                "covered_readings": [c.reading_id for c in new.covered], "credit": credit})
        return self.get_bill(bill_id)

    def _carry_forward(self, conn, new: NewBill, into_id: int) -> None:
        """Mark the bills the new one absorbed carried_forward, and check they were still the
        account's open bills with exactly the balance it carries: a payment recorded since the bill
        was priced would otherwise make it charge money already paid."""
        bill_ids = list(new.carry_forward_bill_ids)
        if not bill_ids:
            return
        found = {r.id: (r.account_id, r.total_amount - r.amount_paid) for r in conn.execute(
            b.update().where(b.c.id.in_(bill_ids), b.c.status.in_(OPEN_BILL_STATUSES))
            .values(status="carried_forward", carried_forward_to=into_id, updated_at=utcnow())
            .returning(b.c.id, b.c.account_id, b.c.total_amount, b.c.amount_paid))}
        if not sql_bill_runs.carries_open_balance(new, found):
            raise ConflictError("The account's open bills changed while this bill was being created (a payment was "
                                "recorded?). Nothing was stored; recalculate the previous outstanding and try again.")

    def get_bill(self, bill_id) -> Bill | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(scope_where(_bill_select().where(b.c.id == bill_id),
                                           self._in_scope(b.c.area_id))).mappings().first()
        return Bill.from_row(row) if row else None

    def list_bill_lines(self, bill_id) -> list[BillLine]:
        with read_tx(self.engine) as conn:
            return [BillLine.from_row(x) for x in conn.execute(
                scope_where(sa.select(bl).where(bl.c.bill_id == bill_id), self._bill_in_scope(bl.c.bill_id))
                .order_by(bl.c.seq)).mappings()]

    def _bill_where(self, q, flt: BillFilter, areas: list[int] | None, by_month: bool = False):
        """areas: the ids of flt.area_id's subtree (sql_readings.area_ids), read in the same transaction.
        by_month: the status and area tests are kept off the indexes (_counted_by_month)."""
        q = scope_where(q, self._in_scope(b.c.area_id))
        status = sa.func.coalesce(b.c.status, "") if by_month else b.c.status
        area = sa.func.coalesce(b.c.area_id, 0) if by_month else b.c.area_id
        if flt.period_month:
            first, last = month_bounds(flt.period_month)
            q = q.where(b.c.billing_period_start.between(first, last))
        if flt.statuses:
            q = q.where(status.in_(flt.statuses))
        if flt.area_id is not None:
            q = q.where(area.in_(areas))
        if flt.category:
            q = q.where(b.c.category == flt.category)
        if flt.service:
            q = q.where(b.c.service == flt.service)
        if flt.overdue_only:
            as_of = flt.as_of or dt.date.today()
            q = q.where(b.c.status.in_(OPEN_BILL_STATUSES), b.c.due_date < as_of)
        if flt.search and looks_like_bill_number(flt.search):
            q = q.where(prefix_match(b.c.bill_number, flt.search.strip().upper(), self.dialect))
        elif flt.search and flt.search.strip():
            # Accounts whose code starts with the term or whose primary contact's name contains it, as a
            # set of ids: every condition stays on `bills`, so counts need no join.
            term = flt.search.strip()
            q = q.where(b.c.account_id.in_(sa.union(
                sa.select(f.c.id).where(prefix_match(f.c.code, term.upper(), self.dialect)),
                sa.select(fo.c.account_id).where(fo.c.is_primary.is_(True), fo.c.contact_id.in_(
                    sa.select(o.c.id).where(name_contains(o, term, self.dialect)))))))
        if flt.account_id is not None:
            q = q.where(b.c.account_id == flt.account_id)
        if flt.contact_id is not None:
            q = q.where(b.c.account_id.in_(sa.select(fo.c.account_id).where(fo.c.contact_id == flt.contact_id)))
        if flt.due_from:
            q = q.where(b.c.due_date >= flt.due_from)
        if flt.due_to:
            q = q.where(b.c.due_date <= flt.due_to)
        if flt.bill_run_id is not None:
            q = q.where(b.c.bill_run_id == flt.bill_run_id)
        return q

    def list_bills(self, flt: BillFilter, offset=0, limit=50, with_total=True) -> Page[Bill]:
        # Step 1 orders and cuts the page on `bills` alone; step 2 joins account and contact for those
        # ids only (sorting 300,000 joined rows of a month to show 20 took seconds).
        column = sort_column(BILL_SORTS, flt.sort)
        order = (lambda c: c.desc()) if flt.descending else (lambda c: c.asc())
        with read_tx(self.engine) as conn:
            areas = area_ids(conn, flt.area_id)
            ids_q = self._bill_where(sa.select(b.c.id), flt, areas)
            if column == "account_code":  # the one sort key off `bills`: join the account for it only
                ids_q = ids_q.select_from(b.join(f, f.c.id == b.c.account_id))
                key = f.c.code
            else:
                key = b.c[column]
            total = None
            if with_total and self.scope.account_ids is None:
                total = sql_bill_counts.count_bills(conn, flt, areas, scope_area_ids(self.scope))
            if with_total and total is None:
                total = conn.execute(self._bill_where(sa.select(sa.func.count()).select_from(b), flt, areas,
                                                      self._counted_by_month(flt))).scalar_one()
            last = b.c.id
            if self._matches_first(flt, total):
                key, last = sa.func.coalesce(key, key), sa.func.coalesce(b.c.id, b.c.id)  # in no index
            ids_q = ids_q.order_by(order(key), order(last)).offset(offset).limit(limit)
            ids = [x for (x,) in conn.execute(ids_q)]
            rows = conn.execute(_bill_select().where(b.c.id.in_(ids))).mappings().all() if ids else []
        by_id = {x["id"]: x for x in rows}
        return Page([Bill.from_row(by_id[i]) for i in ids], offset, limit, total)

    def _matches_first(self, flt: BillFilter, total: int | None) -> bool:
        """A search on PostgreSQL: find the matches, then order them, unless they are many. With the
        page's order in an index PostgreSQL walks it and checks each bill against the matching accounts
        one by one: "B17" over 3.6 million bills (4,444 flats, 53,328 bills) took 1.07 s that way and
        31 ms matched first; a common surname (300,000 bills) 157 ms walking and 620 ms matched first."""
        return bool(flt.search) and self.dialect == "postgresql" and (total is None or total <= MATCHES_FIRST_UP_TO)

    def _counted_by_month(self, flt: BillFilter) -> bool:
        """SQLite has no statistics and counts a month's bills of a status and an area from the status
        index, one row lookup per match (a block's 75,000 pending bills at 300,000 flats: 100 ms).
        The month's covering index (ix_bills_month_area_amounts) reads the whole month in 33 ms, so
        when it holds every condition of the filter the count is made to read it."""
        return self.dialect == "sqlite" and bool(flt.period_month) and sql_bill_counts.answers(flt)

    def list_bills_after(self, flt: BillFilter, after_id=0, limit=1000) -> list[Bill]:
        with read_tx(self.engine) as conn:
            areas = area_ids(conn, flt.area_id)
            q = self._bill_where(_bill_select(), flt, areas).where(b.c.id > after_id).order_by(b.c.id).limit(limit)
            return [Bill.from_row(x) for x in conn.execute(q).mappings()]

    def record_payment(self, bill_id, *, amount, paid_on, method, reference, actor, external_id=None) -> PaymentResult:
        if external_id:
            prior = self._payment_by_external_id(external_id)
            if prior:
                return PaymentResult(self.get_bill(prior.bill_id), prior, applied=False)
        now = utcnow()
        try:
            with write_tx(self.engine) as conn:
                q = sa.select(b.c.total_amount, b.c.amount_paid, b.c.status).where(b.c.id == bill_id)
                if self.dialect == "postgresql":
                    q = q.with_for_update()
                row = conn.execute(q).first()
                if row is None:
                    raise NotFoundError(f"Bill {bill_id} does not exist.")
                new_paid, status = apply_payment(row.total_amount, row.amount_paid, row.status, amount)
                paid_amount = new_paid - row.amount_paid
                pid = conn.execute(p.insert().values(
                    bill_id=bill_id, amount=paid_amount, paid_on=paid_on, method=method, reference=reference,
                    external_id=external_id, recorded_by=actor.user_id, recorded_by_name=actor.username, created_at=now,
                ).returning(p.c.id)).scalar_one()
                conn.execute(b.update().where(b.c.id == bill_id).values(
                    amount_paid=new_paid, status=status, paid_at=now if status == "paid" else None, updated_at=now))
                self._audit(conn, actor, "payment.record", "bill", bill_id, {
                    "payment_id": pid, "amount": paid_amount, "paid_on": paid_on, "method": method,
                    "reference": reference, "external_id": external_id, "status": status})
        except IntegrityError as exc:
            if external_id and is_unique_violation(exc, "external_id"):
                prior = self._payment_by_external_id(external_id)
                return PaymentResult(self.get_bill(prior.bill_id), prior, applied=False)
            raise
        payment = next(x for x in self.list_payments(bill_id) if x.id == pid)
        return PaymentResult(self.get_bill(bill_id), payment, applied=True)

    def settle_bills_in_full(self, bill_ids, *, paid_on, method, reference, actor) -> int:
        now = utcnow()
        settled = 0
        open_ = sa.and_(b.c.status.in_(OPEN_BILL_STATUSES), b.c.total_amount > b.c.amount_paid)
        with write_tx(self.engine) as conn:
            for i in range(0, len(bill_ids), 900):
                chunk = list(bill_ids[i:i + 900])
                balance = sa.func.round(b.c.total_amount - b.c.amount_paid, 2)
                conn.execute(p.insert().from_select(
                    ["bill_id", "amount", "paid_on", "method", "reference", "recorded_by", "recorded_by_name", "created_at"],
                    sa.select(b.c.id, balance, sa.literal(paid_on, sa.Date), sa.literal(method), sa.literal(reference, sa.String),
                              sa.literal(actor.user_id, s.Id), sa.literal(actor.username), sa.literal(now, s.UTCDateTime()))
                    .where(b.c.id.in_(chunk), open_)))
                settled += conn.execute(b.update().where(b.c.id.in_(chunk), open_).values(
                    amount_paid=b.c.total_amount, status="paid", paid_at=now, updated_at=now)).rowcount
            self._audit(conn, actor, "payment.settle_in_full", "bill", None, {
                "requested": len(bill_ids), "settled": settled, "paid_on": paid_on, "method": method,
                "reference": reference})
        return settled

    def _payment_by_external_id(self, external_id) -> Payment | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(sa.select(p).where(p.c.external_id == external_id)).mappings().first()
        return Payment.from_row(row) if row else None

    def list_payments(self, bill_id) -> list[Payment]:
        with read_tx(self.engine) as conn:
            return [Payment.from_row(x) for x in conn.execute(
                scope_where(sa.select(p).where(p.c.bill_id == bill_id), self._bill_in_scope(p.c.bill_id))
                .order_by(p.c.id)).mappings()]

    def set_bill_status(self, bill_id, status, actor, reason, expected_status=None) -> Bill:
        if status not in s.BILL_STATUSES:
            raise ValidationError("status", f"'{status}' is not a bill status.", f"Use one of {', '.join(s.BILL_STATUSES)}.")
        with write_tx(self.engine) as conn:
            q = sa.select(b.c.status).where(b.c.id == bill_id)
            old = conn.execute(q.with_for_update() if self.dialect == "postgresql" else q).scalar()
            if old is None:
                raise NotFoundError(f"Bill {bill_id} does not exist.")
            if expected_status is not None and old != expected_status:
                raise ConflictError(f"Bill {bill_id} is now {old}, not {expected_status}: it changed meanwhile "
                                    "(a payment?). Nothing was changed; look at the bill again.")
            conn.execute(b.update().where(b.c.id == bill_id).values(status=status, updated_at=utcnow()))
            self._audit(conn, actor, "bill.status", "bill", bill_id, {"from": old, "to": status, "reason": reason})
        return self.get_bill(bill_id)

    def set_payment_link(self, bill_id, link_id, url, actor) -> None:
        with write_tx(self.engine) as conn:
            n = conn.execute(b.update().where(b.c.id == bill_id).values(
                payment_link_id=link_id, payment_link_url=url, updated_at=utcnow())).rowcount
            if not n:
                raise NotFoundError(f"Bill {bill_id} does not exist.")
            self._audit(conn, actor, "bill.payment_link", "bill", bill_id, {"payment_link_id": link_id})

    def mark_overdue(self, as_of, actor) -> list[int]:
        with write_tx(self.engine) as conn:
            ids = [x for (x,) in conn.execute(
                b.update().where(b.c.status.in_(("pending", "partially_paid")), b.c.due_date < as_of)
                .values(status="overdue", updated_at=utcnow()).returning(b.c.id))]
            if ids:
                self._audit(conn, actor, "bill.mark_overdue", "bill", None,
                            {"as_of": as_of, "count": len(ids), "first_ids": sorted(ids)[:100]})
        return sorted(ids)

    def mark_overdue_notified(self, bill_ids) -> None:
        now = utcnow()
        with write_tx(self.engine) as conn:
            for i in range(0, len(bill_ids), 900):
                conn.execute(b.update().where(b.c.id.in_(bill_ids[i:i + 900])).values(overdue_notified_at=now))

    def bills_due_between(self, start, end, statuses, after_id=0, limit=500) -> list[Bill]:
        q = (_bill_select().where(b.c.due_date.between(start, end), b.c.status.in_(statuses), b.c.id > after_id)
             .order_by(b.c.id).limit(limit))
        with read_tx(self.engine) as conn:
            return [Bill.from_row(x) for x in conn.execute(q).mappings()]

    # ---- bill runs ---------------------------------------------------------------------
    # The run's bulk reads and writes live in sql_bill_runs.py (sqlite3 executemany / COPY).
    def count_run_skips(self, start, end, *, service="electricity", source="readings", area_id=None) -> int:
        return sql_bill_runs.count_skips(self, start, end, service, source, area_id)

    def bill_run_candidates(self, start, end, *, service="electricity", source="readings", area_id=None,
                            after_account_id=0, limit=5000):
        return sql_bill_runs.run_candidates(self, start, end, service, source, area_id, after_account_id, limit)

    def insert_bill_batch(self, bills, actor) -> BatchResult:
        return sql_bill_runs.insert_batch(self, bills, actor)

    def prepare_bill_batch(self, bills):
        return sql_bill_runs.prepare_batch(bills)

    def start_bill_run(self, start, end, due, actor, *, service="electricity", area_id=None) -> int:
        with write_tx(self.engine) as conn:
            run_id = conn.execute(s.bill_runs.insert().values(
                billing_period_start=start, billing_period_end=end, due_date=due, service=service, area_id=area_id,
                status="running", started_by=actor.username, started_at=utcnow()).returning(s.bill_runs.c.id)).scalar_one()
            self._audit(conn, actor, "bill_run.start", "bill_run", run_id, {
                "start": start, "end": end, "due": due, "service": service, "area_id": area_id})
        return run_id

    def finish_bill_run(self, run_id, *, status, skipped, refused, error=None) -> None:
        run = s.bill_runs
        with write_tx(self.engine) as conn:
            # Counted from the bills the run stored, whatever the caller counted (a run killed
            # half-way, then closed by the next one, still says what it created).
            created, total = conn.execute(sa.select(sa.func.count(), money_sum(b.c.total_amount, self.dialect))
                                          .where(b.c.bill_run_id == run_id)).one()
            conn.execute(run.update().where(run.c.id == run_id).values(
                status=status, created_count=created, skipped_count=skipped, refused_count=refused,
                total_amount=money_value(total, self.dialect), error=error, finished_at=utcnow()))

    def list_bill_runs(self, limit=20) -> list[BillRun]:
        run = s.bill_runs
        # A run still running (or dead without a finish) shows what it has stored so far.
        stored = sa.select(sa.func.count()).where(b.c.bill_run_id == run.c.id).scalar_subquery()
        stored_total = sa.select(money_sum(b.c.total_amount, self.dialect)).where(
            b.c.bill_run_id == run.c.id).scalar_subquery()
        running = run.c.status == "running"
        q = (sa.select(*[c for c in run.c if c.name not in ("created_count", "total_amount")],
                       sa.case((running, stored), else_=run.c.created_count).label("created_count"),
                       sa.case((running, stored_total), else_=None).label("stored_total"),
                       run.c.total_amount)
             .order_by(run.c.id.desc()).limit(limit))
        with read_tx(self.engine) as conn:
            rows = conn.execute(q).mappings().all()
        out = []
        for x in rows:
            row = dict(x)
            if row["status"] == "running":
                row["total_amount"] = money_value(row["stored_total"], self.dialect)
            out.append(BillRun.from_row(row))
        return out

    # ---- dashboard ---------------------------------------------------------------------
    def dashboard_figures(self, month, as_of) -> DashboardFigures:
        first, last = month_bounds(month)
        d = self.dialect
        t, conds = self.bill_totals_in_scope()  # the summary rows (database/bill_totals.py), not the bills
        paid_from, paid_mine = self._payments_in_scope()
        charged, open_ = t.c.status.not_in(NOT_CHARGED), t.c.status.in_(OPEN_BILL_STATUSES)
        with read_tx(self.engine) as conn:
            billed_raw, count = conn.execute(
                sa.select(sa.func.sum(t.c.billed), sa.func.sum(t.c.bills))
                .where(t.c.bill_month == first.strftime("%Y-%m"), charged, *conds)).one()
            # Money received: every payment of the month but the credits re-issues moved between bills
            # (few, found by their own index; the sum of all payments reads the (paid_on, amount) index).
            collected = conn.execute(sa.select(money_sum(p.c.amount, d)).select_from(paid_from)
                                     .where(p.c.paid_on.between(first, last), *paid_mine)).scalar()
            credited = conn.execute(sa.select(money_sum(p.c.amount, d)).select_from(paid_from)
                                    .where(*_credits(p.c.paid_on, d, first, last), *paid_mine)).scalar()
            outstanding, overdue = conn.execute(
                sa.select(sa.func.sum(t.c.due - t.c.paid), sa.func.sum(sa.case((t.c.due_date < as_of, t.c.bills), else_=0)))
                .where(open_, *conds)).one()
            pending = conn.execute(sa.select(sa.func.count()).select_from(r).where(
                r.c.status == "pending", *self._scope_conds(self._meter_in_scope(r.c.meter_id)))).scalar_one()
        return DashboardFigures(first.strftime("%Y-%m"), from_minor_units(int(billed_raw or 0)), int(count or 0),
                                money_value(collected, d) - money_value(credited, d),
                                from_minor_units(int(outstanding or 0)), pending, int(overdue or 0))

    def _payments_in_scope(self):
        """(from clause, conditions) for the payments in the scope: a join to their bills in the scope's
        areas (the planner starts from those bills' area index), not a sub-select of every bill id."""
        ids = scope_area_ids(self.scope)
        if ids is None and self.scope.account_ids is None:
            return p, ()
        x = b.alias("paid_bills")
        return p.join(x, x.c.id == p.c.bill_id), self._scope_conds(self._in_scope(x.c.area_id))  # a customer: their accounts too

    def monthly_consumption(self, months) -> dict[str, Decimal]:
        if not months:
            return {}
        t, conds = self.bill_totals_in_scope()
        q = (sa.select(t.c.bill_month, sa.func.sum(t.c.units))
             .where(t.c.bill_month.between(min(months), max(months)), t.c.status.not_in(NOT_CHARGED), *conds)
             .group_by(t.c.bill_month))
        with read_tx(self.engine) as conn:
            units = dict(conn.execute(q).all())
        return {mo: from_minor_units(int(units.get(mo) or 0)) for mo in sorted(months)}

    def monthly_series(self, months) -> list[MonthlyPoint]:
        if not months:
            return []
        d = self.dialect
        first, _ = month_bounds(min(months))
        _, last = month_bounds(max(months))
        pm = _month_expr(p.c.paid_on, d).label("month")
        t, conds = self.bill_totals_in_scope()  # the summary rows (database/bill_totals.py), not the bills
        with read_tx(self.engine) as conn:
            billed = {row.month: row for row in conn.execute(
                sa.select(t.c.bill_month.label("month"), sa.func.sum(t.c.units).label("units"),
                          sa.func.sum(t.c.billed).label("billed"), sa.func.sum(t.c.bills).label("n"))
                .where(t.c.bill_month.between(min(months), max(months)), t.c.status.not_in(NOT_CHARGED), *conds)
                .group_by(t.c.bill_month))}
            paid_mine = self._scope_conds(self._bill_in_scope(p.c.bill_id))
            paid = {row.month: row.collected for row in conn.execute(
                sa.select(pm, money_sum(p.c.amount, d).label("collected"))
                .where(p.c.paid_on.between(first, last), *paid_mine).group_by(pm))}
            credited = {row.month: row.credited for row in conn.execute(
                sa.select(pm, money_sum(p.c.amount, d).label("credited"))
                .where(*_credits(p.c.paid_on, d, first, last), *paid_mine).group_by(pm))}
        out = []
        for mo in sorted(months):
            row = billed.get(mo)
            out.append(MonthlyPoint(
                mo, from_minor_units(int(row.units if row else 0)), from_minor_units(int(row.billed if row else 0)),
                money_value(paid.get(mo, 0), d) - money_value(credited.get(mo, 0), d), int(row.n) if row else 0))
        return out
