"""SQL backend part: the bill archive (issue 14; rules in services/billing/archive.py, tables in
database/schema_archive.py, triggers in database/archive_triggers.py).

A bill month moves in one transaction, set-based: the ids of the bills that may move go into a
temporary table (the rules as one INSERT ... SELECT, then the ones a live row still points at taken
out until none is), every row of theirs is copied to the archive with one INSERT ... SELECT per table
and deleted from the live table with one DELETE per table, and the move is counted on both sides. A
restore is the same in reverse. A dry run does all of it and rolls back.
"""
from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from database import schema as s
from database.bill_estimates import ESTIMATED
from services.billing.archive import (SETTLED_STATUSES, ArchiveCounts, ArchivedBill, ArchivedMonth, ArchiveOutcome,
                                      archivable_month, first_kept_month)
from services.billing.periods import month_bounds, month_key
from services.clock import utcnow
from services.errors import ConflictError, NotFoundError, StorageError, ValidationError
from services.models import Page
from services.storage.sql_common import as_date, money_sum, money_value, read_tx, write_tx

_PG_ARCHIVE_LOCK = 7460040  # one archive move at a time
_SETTLED = ", ".join(f"'{x}'" for x in SETTLED_STATUSES)
# Live rows that point at a bill: while one stays live, the bill it points at stays too.
_POINTED_AT = (("bills", "reissue_of", "id"), ("bills", "superseded_by", "id"), ("bills", "carried_forward_to", "id"),
               ("payments", "credit_from_bill", "bill_id"))


# The earliest bill month an archived bill of the restored set points at, outside the set: it must come back
# first (the live tables' foreign keys need the bills a restored row names).
_POINTS_OUTSIDE = """
    SELECT min(t.billing_period_start) FROM archived_bills t
      JOIN (SELECT x.carried_forward_to AS id FROM archived_bills x JOIN archive_ids i ON i.id = x.id
            UNION SELECT x.superseded_by FROM archived_bills x JOIN archive_ids i ON i.id = x.id
            UNION SELECT x.reissue_of FROM archived_bills x JOIN archive_ids i ON i.id = x.id
            UNION SELECT p.credit_from_bill FROM archived_payments p JOIN archive_ids i ON i.id = p.bill_id) named
        ON named.id = t.id
     WHERE NOT EXISTS (SELECT 1 FROM archive_ids o WHERE o.id = t.id)"""


class _DryRun(Exception):
    def __init__(self, outcome: ArchiveOutcome):
        self.outcome = outcome


def _key(table: sa.Table) -> str:
    return "id" if table.name == "bills" else "bill_id"


