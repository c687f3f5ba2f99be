"""Schema step 3 (database/migrations.py): from version 2 (a housing society's flats, bills without
lines) to the three-utility core (utility settings, areas, accounts, tariff plans, bill lines), in
place, in the caller's one transaction, on SQLite and PostgreSQL. Nothing is lost: every row keeps
its id (bills, readings, payments, users, audit rows ... are referenced from outside).

How:
1. The version-2 shape is completed (tables and columns a version-1 database may lack).
2. Set aside: every version-2 table but schema_info is renamed v2_<name>. SQLite: the triggers and
   the indexes of those tables are dropped first (index names are global there, and the rename
   re-parses every trigger). PostgreSQL (`SET_ASIDE_SQL`): the REST backend's views and functions
   are dropped (database/supabase/*.sql recreates them; triggers.py recreates the one the SQL
   backend uses), and each table's indexes and id sequence are renamed v2_<name> with it.
3. The version-3 tables are created (database/schema.py).
4. Copy (`copy_statements`): set-based INSERT ... SELECT, ids kept; then checks that every row
   arrived and that every bill's lines add up to its total (a failure raises, and the caller's
   transaction rolls back); the v2_ tables are dropped, children first; PostgreSQL's sequences
   are set past the highest id and its statistics taken; one audit_log row `schema.upgrade`
   records the step.
The caller (apply_schema) then creates the version-3 triggers and seeds and records version 3.
The Supabase file runs the same PostgreSQL text: SET_ASIDE_SQL before its tables, copy_sql()
after them (scripts/export_supabase_schema.py); both are no-ops on a version-3 database.

Mapping (DESIGN12.md):
- utility_settings: the `society` template; tariff_plans / tariff_plan_versions: the society plan
  (data/tariffs/society.toml, params as JSON exactly as save_tariff_plan stores them).
- areas: Block (level 1: code = flats.block, name "Block X", path "X", sort_order by code) > Floor
  (level 2: code = floors.code, name = floors.name, path "X/FF", sort_order = floors.sort_order),
  one per block and per (block, floor) pair some flat uses; floors and flat types no flat uses are
  not carried over (nothing refers to them; a flat type's bhk is its name's number). A flat with
  an empty block sits under the level-1 area UNASSIGNED ("Block not recorded"), one with no floor
  under <block>/UNASSIGNED ("Floor not recorded"): every account is in a leaf at level 2, and
  UNASSIGNED (10 characters) cannot be a real block or floor code (8 at most).
- accounts = flats (id, code, area, category = flat type name, account_type 'flat', is_active,
  created_at; name = the primary owner's name or ''); contacts = owners (address NULL);
  account_contacts = flat_owners (role 'owner'); account_motors = flat_motors; one
  service_connection per account (id = account id, electricity, the society plan, active).
- meters: account_id = flat_id, electricity, kWh (a shared motor's meter too). notifications:
  contact_id = owner_id. bill_runs: service electricity, every area. Every other table as it is.
- bills: account_id = flat_id, electricity, the account's area and category, version 1 of the
  society plan (migrated bills keep their own rate and fixed charge: TariffRules.recompute
  recomputes a flat_rate bill from its columns, whatever its dates), units = flat_units,
  last_reading_id = flat_reading_id, tariff_details as it was.
- bill_lines, as services/tariffs/flat_rate.py writes them for a new bill, so old and new bills
  read the same: 1 energy ((units + motor units) x rate, rounded half-up to 2 places, labelled
  "Energy: 150.00 kWh + 12.50 kWh shared motor"), 2 fixed (always, as for a new bill; "(none at
  the special rate)" for the special_9 rule), 3 arrears (previous_outstanding, when > 0). The
  fixed charge and arrears have 2 places, so the lines add up to the seed's rounded-once total.
"""
from __future__ import annotations

import functools
import json
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from database import schema as s
from database.legacy import schema_v2 as v2

