"""database/supabase_schema.sql on the real PostgreSQL server: it is current, idempotent, the same
schema SqlStorage creates, locked down to the service role, and its rule triggers hold."""
import subprocess
import sys

import psycopg
import pytest

from database.schema import SCHEMA_VERSION
from scripts import export_supabase_schema
from tests.supabase.pgutil import apply_schema_file, dsn, fresh_supabase_db

CATALOG = {
    "tables": """SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1""",
    "columns": """SELECT table_name, column_name, data_type, character_maximum_length, numeric_precision,
                         numeric_scale, is_nullable, column_default, ordinal_position
                    FROM information_schema.columns c
                    JOIN pg_class t ON t.relname = c.table_name AND t.relkind = 'r'
                   WHERE c.table_schema = 'public' ORDER BY 1, 2""",
    "constraints": """SELECT cl.relname, co.conname, co.contype, pg_get_constraintdef(co.oid)
                        FROM pg_constraint co JOIN pg_class cl ON cl.oid = co.conrelid
                        JOIN pg_namespace n ON n.oid = cl.relnamespace
                       WHERE n.nspname = 'public' AND cl.relkind = 'r' ORDER BY 1, 2""",
    "indexes": """SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'
                   AND tablename IN (SELECT relname FROM pg_class WHERE relkind = 'r') ORDER BY 1, 2""",
    "triggers": """SELECT c.relname, t.tgname, pg_get_triggerdef(t.oid) FROM pg_trigger t
                     JOIN pg_class c ON c.oid = t.tgrelid WHERE NOT t.tgisinternal ORDER BY 1, 2""",
    "trigger_functions": """SELECT p.proname, md5(p.prosrc) FROM pg_proc p JOIN pg_trigger t ON t.tgfoid = p.oid
                              WHERE NOT t.tgisinternal GROUP BY 1, 2 ORDER BY 1""",
    "sequences": """SELECT sequencename, data_type FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1""",
}


def catalog(conninfo: str) -> dict:
    with psycopg.connect(conninfo) as conn:
        return {k: conn.execute(q).fetchall() for k, q in CATALOG.items()}


