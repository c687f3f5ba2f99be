"""Storage backends the contract suite runs against. Each factory returns a fresh, empty,
schema-ready Storage. A new backend registers itself here (see the Supabase REST backend)."""
from __future__ import annotations

from typing import Callable

FACTORIES: dict[str, Callable] = {}


def backend(name: str):
    def register(fn):
        FACTORIES[name] = fn
        return fn
    return register


@backend("sqlite")
def sqlite_storage(request, tmp_path):
    from services.storage.sql_backend import SqlStorage

    return SqlStorage(f"sqlite:///{tmp_path / 'contract.db'}")


@backend("postgresql")
def postgresql_storage(request, tmp_path):
    from services.storage.sql_backend import SqlStorage

    return SqlStorage(request.getfixturevalue("pg_server").fresh_url())


def load_optional_backends() -> None:
    """Import modules that register further backends (e.g. tests/supabase_backend.py)."""
    import importlib

    for mod in ("tests.supabase_backend",):
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
