"""The bill archive's rules in the database (issue 14; tables in database/schema_archive.py).

A bill's rows are in exactly one place, live or archived:
- a live row of bills, bill_lines, bill_readings, payments, payment_events or bill_seals may be
  deleted only when its copy (same id) is already in the archive (the other triggers that refuse
  deletes ask `in_archive`);
- an archived row is inserted only while its live row exists (a copy, not a new row), deleted only
  once its live row is back (a restore), and never updated;
- a live row inserted with its archived copy present is a restore: the rules for new bills (period
  locks, never inserted superseded, coverage, the summary rows) do not apply to it, because it is
  the bill that was issued, coming back unchanged;
- a new bill for an account, service and period whose bill is archived is refused (the unique key
  on bills cannot see the archive): restore the month first.

Every statement is idempotent.
"""
from __future__ import annotations

ARCHIVED_MESSAGE = ("BILL_ARCHIVED: the bill of this account and period is in the archive; restore its month "
                    "before billing it again")
ARCHIVE_COPY_MESSAGE = ("ARCHIVE_COPY: an archived row is a copy of a live row: it is written only while the live "
                        "row exists, removed only once it is back, and never changed")

# live table -> its key (bill_seals is keyed by its place on the chain)
KEYS = {"bills": "id", "bill_lines": "id", "bill_readings": "id", "payments": "id", "payment_events": "id",
        "notifications": "id", "bill_seals": "seq"}


def in_archive(table: str, row: str = "OLD") -> str:
    """SQL: the archive holds the copy of `row` (OLD or NEW, a row of the live `table`)."""
    key = KEYS[table]
    return f"EXISTS (SELECT 1 FROM archived_{table} a WHERE a.{key} = {row}.{key})"


def _live(table: str, row: str) -> str:
    key = KEYS[table]
    return f"EXISTS (SELECT 1 FROM {table} l WHERE l.{key} = {row}.{key})"


_SAME_PERIOD = ("EXISTS (SELECT 1 FROM archived_bills a WHERE a.account_id = NEW.account_id AND a.service = NEW.service "
                "AND a.billing_period_start = NEW.billing_period_start AND a.id <> NEW.id)")


def sqlite_statements() -> list[str]:
    out = [f"""CREATE TRIGGER IF NOT EXISTS trg_bills_not_archived BEFORE INSERT ON bills WHEN {_SAME_PERIOD}
               BEGIN SELECT RAISE(ABORT, '{ARCHIVED_MESSAGE}'); END"""]
    for table in KEYS:
        arch = f"archived_{table}"
        out += [
            f"""CREATE TRIGGER IF NOT EXISTS trg_{arch}_copy BEFORE INSERT ON {arch} WHEN NOT {_live(table, 'NEW')}
                BEGIN SELECT RAISE(ABORT, '{ARCHIVE_COPY_MESSAGE}'); END""",
            f"""CREATE TRIGGER IF NOT EXISTS trg_{arch}_restored BEFORE DELETE ON {arch} WHEN NOT {_live(table, 'OLD')}
                BEGIN SELECT RAISE(ABORT, '{ARCHIVE_COPY_MESSAGE}'); END""",
            f"""CREATE TRIGGER IF NOT EXISTS trg_{arch}_no_update BEFORE UPDATE ON {arch}
                BEGIN SELECT RAISE(ABORT, '{ARCHIVE_COPY_MESSAGE}'); END""",
        ]
    return out


def postgresql_statements() -> list[str]:
    out = [
        # A statement trigger: a month run COPYs thousands of bills, checked with one join on the archive's
        # (account, service, period) index instead of a function call per bill.
        f"""CREATE OR REPLACE FUNCTION meterline_bills_not_archived() RETURNS trigger
           LANGUAGE plpgsql AS $$
           BEGIN
             IF EXISTS (SELECT 1 FROM bills_not_archived_new n JOIN archived_bills a
                          ON a.account_id = n.account_id AND a.service = n.service
                         AND a.billing_period_start = n.billing_period_start AND a.id <> n.id) THEN
               RAISE EXCEPTION '{ARCHIVED_MESSAGE}' USING ERRCODE = 'P0001';
             END IF;
             RETURN NULL;
           END $$""",
        "DROP TRIGGER IF EXISTS trg_bills_not_archived ON bills",
        """CREATE TRIGGER trg_bills_not_archived AFTER INSERT ON bills REFERENCING NEW TABLE AS bills_not_archived_new
           FOR EACH STATEMENT EXECUTE FUNCTION meterline_bills_not_archived()""",
        # TG_ARGV[0]: the live table, TG_ARGV[1]: its key.
        f"""CREATE OR REPLACE FUNCTION meterline_archive_copy() RETURNS trigger
           LANGUAGE plpgsql AS $$
           DECLARE
             v_key bigint;
             v_live boolean;
           BEGIN
             IF TG_OP = 'UPDATE' THEN
               RAISE EXCEPTION '{ARCHIVE_COPY_MESSAGE}' USING ERRCODE = 'P0001';
             ELSIF TG_OP = 'INSERT' THEN
               v_key := (to_jsonb(NEW) ->> TG_ARGV[1])::bigint;
             ELSE
               v_key := (to_jsonb(OLD) ->> TG_ARGV[1])::bigint;
             END IF;
             EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I = $1)', TG_ARGV[0], TG_ARGV[1])
               INTO v_live USING v_key;
             IF NOT v_live THEN
               RAISE EXCEPTION '{ARCHIVE_COPY_MESSAGE}' USING ERRCODE = 'P0001';
             END IF;
             IF TG_OP = 'INSERT' THEN
               RETURN NEW;
             END IF;
             RETURN OLD;
           END $$""",
        # The live tables' delete guards ask this (database/triggers.py and the others).
        """CREATE OR REPLACE FUNCTION meterline_in_archive(p_table text, p_key bigint) RETURNS boolean
           LANGUAGE plpgsql STABLE AS $$
           DECLARE
             v boolean;
           BEGIN
             EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE %I = $1)', 'archived_' || p_table,
                            CASE WHEN p_table = 'bill_seals' THEN 'seq' ELSE 'id' END)
               INTO v USING p_key;
             RETURN v;
           END $$""",
    ]
    for table, key in KEYS.items():
        arch = f"archived_{table}"
        out += [f"DROP TRIGGER IF EXISTS trg_{arch}_copy ON {arch}",
                f"""CREATE TRIGGER trg_{arch}_copy BEFORE INSERT OR UPDATE OR DELETE ON {arch}
                    FOR EACH ROW EXECUTE FUNCTION meterline_archive_copy('{table}', '{key}')"""]
    return out