ROOT = Path(__file__).resolve().parent.parent
UNASSIGNED = "UNASSIGNED"
SERVICE, UNIT = "electricity", "kWh"
OLD_TABLES = tuple(t.name for t in v2.metadata.sorted_tables if t.name != "schema_info")  # parents first
CHECK_MESSAGE = "UPGRADE_V3"

# Version-2 tables that become version-3 tables of another name, and how each of their columns
# lands; the same-named tables are copied column for column (checked in _same_name_copies).
RENAMED_COLUMNS = {
    ("bills", "flat_id"): "account_id", ("bills", "flat_units"): "units",
    ("bills", "flat_reading_id"): "last_reading_id", ("meters", "flat_id"): "account_id",
    ("notifications", "owner_id"): "contact_id",
}
ADDED_VALUES = {  # version-3 columns of same-named tables that version 2 has no value for
    ("meters", "service"): f"'{SERVICE}'", ("meters", "unit"): f"'{UNIT}'",
    ("bill_runs", "service"): f"'{SERVICE}'",
}


@functools.cache
def society_plan():
    from services.accounts.utility import TEMPLATES
    from services.tariffs import TariffPlan

    return TariffPlan.load(ROOT / TEMPLATES["society"].plan_file)


# ---- SQL text ----------------------------------------------------------------------------------
class _Sql(str):
    """An SQL expression, written as is in a VALUES list."""


def _literal(value) -> str:
    if isinstance(value, _Sql):
        return value
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, dict)):
        value = json.dumps(value)
    return "'" + str(value).replace("'", "''") + "'"


def _values(table: str, row: dict) -> str:
    return f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join(_literal(x) for x in row.values())})"


def _reference_rows() -> list[str]:
    """The society's settings and tariff plan, as literal rows (the same text on every backend)."""
    from services.accounts.utility import TEMPLATES

    plan = society_plan().to_dict()
    out = [_values("utility_settings", {"id": 1, **TEMPLATES["society"].as_row(), "updated_by": "system"}),
           _values("tariff_plans", {k: plan[k] for k in ("code", "name", "kind", "service", "unit", "currency", "notes")})]
    for ver in plan["versions"]:
        out.append(_values("tariff_plan_versions", {
            "plan_id": _Sql(_plan_id_sql()), "version": ver["version"], "effective_from": ver["effective_from"],
            "params": ver["params"], "notes": ver["notes"], "created_by_name": "system"}))
    return out


def _plan_id_sql() -> str:
    return f"(SELECT id FROM tariff_plans WHERE code = {_literal(society_plan().code)})"


def _version_1_sql() -> str:
    return (f"(SELECT v.id FROM tariff_plan_versions v JOIN tariff_plans p ON p.id = v.plan_id "
            f"WHERE p.code = {_literal(society_plan().code)} AND v.version = 1)")


def _insert(table: str, columns: dict[str, str], source: str) -> str:
    return (f"INSERT INTO {table} ({', '.join(columns)})\nSELECT {', '.join(columns.values())}\n  FROM {source}")


def _same_name_copies() -> list[str]:
    """INSERT ... SELECT for every version-3 table that keeps its version-2 name (except bills,
    copied with its account's area and category). Every version-2 column lands somewhere."""
    out = []
    for table in s.metadata.sorted_tables:
        old = v2.metadata.tables.get(table.name)
        if old is None or table.name in ("schema_info", "bills"):
            continue
        target = {RENAMED_COLUMNS.get((table.name, c.name), c.name): c.name for c in old.columns}
        missing = [c for c in target if c not in table.c]
        if missing:
            raise AssertionError(f"{table.name}: version-2 columns {missing} have no place in version 3")
        cols = {c.name: target[c.name] if c.name in target else ADDED_VALUES.get((table.name, c.name))
                for c in table.columns}
        out.append(_insert(table.name, {k: x for k, x in cols.items() if x is not None}, f"v2_{table.name}"))
    return out


