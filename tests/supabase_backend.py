"""Registers the "supabase" backend with the contract suite: SupabaseStorage (supabase-py) talking
to the loopback fake PostgREST (tests/supabase/fake_postgrest.py), which runs every request on a
fresh PostgreSQL database with database/supabase_schema.sql applied."""
from __future__ import annotations

from tests.backends import backend
from tests.supabase.harness import start_supabase


@backend("supabase")
def supabase_storage(request, tmp_path):
    storage, fake = start_supabase(request)
    return storage