class ArchivePart:
    # ---- moving a month -------------------------------------------------------------------------
    def archive_bill_month(self, month: str, today: dt.date, actor, *, after_months: int, dry_run: bool = False
                           ) -> ArchiveOutcome:
        m0, m_last = month_bounds(archivable_month(month, today, after_months))
        kept = first_kept_month(today, after_months)
        try:
            with write_tx(self.engine) as conn:
                self._archive_lock(conn)
                self._temp_ids(conn)
                conn.execute(sa.text(f"""
                    INSERT INTO archive_ids (id)
                    SELECT b.id FROM bills b
                     WHERE b.billing_period_start BETWEEN :m0 AND :m1 AND b.status IN ({_SETTLED})
                       AND NOT EXISTS (SELECT 1 FROM tickets t WHERE t.bill_id = b.id)
                       AND EXISTS (SELECT 1 FROM bills n
                                    WHERE n.account_id = b.account_id AND n.service = b.service
                                      AND n.billing_period_start >= :kept AND n.status NOT IN ('superseded', 'cancelled')
                                      AND NOT COALESCE({ESTIMATED[self.dialect]}, FALSE))"""),
                             {"m0": m0, "m1": m_last, "kept": kept})
                self._analyze_ids(conn)
                self._drop_pointed_at(conn)
                month_bills = conn.execute(sa.text("SELECT count(*) FROM bills WHERE billing_period_start BETWEEN :m0 AND :m1"),
                                           {"m0": m0, "m1": m_last}).scalar_one()
                before = self._count(conn, live=True)
                _move(conn, "", "archived_")
                after = self._count(conn, live=False)
                self._check_equal(before, after, "archive")
                outcome = ArchiveOutcome(month_key(m0), before, month_bills - before.bills, dry_run)
                if before.bills:
                    self._add_month_row(conn, outcome, actor)
                    self._audit(conn, actor, "bill_archive.move", "bill_month", month_key(m0), _details(outcome))
                if dry_run:
                    raise _DryRun(outcome)
                return outcome
        except _DryRun as done:
            return done.outcome

    def restore_bill_month(self, month: str, actor) -> ArchiveOutcome:
        m0, m_last = month_bounds(month)
        with write_tx(self.engine) as conn:
            self._archive_lock(conn)
            row = conn.execute(sa.select(s.bill_archive_months).where(
                s.bill_archive_months.c.bill_month == month_key(m0))).mappings().first()
            if row is None:
                raise NotFoundError(f"No bills of {month_key(m0)} are in the archive.")
            self._temp_ids(conn)
            conn.execute(sa.text("INSERT INTO archive_ids (id) SELECT id FROM archived_bills "
                                 "WHERE billing_period_start BETWEEN :m0 AND :m1"), {"m0": m0, "m1": m_last})
            self._analyze_ids(conn)
            later = conn.execute(sa.text(_POINTS_OUTSIDE)).scalar()
            if later is not None:
                later = month_key(as_date(later))
                raise ConflictError(f"Bills of {month_key(m0)} point at archived bills of {later} (a balance carried "
                                    f"there, or a re-issue): restore {later} first; months come back newest first. "
                                    "Nothing was moved.")
            before = self._count(conn, live=False)
            self._check_equal(_row_counts(row), before, "archive record")
            _move(conn, "archived_", "")
            after = self._count(conn, live=True)
            self._check_equal(before, after, "restore")
            conn.execute(s.bill_archive_months.delete().where(s.bill_archive_months.c.bill_month == month_key(m0)))
            outcome = ArchiveOutcome(month_key(m0), after, int(row["kept_live"]), False, restored=True)
            self._audit(conn, actor, "bill_archive.restore", "bill_month", month_key(m0), _details(outcome))
            return outcome

    # ---- reading the archive ----------------------------------------------------------------------
    def bill_months_before(self, first_kept: dt.date) -> list[str]:
        t = s.bill_month_totals  # a few thousand rows: every month with bills, archived ones too
        with read_tx(self.engine) as conn:
            return list(conn.execute(sa.select(t.c.bill_month).where(t.c.bill_month < month_key(first_kept), t.c.bills != 0)
                                     .distinct().order_by(t.c.bill_month)).scalars())

    def list_archived_months(self) -> list[ArchivedMonth]:
        t = s.bill_archive_months
        with read_tx(self.engine) as conn:
            return [ArchivedMonth(r["bill_month"], _row_counts(r), int(r["kept_live"]), r["archived_at"], r["archived_by"])
                    for r in conn.execute(sa.select(t).order_by(t.c.bill_month.desc())).mappings()]

    def find_archived_bills(self, *, psid: str | None = None, account_code: str | None = None,
                            offset: int = 0, limit: int = 50) -> Page[ArchivedBill]:
        """Archived bills by PSID or by account code (exact), newest period first, within the scope."""
        if not (psid or account_code):
            raise ValidationError("psid", "or an account is needed to search the archive.",
                                  "Enter a PSID or an account code.")
        ab, a = s.archived_bills, s.accounts
        conds = [*self._scope_conds(self._in_scope(ab.c.area_id))]
        if psid:
            conds.append(ab.c.psid == psid.strip())
        if account_code:
            conds.append(ab.c.account_id == sa.select(a.c.id).where(a.c.code == account_code.strip()).scalar_subquery())
        q = sa.select(ab, a.c.code.label("account_code")).select_from(ab.join(a, a.c.id == ab.c.account_id)).where(*conds)
        with read_tx(self.engine) as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(ab).where(*conds)).scalar_one()
            rows = conn.execute(q.order_by(ab.c.billing_period_start.desc(), ab.c.id.desc())
                                .offset(offset).limit(limit)).mappings().all()
        return Page([_archived_bill(r) for r in rows], offset, limit, total)

    # ---- helpers ------------------------------------------------------------------------------------
    def _archive_lock(self, conn) -> None:
        if self.dialect == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_ARCHIVE_LOCK})

    def _temp_ids(self, conn) -> None:
        if self.dialect == "postgresql":
            conn.execute(sa.text("CREATE TEMP TABLE IF NOT EXISTS archive_ids (id bigint PRIMARY KEY) ON COMMIT DROP"))
        else:
            conn.execute(sa.text("CREATE TEMP TABLE IF NOT EXISTS archive_ids (id INTEGER PRIMARY KEY)"))
        conn.execute(sa.text("DELETE FROM archive_ids"))

    def _analyze_ids(self, conn) -> None:
        """PostgreSQL: statistics for the temporary table, or the planner guesses its size (a temporary
        table is never analyzed by autovacuum)."""
        if self.dialect == "postgresql":
            conn.execute(sa.text("ANALYZE archive_ids"))

    @staticmethod
    def _drop_pointed_at(conn) -> None:
        """Take out the bills a live row still points at, until none is (a bill kept live may keep
        another: a re-issue and the bill it replaced, a chain of carried balances)."""
        # Joins and NOT EXISTS, never NOT IN (SELECT ...): PostgreSQL runs a NOT IN over 300,000 ids that
        # outgrows work_mem as a nested scan (the first version ran for half an hour at 300,000 units).
        pointed = " UNION ".join(
            f"SELECT x.{col} FROM {table} x JOIN archive_ids c ON c.id = x.{col} "
            f"WHERE NOT EXISTS (SELECT 1 FROM archive_ids o WHERE o.id = x.{own})" for table, col, own in _POINTED_AT)
        while conn.execute(sa.text(f"DELETE FROM archive_ids WHERE id IN ({pointed})")).rowcount:
            pass

    def _count(self, conn, *, live: bool) -> ArchiveCounts:
        pre = "" if live else "archived_"
        d = self.dialect

        def sums(table: str, key: str, *money: str) -> list:
            t = s.metadata.tables[pre + table]
            q = sa.select(sa.func.count(), *(money_sum(t.c[m], d) for m in money)).where(
                t.c[key].in_(sa.select(sa.column("id")).select_from(sa.table("archive_ids"))))
            return list(conn.execute(q).one())

        n_bills, total, paid = sums("bills", "id", "total_amount", "amount_paid")
        n_lines, line_amount = sums("bill_lines", "bill_id", "amount")
        n_pay, pay_amount = sums("payments", "bill_id", "amount")
        other = sum(sums(t, "bill_id")[0] for t in ("bill_readings", "payment_events", "notifications", "bill_seals"))
        return ArchiveCounts(n_bills, money_value(total, d), money_value(paid, d), n_lines, money_value(line_amount, d),
                             n_pay, money_value(pay_amount, d), other)

    @staticmethod
    def _check_equal(before: ArchiveCounts, after: ArchiveCounts, what: str) -> None:
        if before != after:
            raise StorageError(f"The {what} did not hold what it should ({before} before, {after} after); "
                               "nothing was moved.")

    @staticmethod
    def _add_month_row(conn, outcome: ArchiveOutcome, actor) -> None:
        t, c = s.bill_archive_months, outcome.moved
        values = dict(bills=c.bills, total_amount=c.total_amount, amount_paid=c.amount_paid, lines=c.lines,
                      line_amount=c.line_amount, payments=c.payments, payment_amount=c.payment_amount,
                      other_rows=c.other_rows)
        old = conn.execute(sa.select(t).where(t.c.bill_month == outcome.month)).mappings().first()
        stamp = dict(kept_live=outcome.kept_live, archived_at=utcnow(), archived_by=actor.username,
                     archived_by_id=actor.user_id)
        if old is None:
            conn.execute(t.insert().values(bill_month=outcome.month, **values, **stamp))
        else:  # more of the month became settled since: the month row counts all of it
            conn.execute(t.update().where(t.c.bill_month == outcome.month)
                         .values(**{k: old[k] + v for k, v in values.items()}, **stamp))


