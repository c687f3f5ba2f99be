"""Databases with database/supabase_schema.sql applied, on the session's PostgreSQL server.

The schema file is applied once into a template database; each test gets a copy (CREATE
DATABASE ... TEMPLATE), which takes a fraction of a second."""
from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

import psycopg

SCHEMA_SQL = Path(__file__).resolve().parents[2] / "database" / "supabase_schema.sql"
TEMPLATE = "supabase_template"
_lock = threading.Lock()
_n = itertools.count(1)


def dsn(pg_server, dbname: str) -> str:
    return f"host=127.0.0.1 port={pg_server.pg.port} user=postgres dbname={dbname}"


def apply_schema_file(conninfo: str, times: int = 1) -> None:
    sql = SCHEMA_SQL.read_text()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        for _ in range(times):
            conn.execute(sql)


def _ensure_template(pg_server) -> None:
    with _lock:
        if getattr(pg_server, "supabase_template_ready", False):
            return
        with psycopg.connect(dsn(pg_server, "postgres"), autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
            c.execute(f'CREATE DATABASE "{TEMPLATE}"')
        apply_schema_file(dsn(pg_server, TEMPLATE))
        pg_server.supabase_template_ready = True


def fresh_supabase_db(pg_server, *, with_schema: bool = True) -> str:
    """A new database (with the Supabase schema applied unless with_schema=False); returns its name."""
    if with_schema:
        _ensure_template(pg_server)
    name = f"sb{os.getpid()}_{next(_n)}"
    with psycopg.connect(dsn(pg_server, "postgres"), autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{TEMPLATE}"' if with_schema else ""))
    return name
