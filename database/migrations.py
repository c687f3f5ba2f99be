"""Create or upgrade a database to the current schema.

`apply_schema(engine)` is idempotent: it creates missing tables and indexes, (re)creates the
rule triggers, seeds the reference rows every database needs (the November 2025 lock), and
records the schema version. Later schema changes append a step to MIGRATIONS; a database
records the last step it ran in schema_info.
"""
from __future__ import annotations

from typing import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from database import schema as s
from database.triggers import statements_for
from services.periods import month_bounds

# The month the original system locked to protect historical data (seed 002).
DEFAULT_LOCKED_MONTHS = (("2025-11", "November 2025 is locked to protect historical data"),)


def _baseline(conn: Connection) -> None:
    s.metadata.create_all(conn, checkfirst=True)


def _bill_coverage(conn: Connection) -> None:
    from database import billing_upgrade

    _add_missing_columns(conn)  # bills.first_reading_id / superseded_by, payments.credit_from_bill
    billing_upgrade.upgrade(conn)


# Ordered (version, step). Version 1 is the baseline schema.
MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (1, _baseline),
    (2, _bill_coverage),  # bill_readings, status superseded (database/billing_upgrade.py)
]


def _create_missing_indexes(conn: Connection) -> None:
    """create_all adds an index only with its new table; an index added later to schema.py (an
    additive change) is created here on existing databases too."""
    existing = {t: {i["name"] for i in sa.inspect(conn).get_indexes(t)} for t in s.metadata.tables}
    for table in s.metadata.sorted_tables:
        for index in table.indexes:
            if index.name not in existing.get(table.name, set()):
                index.create(conn)


def _add_missing_columns(conn: Connection) -> None:
    """A column added later to an existing table in schema.py (an additive change: nullable, or
    with a server default) is added here on existing databases too. Constraints that need a
    table rebuild are not: those changes are numbered MIGRATIONS steps."""
    inspector = sa.inspect(conn)
    for table in s.metadata.sorted_tables:
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


def apply_schema(engine: Engine) -> int:
    """Bring the database up to date; return the schema version."""
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Two processes starting on an empty database must not both create tables.
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(7460001)"))
        version = current_version(conn)
        for step_version, step in MIGRATIONS:
            if step_version > version:
                step(conn)
                version = step_version
        s.metadata.create_all(conn, checkfirst=True)
        _add_missing_columns(conn)
        _create_missing_indexes(conn)
        for stmt in statements_for(conn.dialect.name):
            conn.execute(sa.text(stmt))
        _seed_locks(conn)
        _set_version(conn, version)
    return version


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