def _move(conn, source: str, target: str) -> None:
    """Every row of the bills in archive_ids from the `source` tables to the `target` ones ("" live,
    "archived_"): copied parents first, then deleted children first (the guards need the copy in place
    before the delete, and the foreign keys need the children gone before their bill)."""
    for t in s.ARCHIVED_FROM:
        cols = ", ".join(c.name for c in t.columns)
        conn.execute(sa.text(f"INSERT INTO {target}{t.name} ({cols}) SELECT {cols} FROM {source}{t.name} "
                             f"WHERE {_key(t)} IN (SELECT id FROM archive_ids)"))
    for t in reversed(s.ARCHIVED_FROM):
        conn.execute(sa.text(f"DELETE FROM {source}{t.name} WHERE {_key(t)} IN (SELECT id FROM archive_ids)"))


def _row_counts(r) -> ArchiveCounts:
    q = lambda v: money_value(v, "postgresql")  # noqa: E731 (stored as NUMERIC(14,2): read back exact)
    return ArchiveCounts(int(r["bills"]), q(r["total_amount"]), q(r["amount_paid"]), int(r["lines"]), q(r["line_amount"]),
                         int(r["payments"]), q(r["payment_amount"]), int(r["other_rows"]))


def _details(o: ArchiveOutcome) -> dict:
    c = o.moved
    return {"bills": c.bills, "total_amount": str(c.total_amount), "amount_paid": str(c.amount_paid),
            "lines": c.lines, "payments": c.payments, "payment_amount": str(c.payment_amount),
            "other_rows": c.other_rows, "kept_live": o.kept_live}


def _archived_bill(r) -> ArchivedBill:
    q = lambda v: money_value(v, "postgresql")  # noqa: E731
    return ArchivedBill(r["id"], r["bill_number"], r["psid"], r["account_id"], r["account_code"], r["service"],
                        r["billing_period_start"], r["billing_period_end"], r["due_date"], q(r["total_amount"]),
                        q(r["amount_paid"]), r["status"])

