"""database/supabase_schema.sql over a project an earlier Meterline made, on the real PostgreSQL
server: the version-1 file (tests/fixtures/schema_v1/supabase_schema_v1.sql) with the v1 demo's
rows, or the version-2 file (main's, tests/fixtures/schema_v2) with the v2 demo's, or version 1
then main's file; then today's file. It upgrades in place (scripts/export_supabase_schema.py runs
database/upgrade_v3.py's PostgreSQL text), with the checks the SQL backends' upgrade passes
(tests/upgrade_v3_checks.py), leaves exactly the schema SqlStorage creates, and running it again
changes nothing."""
import psycopg
import pytest

from scripts import export_supabase_schema
from services.storage.sql_backend import SqlStorage
from tests.supabase.pgutil import dsn, fresh_supabase_db
from tests.supabase.test_schema_sql import catalog
from tests.test_upgrade_v3 import pg_data
from tests.upgrade_v3_checks import V1, V2, check_upgraded, data_only, legacy_snapshot, psql

# The whole file: its views and /rpc functions are on the version-3 tables too.
NOT_PORTED_YET: tuple[str, ...] = ()

PROJECTS = {  # the earlier files and the rows loaded after each (from the matching pg_dump)
    "v1": [(V1 / "supabase_schema_v1.sql", V1 / "society_v1.postgresql.sql")],
    "v2": [(V2 / "supabase_schema_v2.sql", V2 / "society_v2.postgresql.sql")],
    "v1 then main's file": [(V1 / "supabase_schema_v1.sql", V1 / "society_v1.postgresql.sql"),
                            (V2 / "supabase_schema_v2.sql", None)],
}


def apply(conninfo: str, sql: str) -> None:
    with psycopg.connect(conninfo, autocommit=True) as c:
        c.execute(sql)


@pytest.mark.parametrize("project", list(PROJECTS))
def test_the_schema_file_upgrades_an_earlier_project(pg_server, tmp_path, project):
    name = fresh_supabase_db(pg_server, with_schema=False)
    conninfo = dsn(pg_server, name)
    for schema_file, dump in PROJECTS[project]:
        apply(conninfo, schema_file.read_text())
        if dump is not None:
            psql(pg_server, name, data_only(dump, tmp_path / "rows.sql"))
    with psycopg.connect(conninfo) as c:
        before = legacy_snapshot(c)
    today = export_supabase_schema.build(skip=NOT_PORTED_YET)
    apply(conninfo, today)
    storage = SqlStorage(f"postgresql+psycopg://postgres@127.0.0.1:{pg_server.pg.port}/{name}", create=False)
    # The documented step after upgrading a project (docs/trust.md): seal the bills stored before the
    # chain existed (the SQL backends' migration does it on first start; a Supabase project runs it once).
    from database import bill_chain

    with storage.engine.begin() as sa_conn:
        bill_chain.seal_unsealed(sa_conn)
    with psycopg.connect(conninfo) as c:
        check_upgraded(storage, c, before)
        assert c.execute("SELECT count(*) FROM pg_class WHERE relname LIKE 'v2\\_%'").fetchone() == (0,)
        # The old /rpc functions were dropped and made again by database/supabase/*.sql: exactly the
        # file's functions are there, each once (no leftover of an old signature).
        import re

        from collections import Counter

        defined = Counter(re.findall(r"CREATE OR REPLACE FUNCTION (meterline_[a-z_]+)\(", today))
        there = Counter(n for (n,) in c.execute("SELECT proname FROM pg_proc WHERE proname LIKE 'meterline\\_%'"))
        assert there == defined
    storage.dispose()
    fresh = pg_server.fresh_url()
    assert catalog(conninfo) == catalog(dsn(pg_server, fresh.rsplit("/", 1)[1]))  # what SqlStorage creates
    schema, data = catalog(conninfo), pg_data(conninfo)
    apply(conninfo, today)  # again: nothing changes
    assert (catalog(conninfo), pg_data(conninfo)) == (schema, data)


def test_the_upgrade_sections_do_nothing_on_a_new_project(pg_server):
    name = fresh_supabase_db(pg_server, with_schema=False)
    apply(dsn(pg_server, name), export_supabase_schema.build(skip=NOT_PORTED_YET))
    with psycopg.connect(dsn(pg_server, name)) as c:
        assert c.execute("SELECT count(*) FROM audit_log").fetchone() == (0,)
        assert c.execute("SELECT count(*) FROM utility_settings").fetchone() == (0,)
        assert c.execute("SELECT value FROM schema_info WHERE key = 'version'").fetchone() == ("3",)