def _fmt2(expr: str, dialect: str) -> str:
    """A 2-place quantity as text ('150.00'), as str() of the stored Decimal reads."""
    return f"printf('%.2f', {expr})" if dialect == "sqlite" else f"CAST(CAST({expr} AS NUMERIC(14, 2)) AS TEXT)"


def _cents(expr: str) -> str:  # SQLite keeps NUMERIC as binary floating point: exact sums in whole paise
    return f"CAST(round({expr} * 100) AS INTEGER)"


def _line_statements(dialect: str) -> list[str]:
    """The lines of every migrated bill (flat_rate: energy, fixed, arrears), set-based."""
    from services.pricing_service import RULE_SPECIAL_9  # its fixed line says why it is 0

    units = "b.units + b.motor_units"
    if dialect == "sqlite":  # (paise x rate in 1/10000) rounded half-up to paise, all in integers
        quantity = f"({_cents('b.units')} + {_cents('b.motor_units')}) / 100.0"
        energy = (f"(({_cents('b.units')} + {_cents('b.motor_units')}) * CAST(round(b.rate_per_unit * 10000) AS INTEGER)"
                  " + 5000) / 10000 / 100.0")
    else:
        quantity, energy = units, f"round(({units}) * b.rate_per_unit, 2)"
    label = (f"'Energy: ' || {_fmt2('b.units', dialect)} || ' {UNIT}' || CASE WHEN b.motor_units > 0 "
             f"THEN ' + ' || {_fmt2('b.motor_units', dialect)} || ' {UNIT} shared motor' ELSE '' END")
    fixed_label = (f"CASE WHEN b.pricing_rule = '{RULE_SPECIAL_9}' THEN 'Fixed charge (none at the special rate)' "
                   "ELSE 'Fixed charge' END")
    cols = ("bill_id", "seq", "code", "label", "quantity", "unit", "rate", "amount")
    lines = [
        (("b.id", "1", "'energy'", label, quantity, f"'{UNIT}'", "b.rate_per_unit", energy), "bills b"),
        (("b.id", "2", "'fixed'", fixed_label, "1", "'month'", "b.fixed_charge", "b.fixed_charge"), "bills b"),
        (("b.id", "3", "'arrears'", "'Previous outstanding'", "NULL", "NULL", "NULL", "b.previous_outstanding"),
         "bills b WHERE b.previous_outstanding > 0"),
    ]
    return [_insert("bill_lines", dict(zip(cols, exprs)), source) for exprs, source in lines]