def test_committed_file_is_current():
    """Regenerating from database/schema.py changes nothing (run the export script if this fails)."""
    proc = subprocess.run([sys.executable, "-m", "scripts.export_supabase_schema", "--check"],
                          cwd=export_supabase_schema.ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_check_flags_a_stale_file(tmp_path):
    stale = tmp_path / "schema.sql"
    stale.write_text(export_supabase_schema.build().replace("CREATE TABLE IF NOT EXISTS bills", "CREATE TABLE bills"))
    assert export_supabase_schema.main(["--check", "--out", str(stale)]) == 1
    assert export_supabase_schema.main(["--out", str(stale)]) == 0
    assert export_supabase_schema.main(["--check", "--out", str(stale)]) == 0


def test_same_schema_as_sqlalchemy_and_idempotent(pg_server):
    from services.storage.sql_backend import SqlStorage

    name = fresh_supabase_db(pg_server, with_schema=False)
    apply_schema_file(dsn(pg_server, name), times=2)  # the second run must change nothing
    supabase = catalog(dsn(pg_server, name))
    url = pg_server.fresh_url(with_schema=False)
    SqlStorage(url).dispose()
    sqlalchemy = catalog(dsn(pg_server, url.rsplit("/", 1)[1]))
    assert ("bills",) in supabase["tables"] and ("audit_log",) in supabase["tables"]
    for part in CATALOG:
        assert supabase[part] == sqlalchemy[part], part
    with psycopg.connect(dsn(pg_server, name)) as c:
        assert c.execute("SELECT month, locked_by FROM period_locks").fetchall() == [("2025-11", "system")]
        assert c.execute("SELECT value FROM schema_info WHERE key = 'version'").fetchone()[0] == str(SCHEMA_VERSION)
        assert c.execute("SELECT count(*) FROM audit_log").fetchone()[0] == 0


def test_every_table_has_rls_and_nothing_for_anon(pg_server):
    name = fresh_supabase_db(pg_server)
    with psycopg.connect(dsn(pg_server, name)) as c:
        no_rls = c.execute("""SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                               WHERE n.nspname = 'public' AND relkind = 'r' AND NOT relrowsecurity""").fetchall()
        assert no_rls == []
        for role in ("anon", "authenticated"):
            readable = c.execute("""SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                     WHERE n.nspname = 'public' AND relkind IN ('r', 'v')
                                       AND has_table_privilege(%s, c.oid, 'SELECT')""", [role]).fetchall()
            assert readable == [], role
            callable_ = c.execute("""SELECT proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                                      WHERE n.nspname = 'public' AND proname LIKE 'meterline%%'
                                        AND has_function_privilege(%s, p.oid, 'EXECUTE')""", [role]).fetchall()
            assert callable_ == [], role
        c.execute("SET ROLE anon")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("SELECT count(*) FROM bills")
        c.rollback()
        c.execute("RESET ROLE")
        # service_role bypasses RLS on Supabase; a member role without BYPASSRLS shows the policies
        # themselves let the service role in (and nobody else).
        c.execute("DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rls_probe') THEN "
                  "CREATE ROLE rls_probe NOLOGIN INHERIT; END IF; END $$")
        c.execute("GRANT service_role TO rls_probe")
        c.execute("SET ROLE rls_probe")
        assert c.execute("SELECT count(*) FROM period_locks").fetchone()[0] == 1
        assert c.execute("SELECT meterline_schema_version()").fetchone()[0] == SCHEMA_VERSION
        c.execute("RESET ROLE")
        c.execute("ALTER TABLE period_locks DISABLE ROW LEVEL SECURITY")  # sanity: the probe is not BYPASSRLS
        c.execute("DROP POLICY meterline_service_role ON period_locks")
        c.execute("ALTER TABLE period_locks ENABLE ROW LEVEL SECURITY")
        c.execute("SET ROLE rls_probe")
        assert c.execute("SELECT count(*) FROM period_locks").fetchone()[0] == 0
        c.rollback()


def test_lock_trigger_refuses_a_direct_insert(pg_server):
    name = fresh_supabase_db(pg_server)
    with psycopg.connect(dsn(pg_server, name)) as c:
        c.execute("INSERT INTO areas (level, code, name, path) VALUES (1, 'B', 'Block B', 'B')")
        c.execute("INSERT INTO accounts (code, area_id) SELECT 'B17-FF', id FROM areas")
        c.execute("INSERT INTO tariff_plans (code, name, kind, service, currency) VALUES "
                  "('p', 'P', 'flat_rate', 'electricity', 'INR')")
        c.execute("INSERT INTO tariff_plan_versions (plan_id, version, effective_from, params) "
                  "SELECT id, 1, '2020-01-01', '{}' FROM tariff_plans")
        with pytest.raises(psycopg.errors.RaiseException) as e:
            c.execute("""INSERT INTO bills (account_id, area_id, tariff_plan_version_id, billing_period_start,
                         billing_period_end, due_date, units, total_units, rate_per_unit, total_amount)
                         SELECT a.id, a.area_id, v.id, '2025-11-01', '2025-11-30', '2025-12-15', 1, 1, 12, 12
                           FROM accounts a, tariff_plan_versions v""")
        assert e.value.sqlstate == "P0001" and "billing period 2025-11 is locked" in str(e.value)


def test_seed_sql_is_idempotent_and_gives_one_active_meter(request, pg_server):
    from services.accounts.utility import TEMPLATES
    from services.config import ROOT
    from services.tariffs import TariffPlan
    from tests.supabase.harness import start_supabase

    storage, fake = start_supabase(request)
    seed = (export_supabase_schema.ROOT / "database" / "supabase_seed.sql").read_text()
    with psycopg.connect(fake.conninfo, autocommit=True) as c:
        c.execute(seed)
        audit = c.execute("SELECT count(*) FROM audit_log").fetchone()[0]
        c.execute(seed)
        assert c.execute("SELECT count(*) FROM audit_log").fetchone()[0] == audit  # the second run stored nothing
    counts = storage.table_counts(["areas", "accounts", "service_connections", "contacts", "account_contacts",
                                   "meters", "tariff_plans", "tariff_plan_versions"])
    assert counts == {"areas": 2, "accounts": 1, "service_connections": 1, "contacts": 1, "account_contacts": 1,
                      "meters": 1, "tariff_plans": 1, "tariff_plan_versions": 1}
    (choice,) = storage.list_meter_choices().items
    assert choice.label == "B17-FF - First Floor - Test Owner - meter 19152159"
    # The seed's settings and plan are the society template's and data/tariffs/society.toml's.
    settings = TEMPLATES["society"]
    assert {k: v for k, v in storage.utility_settings_row().items() if k not in ("id", "updated_at", "updated_by")} \
        == {**settings.as_row(), "area_levels": list(settings.as_row()["area_levels"])}
    stored = storage.get_tariff_plan(code="society-electricity").plan  # as dicts: jsonb keeps no key order
    assert stored.to_dict() == TariffPlan.load(ROOT / settings.plan_file).to_dict()
    flat = storage.get_account(code="B17-FF")
    assert storage.service_connection(flat.id, "electricity").plan_code == "society-electricity"
    storage.dispose()
