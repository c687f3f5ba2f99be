"""Triggers for field operations (issue 15; tables in database/schema_field.py), per dialect.

- A ticket or visit goes PENDING -> APPROVED | REJECTED once: a decided row never changes again and
  is never deleted; while pending only its review columns (and a ticket's assignee and `applied`)
  may change, never what was reported (the unit, the outcome, the position, the description ...).
- Comments and attachments are append-only.
The status values themselves are CHECK constraints of the tables.
"""
from __future__ import annotations

from database.schema_field import TICKET_FIXED_COLUMNS, VISIT_FIXED_COLUMNS

DECIDED_MESSAGE = "FIELD_DECIDED: an approved or rejected ticket or visit never changes"
FIXED_MESSAGE = "FIELD_FIXED: what a ticket or visit reported never changes; only its review (pending -> approved or rejected)"
NO_DELETE_MESSAGE = "FIELD_NO_DELETE: tickets and visits are never deleted"
APPEND_ONLY_MESSAGE = "APPEND_ONLY: rows of this table are never changed or deleted"

_RULES = (("field_visits", VISIT_FIXED_COLUMNS), ("tickets", TICKET_FIXED_COLUMNS))
_APPEND_ONLY = ("ticket_comments", "ticket_attachments")


def sqlite_statements() -> list[str]:
    out = []
    for table, fixed in _RULES:
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in fixed)
        out += [
            f"""CREATE TRIGGER IF NOT EXISTS trg_{table}_decided BEFORE UPDATE ON {table}
                WHEN OLD.status <> 'pending'
                BEGIN SELECT RAISE(ABORT, '{DECIDED_MESSAGE}'); END""",
            # Dropped first: its column list grows with the table (photo_url), and IF NOT EXISTS would
            # keep an upgraded database's older list.
            f"DROP TRIGGER IF EXISTS trg_{table}_fixed",
            f"""CREATE TRIGGER IF NOT EXISTS trg_{table}_fixed BEFORE UPDATE ON {table}
                WHEN {changed}
                BEGIN SELECT RAISE(ABORT, '{FIXED_MESSAGE}'); END""",
            f"""CREATE TRIGGER IF NOT EXISTS trg_{table}_no_delete BEFORE DELETE ON {table}
                BEGIN SELECT RAISE(ABORT, '{NO_DELETE_MESSAGE}'); END""",
        ]
    for table in _APPEND_ONLY:
        for op in ("UPDATE", "DELETE"):
            out.append(f"""CREATE TRIGGER IF NOT EXISTS trg_{table}_no_{op.lower()} BEFORE {op} ON {table}
                           BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END""")
    return out


def postgresql_statements() -> list[str]:
    out = []
    for table, fixed in _RULES:
        changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in fixed)
        out += [
            f"""CREATE OR REPLACE FUNCTION meterline_{table}_review_only() RETURNS trigger
               LANGUAGE plpgsql AS $$
               BEGIN
                 IF TG_OP = 'DELETE' THEN
                   RAISE EXCEPTION '{NO_DELETE_MESSAGE}' USING ERRCODE = 'P0001';
                 END IF;
                 IF OLD.status <> 'pending' THEN
                   RAISE EXCEPTION '{DECIDED_MESSAGE}' USING ERRCODE = 'P0001';
                 END IF;
                 IF {changed} THEN
                   RAISE EXCEPTION '{FIXED_MESSAGE}' USING ERRCODE = 'P0001';
                 END IF;
                 RETURN NEW;
               END $$""",
            f"DROP TRIGGER IF EXISTS trg_{table}_review_only ON {table}",
            f"""CREATE TRIGGER trg_{table}_review_only BEFORE UPDATE OR DELETE ON {table}
               FOR EACH ROW EXECUTE FUNCTION meterline_{table}_review_only()""",
            f"DROP TRIGGER IF EXISTS trg_{table}_no_truncate ON {table}",
            f"""CREATE TRIGGER trg_{table}_no_truncate BEFORE TRUNCATE ON {table}
               FOR EACH STATEMENT EXECUTE FUNCTION meterline_no_truncate()""",
        ]
    for table in _APPEND_ONLY:
        out += [
            f"DROP TRIGGER IF EXISTS trg_{table}_append_only ON {table}",
            f"""CREATE TRIGGER trg_{table}_append_only BEFORE UPDATE OR DELETE ON {table}
               FOR EACH ROW EXECUTE FUNCTION meterline_append_only()""",
        ]
    return out
