"""Create or upgrade a database to the current schema.

`apply_schema(engine)` is idempotent: it creates missing tables and indexes, (re)creates the
rule triggers, seeds the reference rows every database needs (the November 2025 lock), and
records the schema version. Later schema changes append a step to MIGRATIONS; a database
records the last step it ran in schema_info.

On PostgreSQL the app may run as a role that does not own the tables (see
scripts/grant_app_role.py): such a role cannot run DDL, so apply_schema only checks that the
schema is the one this code expects (the version and a fingerprint of every table, index and
trigger statement, recorded in schema_info by the owner's last apply) and says how to upgrade it
when it is not.
"""
from __future__ import annotations

import hashlib
import logging
from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from database import bill_numbers
from database import schema as s
from database.triggers import statements_for
from services.errors import ConfigurationError
from services.billing.periods import month_bounds

log = logging.getLogger(__name__)

# The month the original system locked to protect historical data (seed 002).
DEFAULT_LOCKED_MONTHS = (("2025-11", "November 2025 is locked to protect historical data"),)


def _baseline(conn: Connection) -> None:
    from database.legacy import schema_v2

    schema_v2.metadata.create_all(conn, checkfirst=True)


def _bill_coverage(conn: Connection) -> None:
    from database import billing_upgrade
    from database.legacy import schema_v2

    _add_missing_columns(conn, schema_v2.metadata)  # bills.first_reading_id / superseded_by, payments.credit_from_bill
    billing_upgrade.upgrade(conn)


def _three_utilities(conn: Connection) -> None:
    from database import upgrade_v3

    upgrade_v3.upgrade(conn)


# Ordered (version, step). Version 1 is the baseline schema. An empty database is created at the
# latest version directly; the steps upgrade a database an earlier Meterline made.
MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (1, _baseline),
    (2, _bill_coverage),  # bill_readings, status superseded (database/billing_upgrade.py)
    (3, _three_utilities),  # utility settings, areas, accounts, plans, bill lines (database/upgrade_v3.py)
]
LATEST = MIGRATIONS[-1][0]


def index_names(conn: Connection, table: str) -> set[str]:
    """The names of a table's indexes, expression indexes too (uq_users_username_lower), which SQLite's
    reflection skips with a warning."""
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
        names = {i["name"] for i in sa.inspect(conn).get_indexes(table)}
    if conn.dialect.name == "sqlite":
        names |= {r[0] for r in conn.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND name IS NOT NULL", (table,))}
    return names


def _create_missing_indexes(conn: Connection) -> None:
    """create_all adds an index only with its new table; an index added later to schema.py (an
    additive change) is created here on existing databases too."""
    existing = {t: index_names(conn, t) for t in s.metadata.tables}
    for table in s.metadata.sorted_tables:
        for index in table.indexes:
            if index.name not in existing.get(table.name, set()):
                index.create(conn)


def _add_missing_columns(conn: Connection, metadata: sa.MetaData = s.metadata) -> None:
    """A column added later to an existing table in schema.py (an additive change: nullable, or
    with a server default) is added here on existing databases too. Constraints that need a
    table rebuild are not: those changes are numbered MIGRATIONS steps."""
    inspector = sa.inspect(conn)
    for table in metadata.sorted_tables:
        if not inspector.has_table(table.name):
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            ddl = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
            conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))


def current_version(conn: Connection) -> int:
    if not sa.inspect(conn).has_table("schema_info"):
        return 0
    row = conn.execute(sa.select(s.schema_info.c.value).where(s.schema_info.c.key == "version")).first()
    return int(row[0]) if row else 0


def _set_version(conn: Connection, version: int) -> None:
    updated = conn.execute(
        s.schema_info.update().where(s.schema_info.c.key == "version").values(value=str(version))
    ).rowcount
    if not updated:
        conn.execute(s.schema_info.insert().values(key="version", value=str(version)))


def schema_fingerprint(dialect) -> str:
    """A digest of everything apply_schema creates on this dialect: tables, indexes, triggers."""
    h = hashlib.sha256()
    for table in s.metadata.sorted_tables:
        h.update(str(sa.schema.CreateTable(table).compile(dialect=dialect)).encode())
        for index in sorted(table.indexes, key=lambda i: str(i.name)):
            h.update(str(sa.schema.CreateIndex(index).compile(dialect=dialect)).encode())
    for stmt in statements_for(dialect.name):
        h.update(stmt.encode())
    return h.hexdigest()[:32]


UPGRADE_HINT = ("As the role that owns the tables, run: python -m scripts.grant_app_role APP_ROLE --database-url "
                "postgresql://OWNER@HOST/DB (it upgrades the schema, then grants APP_ROLE what the app needs).")


def _may_change_schema(conn: Connection) -> bool:
    """PostgreSQL: whether this role may run DDL here (it owns the tables, or they do not exist yet)."""
    owner = conn.execute(sa.text("SELECT relowner FROM pg_class WHERE oid = to_regclass('schema_info')")).scalar()
    if owner is None:
        if not conn.execute(sa.text("SELECT has_schema_privilege(current_schema(), 'CREATE')")).scalar():
            role = conn.execute(sa.text("SELECT current_user")).scalar()
            raise ConfigurationError(f"The database has no Meterline schema and role {role} may not create one. "
                                     f"{UPGRADE_HINT}")
        return True
    return bool(conn.execute(sa.text("SELECT pg_has_role(current_user, CAST(:o AS oid), 'USAGE')"), {"o": owner}).scalar())