def copy_statements(dialect: str) -> list[str]:
    """Every INSERT ... SELECT of the copy, parents first (the version-3 tables are empty)."""
    block = f"CASE WHEN TRIM(f.block) = '' THEN '{UNASSIGNED}' ELSE f.block END"
    floor_code = f"COALESCE(fl.code, '{UNASSIGNED}')"
    flat_floor = "v2_flats f LEFT JOIN v2_floors fl ON fl.id = f.floor_id"
    by_table = {
        "areas": [
            f"""INSERT INTO areas (parent_id, level, code, name, path, sort_order)
SELECT NULL, 1, k.code, CASE WHEN k.code = '{UNASSIGNED}' THEN 'Block not recorded' ELSE 'Block ' || k.code END,
       k.code, CASE WHEN k.code = '{UNASSIGNED}' THEN 9999
                    ELSE row_number() OVER (ORDER BY CASE WHEN k.code = '{UNASSIGNED}' THEN 1 ELSE 0 END, k.code) - 1 END
  FROM (SELECT DISTINCT {block} AS code FROM v2_flats f) k""",
            f"""INSERT INTO areas (parent_id, level, code, name, path, sort_order)
SELECT p.id, 2, k.code, k.name, p.path || '/' || k.code, k.sort_order
  FROM (SELECT DISTINCT {block} AS block, {floor_code} AS code, COALESCE(fl.name, 'Floor not recorded') AS name,
               COALESCE(fl.sort_order, 9999) AS sort_order
          FROM {flat_floor}) k
  JOIN areas p ON p.level = 1 AND p.path = k.block""",
        ],
        "accounts": [_insert("accounts", {
            "id": "f.id", "code": "f.code", "name": "COALESCE(o.name, '')",
            "area_id": f"(SELECT a.id FROM areas a WHERE a.path = {block} || '/' || {floor_code})",
            "category": "ft.name", "account_type": "'flat'", "is_active": "f.is_active", "created_at": "f.created_at",
            "updated_at": "f.created_at"},
            f"{flat_floor} LEFT JOIN v2_flat_types ft ON ft.id = f.type_id\n"
            "  LEFT JOIN v2_flat_owners fo ON fo.flat_id = f.id AND fo.is_primary\n"
            "  LEFT JOIN v2_owners o ON o.id = fo.owner_id")],
        "contacts": [_insert("contacts", {"id": "id", "name": "name", "phone": "phone", "email": "email",
                                          "address": "NULL", "created_at": "created_at"}, "v2_owners")],
        "account_contacts": [_insert("account_contacts", {"id": "id", "account_id": "flat_id", "contact_id": "owner_id",
                                                          "role": "'owner'", "is_primary": "is_primary"}, "v2_flat_owners")],
        "account_motors": [_insert("account_motors", {"id": "id", "account_id": "flat_id", "motor_id": "motor_id"},
                                   "v2_flat_motors")],
        "service_connections": [_insert("service_connections", {
            "id": "id", "account_id": "id", "service": f"'{SERVICE}'", "tariff_plan_id": _plan_id_sql(),
            "is_active": "TRUE"}, "v2_flats")],
        "bills": [_insert("bills", {
            **{RENAMED_COLUMNS.get(("bills", c.name), c.name): f"b.{c.name}" for c in v2.bills.columns},
            "service": f"'{SERVICE}'", "area_id": "a.area_id", "category": "a.category",
            "tariff_plan_version_id": _version_1_sql()}, "v2_bills b JOIN accounts a ON a.id = b.flat_id")],
    }
    for stmt in _same_name_copies() + _reference_rows():
        by_table.setdefault(stmt.split()[2], []).append(stmt)
    by_table["bill_lines"] = _line_statements(dialect)
    out = [stmt for table in s.metadata.sorted_tables for stmt in by_table.pop(table.name, [])]
    if by_table:
        raise AssertionError(f"copies into unknown tables: {sorted(by_table)}")
    return out


def row_count_pairs() -> list[tuple[str, str]]:
    """(old table, new table) whose row counts must be equal after the copy."""
    pairs = [("v2_flats", "accounts"), ("v2_owners", "contacts"), ("v2_flat_owners", "account_contacts"),
             ("v2_flat_motors", "account_motors"), ("v2_flats", "service_connections")]
    pairs += [(f"v2_{t}", t) for t in OLD_TABLES if t in s.metadata.tables]
    return pairs


def _lines_off_sql(dialect: str) -> str:
    """Bills whose lines do not add up to their total (or that have none)."""
    total, amount = ("b.total_amount", "l.amount") if dialect != "sqlite" else (_cents("b.total_amount"), _cents("l.amount"))
    return (f"SELECT count(*), min(b.id) FROM bills b WHERE {total} <> "
            f"COALESCE((SELECT sum({amount}) FROM bill_lines l WHERE l.bill_id = b.id), -1)")


def _audit_sql(dialect: str) -> str:
    obj = "json_object" if dialect == "sqlite" else "jsonb_build_object"
    counts = ", ".join(f"'{t}', (SELECT count(*) FROM {t})" for t in ("accounts", "areas", "bills", "bill_lines"))
    return ("INSERT INTO audit_log (actor_name, action, entity_type, entity_id, details)\n"
            f"SELECT 'system', 'schema.upgrade', 'schema', '3', {obj}('from_version', CAST(value AS INTEGER), "
            f"'to_version', 3, {counts}) FROM schema_info WHERE key = 'version'")


