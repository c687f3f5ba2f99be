"""Write database/supabase_schema.sql: the whole schema for a Supabase project.

    python -m scripts.export_supabase_schema            # regenerate the committed file
    python -m scripts.export_supabase_schema --check    # exit 1 when the committed file is stale
    python -m scripts.export_supabase_schema --out F    # write elsewhere

The tables, constraints, indexes and rule triggers are generated from the one schema definition
(database/schema.py, database/triggers.py), so Supabase gets exactly what the SQLAlchemy
backend creates on PostgreSQL. Then come the hand-written parts in database/supabase/*.sql
(views and the functions the REST backend calls through /rpc), and the row level security and
grants, generated per table. The file is idempotent: running it again changes nothing, and
after an additive change to schema.py it adds the new tables, columns and indexes.

It also upgrades a project made by an earlier Meterline, in the same transaction: a version-1
project is first brought to version 2 (database/billing_upgrade.py's step), then a version-2 one
to version 3 (database/upgrade_v3.py: the old tables are set aside before the tables are created,
and copied into them before the rule triggers exist). On a current project both are no-ops.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateColumn, CreateIndex, CreateTable

from database import bill_totals, billing_upgrade, upgrade_v3
from database import schema as s
from database.legacy import schema_v2
from database.migrations import DEFAULT_LOCKED_MONTHS
from database.supabase_scopes import scope_sql
from database.triggers import postgresql_statements
from services.billing.periods import month_bounds

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "database" / "supabase_schema.sql"
PARTS = ROOT / "database" / "supabase"
# Same key as database/migrations.apply_schema: this file and a SQLAlchemy start never interleave.
ADVISORY_LOCK = 7460001
# Supabase's API roles. The app server uses the service key (role service_role); the anon and
# authenticated keys get nothing.
API_ROLES = ("anon", "authenticated", "service_role")
DENIED_ROLES = ("anon", "authenticated")

HEADER = """\
-- Meterline schema for Supabase (PostgreSQL 15+). GENERATED FILE, do not edit by hand:
--   python -m scripts.export_supabase_schema
-- Tables, constraints, indexes and rule triggers come from database/schema.py and
-- database/triggers.py (the same schema the SQLAlchemy backend creates); views and the /rpc
-- functions from database/supabase/*.sql. Run it whole in the Supabase SQL editor. It is
-- idempotent (safe to run again) and runs in one transaction: it applies whole or not at all.
-- Over a project made by an earlier Meterline (schema version 1 or 2) it upgrades it in place,
-- keeping every row and id (database/upgrade_v3.py); a failed check rolls the whole file back.
"""


# A non-percent paramstyle: DDL text such as LIKE '$argon2id$%' is written as is, not as '%%'.
_DIALECT = postgresql.dialect(paramstyle="named")


def _sql(stmt) -> str:
    return str(stmt.compile(dialect=_DIALECT)).strip()


def _column_adds(table: sa.Table) -> list[str]:
    """ADD COLUMN IF NOT EXISTS for every non-key column, so re-running the file after an additive
    change to schema.py brings an existing database up to date (no-op otherwise)."""
    out = []
    for col in table.columns:
        if col.primary_key:
            continue
        ddl = _sql(CreateColumn(col))
        for fk in col.foreign_keys:
            ddl += f" REFERENCES {fk.column.table.name} ({fk.column.name})"
        out.append(f"ALTER TABLE {table.name} ADD COLUMN IF NOT EXISTS {ddl};")
    return out


def tables_sql() -> list[str]:
    out = ["-- ---- tables (from database/schema.py) ----"]
    for table in s.metadata.sorted_tables:
        out.append(_sql(CreateTable(table, if_not_exists=True)) + ";")
    out.append("-- Columns added to schema.py after a database was created (no-op on a current database).")
    for table in s.metadata.sorted_tables:
        out.extend(_column_adds(table))
    out.append("-- ---- indexes ----")
    for table in s.metadata.sorted_tables:
        for index in sorted(table.indexes, key=lambda i: i.name):
            out.append(_sql(CreateIndex(index, if_not_exists=True)) + ";")
    return out


def legacy_v2_sql() -> list[str]:
    """A version-1 project brought to version 2's shape and coverage, as database/migrations.py's
    step 2 does it: version 2's missing tables and columns, then billing_upgrade's status check and
    backfill. Runs only when schema_info says a version below 2 and the flats table exists."""
    stmts = [_sql(CreateTable(t, if_not_exists=True)) for t in schema_v2.metadata.sorted_tables]
    stmts += [x.rstrip(";") for t in schema_v2.metadata.sorted_tables for x in _column_adds(t)]
    stmts += [x.rstrip(";") for x in billing_upgrade.supabase_sql() if not x.startswith("--")]
    if any("$q$" in x for x in stmts):
        raise AssertionError("a statement contains the quote tag $q$")
    body = "\n".join(f"  EXECUTE $q${x}\n  $q$;" for x in stmts)
    return [
        "-- ---- a version-1 project: first to version 2 (database/billing_upgrade.py); no-op otherwise ----",
        "DO $v2$\nBEGIN\n"
        "  IF to_regclass('schema_info') IS NULL OR to_regclass('flats') IS NULL THEN RETURN; END IF;\n"
        "  IF COALESCE((SELECT value::int FROM schema_info WHERE key = 'version'), 0) >= 2 THEN RETURN; END IF;\n"
        f"{body}\nEND $v2$;",
    ]


def set_aside_sql() -> list[str]:
    return ["-- ---- a version-2 project: its tables set aside as v2_<name> (database/upgrade_v3.py); no-op otherwise ----",
            upgrade_v3.SET_ASIDE_SQL + ";"]


def copy_sql() -> list[str]:
    return ["-- ---- a version-2 project: its rows copied into the version-3 tables, checked, the v2_ tables dropped "
            "(database/upgrade_v3.py); no-op otherwise ----", upgrade_v3.copy_sql() + ";"]


def triggers_sql() -> list[str]:
    out = ["-- ---- rule triggers (from database/triggers.py): period locks, immutable bills, append-only tables ----"]
    out.extend(stmt.strip() + ";" for stmt in postgresql_statements())
    return out


def seed_sql() -> list[str]:
    out = ["-- ---- reference rows every database needs (as database/migrations.py seeds them) ----"]
    for month, reason in DEFAULT_LOCKED_MONTHS:
        first, last = month_bounds(month)
        out.append(
            "INSERT INTO period_locks (month, reason, locked_by, bill_count_at_lock)\n"
            f"SELECT '{month}', '{reason}', 'system', (SELECT count(*) FROM bills WHERE billing_period_end "
            f"BETWEEN '{first}' AND '{last}')\nON CONFLICT (month) DO NOTHING;")
    out.append(
        f"INSERT INTO schema_info (key, value) VALUES ('version', '{s.SCHEMA_VERSION}')\n"
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value WHERE schema_info.value::int < EXCLUDED.value::int;")
    out.append(bill_totals.fill_once_sql())  # the summary rows of bills stored before them
    return out


def roles_sql() -> list[str]:
    # With the attributes they have on Supabase (service_role bypasses row level security there).
    attrs = {"anon": "NOLOGIN NOINHERIT", "authenticated": "NOLOGIN NOINHERIT", "service_role": "NOLOGIN NOINHERIT BYPASSRLS",
             # PostgREST's login role (it reads its pre-request function from this role's settings).
             "authenticator": "NOLOGIN NOINHERIT",
             # Meterline's own: reads of area-limited staff, under row level security (no BYPASSRLS).
             "meterline_staff": "NOLOGIN NOINHERIT"}
    creates = "\n".join(
        f"  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{r}') THEN CREATE ROLE {r} {attrs[r]}; END IF;"
        for r in API_ROLES + ("authenticator", "meterline_staff"))
    return [
        "-- ---- API roles: they exist on every Supabase project; created here only on a plain PostgreSQL ----",
        f"DO $$\nBEGIN\n{creates}\nEND $$;",
    ]


def security_sql() -> list[str]:
    denied = ", ".join(DENIED_ROLES)
    out = [
        "-- ---- row level security and grants ----",
        "-- Every table has RLS on. Only the service key's role (service_role, used by the app server) has a",
        "-- policy and grants; the anon and authenticated keys can read or change nothing.",
    ]
    for table in s.metadata.sorted_tables:
        t = table.name
        out += [
            f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY;",
            f"DROP POLICY IF EXISTS meterline_service_role ON {t};",
            f"CREATE POLICY meterline_service_role ON {t} AS PERMISSIVE FOR ALL TO service_role "
            "USING (true) WITH CHECK (true);",
            f"REVOKE ALL ON {t} FROM PUBLIC, {denied};",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON {t} TO service_role;",
        ]
        if any(c.primary_key and c.autoincrement is True for c in table.columns):
            seq = f"{t}_id_seq"
            out += [f"REVOKE ALL ON SEQUENCE {seq} FROM PUBLIC, {denied};",
                    f"GRANT USAGE, SELECT ON SEQUENCE {seq} TO service_role;"]
    out.append(
        "-- Views and functions defined above (database/supabase/*.sql): service_role only.\n"
        "DO $$\nDECLARE o record;\nBEGIN\n"
        "  FOR o IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace\n"
        "           WHERE n.nspname = current_schema() AND c.relkind = 'v'\n"
        "             AND c.relname = ANY (meterline_view_names()) LOOP\n"
        f"    EXECUTE format('REVOKE ALL ON %I FROM PUBLIC, {denied}', o.relname);\n"
        "    EXECUTE format('GRANT SELECT ON %I TO service_role', o.relname);\n"
        "  END LOOP;\n"
        "  FOR o IN SELECT p.oid::regprocedure AS fn FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace\n"
        "           WHERE n.nspname = current_schema() AND p.proname LIKE 'meterline\\_%' LOOP\n"
        f"    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, {denied}', o.fn);\n"
        "    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO service_role', o.fn);\n"
        "  END LOOP;\n"
        "END $$;")
    return out


def hand_written_sql() -> list[str]:
    out = []
    for path in sorted(PARTS.glob("*.sql")):
        out.append(f"-- ---- database/supabase/{path.name} ----")
        out.append(path.read_text().strip())
    return out


def sections() -> list[tuple[str, list[str]]]:
    """The file's parts in order, by name. The upgrades come before the tables (set aside) and
    between the tables and the triggers (copy): a trigger must not fire on a migrated row."""
    return [
        ("begin", [HEADER, "BEGIN;", "SET LOCAL search_path = public;", f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK});"]),
        ("roles", roles_sql()), ("upgrade_v2", legacy_v2_sql()), ("set_aside", set_aside_sql()),
        ("tables", tables_sql()), ("copy", copy_sql()), ("triggers", triggers_sql()), ("seed", seed_sql()),
        ("functions", hand_written_sql()), ("security", security_sql()), ("scopes", scope_sql()),
        ("commit", ["COMMIT;"]),
    ]


def build(skip: tuple[str, ...] = ()) -> str:
    """The file; `skip` leaves sections out (tests: the upgrade without database/supabase/*.sql)."""
    parts = [x for name, part in sections() if name not in skip for x in part]
    return "\n\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.export_supabase_schema", description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the committed file differs from the schema")
    ap.add_argument("--out", type=Path, default=OUT, help=f"output file (default {OUT.relative_to(ROOT)})")
    args = ap.parse_args(argv)
    text = build()
    if args.check:
        current = args.out.read_text() if args.out.exists() else ""
        if current != text:
            print(f"{args.out} is out of date with database/schema.py or database/supabase/*.sql; "
                  "run: python -m scripts.export_supabase_schema")
            return 1
        print(f"{args.out} is current")
        return 0
    args.out.write_text(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
