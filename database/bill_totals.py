"""The per-month, per-area summary rows (bill_month_totals), kept by triggers on bills (issue 19).

Every bill is counted in exactly one row, the one of its key: bill month (of billing_period_start),
area, due date, status, whether anything is paid on it, whether it carries arrears. A row holds the
count and the sums of units, charges (total - previous outstanding), totals and amounts paid, in
hundredths. The dashboard, the collection report and the arrears aging read these rows (a few
thousand at 300,000 accounts) instead of scanning a year of bills.

Why triggers and not the bill run: a bill changes through the run, single bills, re-issues,
payments, bank files, bulk status updates, the REST backend's SQL functions and direct SQL; a trigger
sees all of them, in the transaction that changes the bill, so the rows are never behind or ahead.
- SQLite: row triggers; each upserts its bill's row (minus the old key and plus the new on an
  update that moves a bill or its money).
- PostgreSQL: statement triggers with transition tables; one grouped upsert per statement (a month
  run's batch of thousands of bills is one upsert of a few rows), in key order, and an update that
  moves nothing (a reminder's timestamp) writes nothing.
`rebuild` recomputes every row from the bills (an upgraded database, once); `mismatches` lists the
rows that differ from that recomputation (scripts/verify_billing).

Every statement is idempotent.
"""
from __future__ import annotations

import sqlalchemy as sa

from database import schema as s
from database.archive_triggers import in_archive

KEY = ("bill_month", "area_id", "due_date", "status", "paid_any", "arrears")
SUMS = ("bills", "units", "billed", "due", "paid")
# The bill columns a row's key or sums are made of: an update of any other column moves nothing.
SOURCE_COLUMNS = ("billing_period_start", "area_id", "due_date", "status", "amount_paid", "previous_outstanding",
                  "total_units", "total_amount")


def _hundredths(expr: str, dialect: str) -> str:
    return f"CAST(round(({expr}) * 100) AS {'INTEGER' if dialect == 'sqlite' else 'bigint'})"


def _values(row: str, dialect: str, sign: str = "") -> list[str]:
    """The key and sums of one bill row (`NEW`, `OLD`, or a transition table's alias), as SQL."""
    month = (f"substr({row}.billing_period_start, 1, 7)" if dialect == "sqlite"
             else f"to_char({row}.billing_period_start, 'YYYY-MM')")
    h = lambda e: sign + _hundredths(e, dialect)  # noqa: E731
    return [month, f"{row}.area_id", f"{row}.due_date", f"{row}.status", f"({row}.amount_paid > 0)",
            f"({row}.previous_outstanding > 0)", f"{sign}1", h(f"{row}.total_units"),
            h(f"{row}.total_amount - {row}.previous_outstanding"), h(f"{row}.total_amount"), h(f"{row}.amount_paid")]


_COLUMNS = ", ".join(KEY + SUMS)
_ADD = ", ".join(f"{c} = bill_month_totals.{c} + excluded.{c}" for c in SUMS)
_CONFLICT = f"ON CONFLICT ({', '.join(KEY)}) DO UPDATE SET {_ADD}"


def _sqlite_upsert(row: str, sign: str = "") -> str:
    return f"INSERT INTO bill_month_totals ({_COLUMNS}) VALUES ({', '.join(_values(row, 'sqlite', sign))}) {_CONFLICT};"


def sqlite_statements() -> list[str]:
    changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in SOURCE_COLUMNS)
    return [
        # Recreated with the archive (issue 14): a bill archived or restored stays counted where it was.
        "DROP TRIGGER IF EXISTS trg_bill_totals_insert",
        f"""CREATE TRIGGER trg_bill_totals_insert AFTER INSERT ON bills WHEN NOT {in_archive("bills", "NEW")}
            BEGIN {_sqlite_upsert('NEW')} END""",
        f"""CREATE TRIGGER IF NOT EXISTS trg_bill_totals_update AFTER UPDATE ON bills WHEN {changed}
            BEGIN {_sqlite_upsert('OLD', '-')} {_sqlite_upsert('NEW')} END""",
        "DROP TRIGGER IF EXISTS trg_bill_totals_delete",
        f"""CREATE TRIGGER trg_bill_totals_delete AFTER DELETE ON bills WHEN NOT {in_archive("bills")}
            BEGIN {_sqlite_upsert('OLD', '-')} END""",
    ]


def _pg_apply(sources: list[tuple[str, str]], unarchived: bool = False) -> str:
    """One grouped upsert of the net change of a statement's old rows (subtracted) and new rows (added).
    unarchived: leave out bills moved to or from the archive (issue 14), which stay counted."""
    where = " WHERE NOT EXISTS (SELECT 1 FROM archived_bills a WHERE a.id = x.id)" if unarchived else ""
    parts = " UNION ALL ".join(
        f"SELECT {', '.join(f'{v} AS {c}' for v, c in zip(_values('x', 'postgresql', sign), KEY + SUMS))} "
        f"FROM {table} x{where}" for table, sign in sources)
    sums = ", ".join(f"sum({c})" for c in SUMS)
    moved = " OR ".join(f"sum({c}) <> 0" for c in SUMS)
    keys = ", ".join(KEY)
    return (f"INSERT INTO bill_month_totals ({_COLUMNS}) "
            f"SELECT {keys}, {sums} FROM ({parts}) d GROUP BY {keys} HAVING {moved} ORDER BY {keys} {_CONFLICT};")