# ---- PostgreSQL: the two blocks the Supabase file runs too ----------------------------------------
SET_ASIDE_SQL = f"""DO $$
DECLARE
  t text; ix record; fn record; seq text; views text;
BEGIN
  IF to_regclass('schema_info') IS NULL OR to_regclass('flats') IS NULL THEN RETURN; END IF;
  IF COALESCE((SELECT value::int FROM schema_info WHERE key = 'version'), 0) >= 3 THEN RETURN; END IF;
  -- The REST backend's views and functions read the old tables; database/supabase/*.sql makes them
  -- again (database/triggers.py the one the SQL backend uses). Trigger functions stay: replaced later.
  IF to_regprocedure('meterline_view_names()') IS NOT NULL THEN
    SELECT string_agg(quote_ident(v), ', ') INTO views FROM unnest(meterline_view_names()) v;
    IF views IS NOT NULL THEN EXECUTE 'DROP VIEW IF EXISTS ' || views; END IF;
  END IF;
  FOR fn IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
             WHERE n.nspname = current_schema() AND p.proname LIKE 'meterline\\_%'
               AND p.prorettype <> 'trigger'::regtype LOOP
    EXECUTE format('DROP FUNCTION %s', fn.sig);
  END LOOP;
  -- Each old table, its indexes (constraints' too) and its id sequence become v2_<name>.
  FOREACH t IN ARRAY ARRAY[{', '.join(f"'{t}'" for t in OLD_TABLES)}] LOOP
    IF to_regclass(t) IS NULL THEN
      RAISE EXCEPTION '{CHECK_MESSAGE}: table % of schema version 2 is missing', t;
    END IF;
    seq := NULL;
    IF EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(t) AND attname = 'id' AND NOT attisdropped) THEN
      seq := pg_get_serial_sequence(t, 'id');
    END IF;
    EXECUTE format('ALTER TABLE %I RENAME TO %I', t, 'v2_' || t);
    FOR ix IN SELECT i.indexrelid::regclass AS name, c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
               WHERE i.indrelid = to_regclass('v2_' || t) LOOP
      EXECUTE format('ALTER INDEX %s RENAME TO %I', ix.name, 'v2_' || ix.relname);
    END LOOP;
    IF seq IS NOT NULL THEN
      EXECUTE format('ALTER SEQUENCE %s RENAME TO %I', seq, 'v2_' || t || '_id_seq');
    END IF;
  END LOOP;
END $$"""


def copy_sql() -> str:
    """PostgreSQL: the copy, its checks, the drop of the v2_ tables, the sequences and the audit row,
    as one block that does nothing unless the old tables were set aside (v2_flats exists)."""
    counts = "\n".join(
        f"  IF (SELECT count(*) FROM {old}) <> (SELECT count(*) FROM {new}) THEN\n"
        f"    RAISE EXCEPTION '{CHECK_MESSAGE}: {new} has % rows, {old} had %', "
        f"(SELECT count(*) FROM {new}), (SELECT count(*) FROM {old});\n  END IF;"
        for old, new in row_count_pairs())
    sequences = "\n".join(
        f"  PERFORM setval(pg_get_serial_sequence('{t.name}', 'id'), COALESCE((SELECT max(id) FROM {t.name}), 0) + 1, false);"
        for t in s.metadata.sorted_tables if any(c.primary_key and c.autoincrement is True for c in t.columns))
    drops = "\n".join(f"  DROP TABLE v2_{t};" for t in reversed(OLD_TABLES))
    copies = "\n".join(f"  {stmt.replace(chr(10), chr(10) + '  ')};" for stmt in copy_statements("postgresql"))
    return f"""DO $$
DECLARE
  bad bigint; first_bad bigint;
BEGIN
  IF to_regclass('v2_flats') IS NULL THEN RETURN; END IF;
{copies}
  -- Every row arrived, and every bill's lines add up to its total.
{counts}
  {_lines_off_sql("postgresql")} INTO bad, first_bad;
  IF bad > 0 THEN
    RAISE EXCEPTION '{CHECK_MESSAGE}: the lines of % bills (the first: #%) do not add up to their totals', bad, first_bad;
  END IF;
{drops}
{sequences}
  {_audit_sql("postgresql")};
  -- Statistics now, not when autovacuum gets to the new tables: the first pages would be planned blind.
  ANALYZE {", ".join(t.name for t in s.metadata.sorted_tables)};
END $$"""