def _check_current(conn: Connection) -> int:
    """A role that does not own the tables: the schema must be exactly what this code expects."""
    version = current_version(conn)
    stored = conn.execute(sa.select(s.schema_info.c.value).where(s.schema_info.c.key == "fingerprint")).scalar()
    latest = MIGRATIONS[-1][0]
    if version != latest or stored != schema_fingerprint(conn.dialect):
        role = conn.execute(sa.text("SELECT current_user")).scalar()
        raise ConfigurationError(
            f"The database schema (version {version}) is not the one this Meterline expects (version {latest}, "
            f"fingerprint {schema_fingerprint(conn.dialect)[:12]}), and role {role} does not own the tables, so it "
            f"cannot upgrade it. {UPGRADE_HINT}")
    return version


def _set_value(conn: Connection, key: str, value: str) -> None:
    updated = conn.execute(s.schema_info.update().where(s.schema_info.c.key == key).values(value=value)).rowcount
    if not updated:
        conn.execute(s.schema_info.insert().values(key=key, value=value))


def apply_schema(engine: Engine) -> int:
    """Bring the database up to date; return the schema version."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two processes starting on an empty database must not both create tables.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7460001)"))
            if not _may_change_schema(conn):
                return _check_current(conn)
        version = current_version(conn)
        if version == 0 and not sa.inspect(conn).has_table("bills"):
            s.metadata.create_all(conn)  # a new database: the current schema, no upgrade steps
            version = LATEST
        for step_version, step in MIGRATIONS:
            if step_version > version:
                step(conn)
                version = step_version
        s.metadata.create_all(conn, checkfirst=True)
        _add_missing_columns(conn)
        _create_missing_indexes(conn)
        for stmt in statements_for(conn.dialect.name):
            conn.execute(sa.text(stmt))
        _name_search_index(conn)
        bill_numbers.backfill(conn)  # bills stored before bill numbers existed (a no-op otherwise)
        _seal_existing_bills(conn)  # bills stored before the bill chain existed (once; docs/trust.md)
        _fill_bill_totals(conn)  # bills stored before the summary rows existed (once)
        _seed_locks(conn)
        _set_version(conn, version)
        _set_value(conn, "fingerprint", schema_fingerprint(conn.dialect))
    return version


# Contact and account names are searched for any part of them ('%kapoor%'), which no btree serves:
# pg_trgm's trigram indexes do (the bills list searched at 300,000 flats: 373 ms to 50 ms). The extension is
# optional: PostgreSQL ships it in contrib and lets a database owner create it (it is trusted), a
# Supabase project has it; where it cannot be created the search scans the names, as it did before.
# It is kept out of the schema fingerprint, so a database with it and one without are one schema.
NAME_SEARCH_INDEXES = (
    "CREATE INDEX IF NOT EXISTS ix_contacts_name_trgm ON contacts USING gin (name gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS ix_accounts_name_trgm ON accounts USING gin (name gin_trgm_ops)",  # the accounts list
)


def _name_search_index(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":  # FTS5 trigram tables, kept by triggers (database/name_search.py)
        from database import name_search

        if not conn.execute(sa.select(s.schema_info.c.value).where(s.schema_info.c.key == "name_search")).scalar():
            name_search.fill_sqlite(conn)
            _set_value(conn, "name_search", "indexed")
        return
    if conn.dialect.name != "postgresql":
        return
    try:
        with conn.begin_nested():
            conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
            for stmt in NAME_SEARCH_INDEXES:
                conn.execute(sa.text(stmt))
    except sa.exc.DBAPIError as exc:
        log.warning("Contact names are searched without an index: pg_trgm could not be enabled (%s).",
                    str(exc.orig).strip().splitlines()[0])


def _seal_existing_bills(conn: Connection) -> None:
    """The first start after issue 20 seals the bills already stored, in id order (then records that
    it did, so later starts cost one key lookup). Bills written afterwards are sealed as they are stored."""
    from database import bill_chain

    done = conn.execute(sa.select(s.schema_info.c.value).where(s.schema_info.c.key == "bill_chain")).scalar()
    if done:
        return
    bill_chain.seal_unsealed(conn)
    _set_value(conn, "bill_chain", "sealed")


def _fill_bill_totals(conn: Connection) -> None:
    """The first start after the summary rows existed computes them from the bills already stored; from
    then on the triggers keep them (database/bill_totals.py)."""
    from database import bill_totals

    if conn.execute(sa.select(s.schema_info.c.value).where(s.schema_info.c.key == "bill_totals")).scalar():
        return
    bill_totals.rebuild(conn)
    _set_value(conn, "bill_totals", "filled")


def _seed_locks(conn: Connection) -> None:
    for month, reason in DEFAULT_LOCKED_MONTHS:
        exists = conn.execute(sa.select(s.period_locks.c.id).where(s.period_locks.c.month == month)).first()
        if not exists:
            count = conn.execute(
                sa.select(sa.func.count()).select_from(s.bills).where(
                    s.bills.c.billing_period_end.between(*month_bounds(month))
                )
            ).scalar_one()
            conn.execute(s.period_locks.insert().values(
                month=month, reason=reason, locked_by="system", bill_count_at_lock=count,
            ))
