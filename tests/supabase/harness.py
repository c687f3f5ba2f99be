"""Start SupabaseStorage against the fake PostgREST on a fresh Supabase-schema database."""
from __future__ import annotations

from tests.supabase.fake_postgrest import FakePostgrest
from tests.supabase.pgutil import dsn, fresh_supabase_db

SERVICE_KEY = "test-service-role-key"
ANON_KEY = "test-anon-key"


def start_fake(request, *, max_rows: int = 1000) -> FakePostgrest:
    """A fake PostgREST on a fresh database, stopped (and checked for violations) after the test."""
    pg_server = request.getfixturevalue("pg_server")
    fake = FakePostgrest(dsn(pg_server, fresh_supabase_db(pg_server)),
                         {SERVICE_KEY: "service_role", ANON_KEY: "anon"}, max_rows=max_rows)
    fake.start()

    def finish():
        fake.stop()
        assert not fake.violations, "requests the fake PostgREST could not accept:\n" + "\n".join(fake.violations)

    request.addfinalizer(finish)
    return fake


def start_supabase(request, *, key: str = SERVICE_KEY, max_rows: int = 1000, **kwargs):
    from services.storage.rest_backend import SupabaseStorage

    fake = start_fake(request, max_rows=max_rows)
    kwargs.setdefault("backoff", 0)
    storage = SupabaseStorage(fake.url, key, **kwargs)
    return storage, fake
