"""Suite-wide fixtures: a throwaway PostgreSQL server (started once per test session), the
storage backends, and a fixed clock (today = 2026-11-22 in the utility's zone)."""
from __future__ import annotations

import datetime as dt
import itertools
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Tests never read the developer's .env or touch data/meterline.db.
for var in ("DATABASE_URL", "SUPABASE_URL", "SUPABASE_KEY", "MASTER_DATA_PATH", "STRIPE_API_KEY",
            "CLOUDINARY_URL", "OPENAI_API_KEY", "DISCORD_WEBHOOK_URL", "WHATSAPP_ACCESS_TOKEN",
            "AUTH0_DOMAIN", "HEADER_AUTH_TOKEN", "AUTH0_API_IDENTIFIER", "AUTH0_JWKS_URL", "HEADER_AUTH_ROLE"):
    os.environ.pop(var, None)
os.environ["METERLINE_DOTENV"] = "0"
# API sign-in tokens (services/accounts/api_tokens.py): a fixed test key, so no test writes data/api_signing_key.
os.environ["API_SIGNING_KEY"] = "test-only-api-signing-key-0123456789abcdef"

TODAY = dt.date(2026, 11, 22)


class PgServer:
    """The session's PostgreSQL server; hands out a fresh, schema-ready database per test."""

    def __init__(self, pg):
        self.pg = pg
        self._n = itertools.count(1)
        self.template = None

    def fresh_url(self, with_schema: bool = True) -> str:
        import psycopg

        if with_schema and self.template is None:
            from services.storage.sql_backend import SqlStorage

            url = self.pg.create_database("meterline_template")
            SqlStorage(url).dispose()
            self.template = "meterline_template"
        name = f"t{os.getpid()}_{next(self._n)}"
        tmpl = f' TEMPLATE "{self.template}"' if with_schema else ""
        with psycopg.connect(f"host=127.0.0.1 port={self.pg.port} user=postgres dbname=postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"{tmpl}')
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.pg.port}/{name}"

    @property
    def admin_url(self) -> str:
        return self.pg.url


@pytest.fixture(scope="session")
def pg_server():
    from scripts.pg_throwaway import PostgresUnavailable, start

    try:
        pg = start()
    except PostgresUnavailable as exc:
        if os.environ.get("METERLINE_ALLOW_NO_POSTGRES") == "1":
            pytest.skip(f"PostgreSQL unavailable: {exc}")
        raise
    yield PgServer(pg)
    pg.stop()


@pytest.fixture
def today() -> dt.date:
    return TODAY
