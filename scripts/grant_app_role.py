"""Let the app run as a PostgreSQL role that does not own the tables, with only what it needs.

    python -m scripts.grant_app_role meterline_app --database-url postgresql://owner@db.example.com/meterline
    python -m scripts.grant_app_role meterline_app --print        # show the statements, change nothing

Run it as the role that owns the tables (or will: on an empty database it creates the schema),
after creating the app's login role yourself (`CREATE ROLE meterline_app LOGIN PASSWORD '...'`;
this script never handles passwords), and again after every upgrade of Meterline: it first
brings the schema up to date (as the owner may), then replaces the role's table privileges with
exactly these:

- SELECT, INSERT, UPDATE on the tables the app changes; no UPDATE on the append-only tables
  (payments, payment_events, audit_log, period_locks, meter_changes); DELETE only on account_motors (a master data
  import moves a flat to another motor); schema_info read-only; TRUNCATE on nothing;
- USAGE, SELECT on the tables' sequences; USAGE on the schema; EXECUTE on Meterline's functions.

A role that does not own a table cannot drop, disable or replace its triggers, so the rules the
database holds (period locks, immutable bills, append-only tables) hold even against the app's
own credentials. Then set DATABASE_URL to connect as that role; the app checks at start that the
schema is current and, when it is not, says to run this script again.
"""
from __future__ import annotations

import argparse
import sys

import sqlalchemy as sa

from database import schema as s
from database.migrations import apply_schema

# Tables whose rows are never changed or deleted by the app (triggers refuse it anyway).
APPEND_ONLY = ("payments", "payment_events", "audit_log", "period_locks", "meter_changes", "bill_lines",
               "tariff_plan_versions")
READ_ONLY = ("schema_info",)
# The only table the app deletes rows from.
DELETABLE = ("account_motors",)


def table_privileges(table: str) -> tuple[str, ...]:
    """What the app needs on one table. A table added later gets SELECT, INSERT, UPDATE."""
    if table in READ_ONLY:
        return ("SELECT",)
    if table in APPEND_ONLY:
        return ("SELECT", "INSERT")
    return ("SELECT", "INSERT", "UPDATE") + (("DELETE",) if table in DELETABLE else ())


def statements(role: str, quote) -> list[str]:
    r = quote(role)
    out = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {r}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {r}",
        f"GRANT USAGE ON SCHEMA public TO {r}",
    ]
    for table in s.metadata.sorted_tables:
        out.append(f"GRANT {', '.join(table_privileges(table.name))} ON {quote(table.name)} TO {r}")
    out.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {r}")
    out.append(
        "DO $$ DECLARE f regprocedure; BEGIN "
        "FOR f IN SELECT p.oid::regprocedure FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND p.proname LIKE 'meterline\\_%' "
        f"LOOP EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f, {_literal(role)}); END LOOP; END $$")
    return out


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def grant(engine: sa.engine.Engine, role: str, *, execute: bool = True) -> list[str]:
    """Upgrade the schema (as its owner), then grant `role` what the app needs. Returns the statements."""
    if engine.dialect.name != "postgresql":
        raise SystemExit("grant_app_role is for PostgreSQL; SQLite has no roles.")
    with engine.connect() as conn:
        found = conn.execute(sa.text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"),
                             {"r": role}).first()
        me = conn.execute(sa.text("SELECT current_user")).scalar()
    if found is None:
        raise SystemExit(f"role {role!r} does not exist; create it first, as an administrator: "
                         f"CREATE ROLE {role} LOGIN PASSWORD '...'")
    if found.rolsuper:
        raise SystemExit(f"role {role!r} is a superuser: it bypasses every privilege and trigger rule. "
                         "Use a plain LOGIN role for the app.")
    if role == me:
        raise SystemExit(f"role {role!r} is the role running this script (the tables' owner); the app role must be "
                         "another role.")
    stmts = statements(role, engine.dialect.identifier_preparer.quote)
    if execute:
        apply_schema(engine)
        with engine.begin() as conn:
            for stmt in stmts:
                conn.execute(sa.text(stmt))
    return stmts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.grant_app_role", description=__doc__.split("\n\n")[0],
                                 epilog="See docs/scale-and-benchmarks.md, 'Running as a role that does not own the tables'.")
    ap.add_argument("role", help="the existing PostgreSQL login role the app will connect as")
    ap.add_argument("--database-url", help="URL connecting as the tables' owner (default: DATABASE_URL)")
    ap.add_argument("--print", dest="print_only", action="store_true",
                    help="print the GRANT/REVOKE statements and change nothing")
    args = ap.parse_args(argv)
    from services.config import Settings
    from services.storage.sql_common import make_engine

    url = args.database_url or Settings.from_env().database_url
    if not url or not url.startswith("postgres"):
        ap.error("a PostgreSQL URL is needed: --database-url postgresql://OWNER@HOST/DB (or DATABASE_URL)")
    engine = make_engine(url)
    try:
        stmts = grant(engine, args.role, execute=not args.print_only)
    finally:
        engine.dispose()
    print("\n".join(s_ + ";" for s_ in stmts))
    print(f"-- {'not applied (--print)' if args.print_only else 'applied'}: role {args.role} has what the app needs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