def postgresql_statements() -> list[str]:
    out = [f"""CREATE OR REPLACE FUNCTION meterline_bill_totals() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF TG_OP = 'INSERT' THEN
               {_pg_apply([('bill_totals_new', '')], unarchived=True)}
             ELSIF TG_OP = 'UPDATE' THEN
               {_pg_apply([('bill_totals_old', '-'), ('bill_totals_new', '')])}
             ELSE
               {_pg_apply([('bill_totals_old', '-')], unarchived=True)}
             END IF;
             RETURN NULL;
           END $$"""]
    # A trigger with transition tables names one event (PostgreSQL's rule), so three triggers.
    for event, tables in (("INSERT", "NEW TABLE AS bill_totals_new"),
                          ("UPDATE", "OLD TABLE AS bill_totals_old NEW TABLE AS bill_totals_new"),
                          ("DELETE", "OLD TABLE AS bill_totals_old")):
        name = f"trg_bill_totals_{event.lower()}"
        out += [f"DROP TRIGGER IF EXISTS {name} ON bills",
                f"""CREATE TRIGGER {name} AFTER {event} ON bills REFERENCING {tables}
                    FOR EACH STATEMENT EXECUTE FUNCTION meterline_bill_totals()"""]
    return out


def from_bills(dialect: str, conds_of=None) -> sa.Subquery:
    """The rows recomputed from the bills (optionally only some bills), live and archived (issue 14: an
    archived bill stays counted): what the table must hold."""
    b = sa.union_all(sa.select(s.bills), sa.select(*(s.archived_bills.c[c.name] for c in s.bills.columns))) \
        .subquery("bills_live_and_archived")
    month = (sa.func.substr(b.c.billing_period_start, 1, 7) if dialect == "sqlite"
             else sa.func.to_char(b.c.billing_period_start, "YYYY-MM"))
    h = lambda e: sa.func.sum(sa.cast(sa.func.round(e * 100), sa.BigInteger))  # noqa: E731
    keys = (month.label("bill_month"), b.c.area_id.label("area_id"), b.c.due_date.label("due_date"),
            b.c.status.label("status"), (b.c.amount_paid > 0).label("paid_any"),
            (b.c.previous_outstanding > 0).label("arrears"))
    return (sa.select(*keys, sa.func.count().label("bills"), h(b.c.total_units).label("units"),
                      h(b.c.total_amount - b.c.previous_outstanding).label("billed"), h(b.c.total_amount).label("due"),
                      h(b.c.amount_paid).label("paid"))
            .where(*(conds_of(b) if conds_of else ())).group_by(*(k.element for k in keys)).subquery("bill_totals_recomputed"))


def _refill(dialect: str):
    fresh = from_bills(dialect)
    return s.bill_month_totals.insert().from_select(list(KEY + SUMS), sa.select(*fresh.c))


def rebuild(conn) -> None:
    """Recompute every row from the bills (in the caller's transaction)."""
    conn.execute(s.bill_month_totals.delete())
    conn.execute(_refill(conn.dialect.name))


def fill_once_sql() -> str:
    """PostgreSQL (the Supabase schema file): what database/migrations.py does on an upgraded database,
    fill the rows from the bills already stored, once."""
    from sqlalchemy.dialects import postgresql

    refill = str(_refill("postgresql").compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    return ("DO $$\nBEGIN\n  IF NOT EXISTS (SELECT 1 FROM schema_info WHERE key = 'bill_totals') THEN\n"
            f"    DELETE FROM bill_month_totals;\n    {refill};\n"
            "    INSERT INTO schema_info (key, value) VALUES ('bill_totals', 'filled');\n  END IF;\nEND $$;")


def mismatches(conn, limit: int | None = None) -> tuple[int, list[dict]]:
    """(count, first rows) of the keys whose stored row differs from the recomputation; a stored row
    with nothing in it (every bill moved out of its key) is the same as no row."""
    t, fresh = s.bill_month_totals, from_bills(conn.dialect.name)
    stored = sa.select(t).where(sa.or_(*(t.c[c] != 0 for c in SUMS))).subquery("bill_totals_stored")
    on = sa.and_(*(stored.c[k] == fresh.c[k] for k in KEY))
    cols = [sa.func.coalesce(stored.c[k], fresh.c[k]).label(k) for k in KEY]
    pairs = [x for c in SUMS for x in (stored.c[c].label(f"stored_{c}"), fresh.c[c].label(f"recomputed_{c}"))]
    differ = sa.or_(*(sa.func.coalesce(stored.c[c], 0) != sa.func.coalesce(fresh.c[c], 0) for c in SUMS))
    # A full outer join, spelled as two left joins (SQLite before 3.39 has no FULL JOIN).
    left = sa.select(*cols, *pairs).select_from(stored.outerjoin(fresh, on)).where(differ)
    right = (sa.select(*cols, *pairs).select_from(fresh.outerjoin(stored, on))
             .where(stored.c.bill_month.is_(None), differ))
    q = sa.union_all(left, right).subquery("bill_totals_diff")
    n = conn.execute(sa.select(sa.func.count()).select_from(q)).scalar_one()
    rows = [dict(x) for x in conn.execute(sa.select(q).order_by(*(q.c[k] for k in KEY)).limit(limit)).mappings()] \
        if n else []
    return n, rows