# ---- the step --------------------------------------------------------------------------------------
def _text(sql: str) -> sa.TextClause:
    return sa.text(sql.replace(":", r"\:"))  # no bind parameters: every colon is literal


def complete_v2_shape(conn: Connection) -> None:
    """Tables and columns of version 2 that a database upgraded from version 1 may lack."""
    from database.migrations import _add_missing_columns

    v2.metadata.create_all(conn, checkfirst=True)
    _add_missing_columns(conn, v2.metadata)


def _sqlite_set_aside(conn: Connection) -> None:
    old = ", ".join(f"'{t}'" for t in OLD_TABLES)
    for kind in ("trigger", "index"):  # autoindexes (sql NULL) of UNIQUE constraints follow the rename
        for (name,) in conn.exec_driver_sql(f"SELECT name FROM sqlite_master WHERE type = '{kind}' "
                                            f"AND sql IS NOT NULL AND tbl_name IN ({old})").all():
            conn.exec_driver_sql(f'DROP {kind.upper()} "{name}"')
    for t in OLD_TABLES:
        conn.exec_driver_sql(f"ALTER TABLE {t} RENAME TO v2_{t}")  # references to it follow (SQLite >= 3.26)


def _sqlite_check(conn: Connection) -> None:
    for old, new in row_count_pairs():
        n_old = conn.exec_driver_sql(f"SELECT count(*) FROM {old}").scalar_one()
        n_new = conn.exec_driver_sql(f"SELECT count(*) FROM {new}").scalar_one()
        if n_old != n_new:
            raise RuntimeError(f"{CHECK_MESSAGE}: {new} has {n_new} rows, {old} had {n_old}")
    bad, first = conn.exec_driver_sql(_lines_off_sql("sqlite")).one()
    if bad:
        raise RuntimeError(f"{CHECK_MESSAGE}: the lines of {bad} bills (the first: #{first}) do not add up to their totals")


def _sqlite_drop_old(conn: Connection) -> None:
    """Children first. With foreign keys on, DROP TABLE deletes the rows first and looks up, for each,
    the rows that reference it: only the table's own (its children are gone), by an index on each
    self-referencing column (the table's indexes were dropped), not a scan per row."""
    for name in reversed(OLD_TABLES):
        table = v2.metadata.tables[name]
        for fk in table.foreign_keys:
            if fk.column.table is table:
                col = fk.parent.name
                conn.exec_driver_sql(f"CREATE INDEX v2_fk_{name}_{col} ON v2_{name} ({col})")
        conn.exec_driver_sql(f"DROP TABLE v2_{name}")


def upgrade(conn: Connection) -> None:
    complete_v2_shape(conn)
    if conn.dialect.name == "postgresql":
        conn.execute(_text(SET_ASIDE_SQL))
        if conn.execute(sa.text("SELECT to_regclass('v2_flats')")).scalar() is None:
            raise RuntimeError(f"{CHECK_MESSAGE}: the version-2 tables were not set aside (is this a version-2 database?)")
        s.metadata.create_all(conn)
        conn.execute(_text(copy_sql()))
        return
    _sqlite_set_aside(conn)
    s.metadata.create_all(conn)
    for stmt in copy_statements("sqlite"):
        conn.execute(_text(stmt))
    _sqlite_check(conn)
    _sqlite_drop_old(conn)
    conn.execute(_text(_audit_sql("sqlite")))
