"""REST backend part: the actor's scope on Supabase (services/accounts/scopes.py).

A scoped view sends the scope with every request of a filtered read (services/storage/scoping.py)
in the header x-meterline-scope. In the database, PostgREST's pre-request function
(database/supabase/80_scopes.sql: meterline_pre_request) turns a service-role request carrying it
into a read as the role meterline_staff, which row level security limits to the scope's areas: the
database filters every table and view such a request reads, whatever the query. The first scoped
read checks that the project does this (the schema SQL configures it); if not, it fails closed
with a ConfigurationError rather than show everything.
"""
from __future__ import annotations

import contextlib

from services.errors import ConfigurationError

STAFF_ROLE = "meterline_staff"


class RestScopePart:
    def scope_changed(self) -> None:
        self.rest = self.rest.with_scope(self.scope.header(), self.scope.accounts_header())

    @contextlib.contextmanager
    def scope_reading(self):
        with self.rest.reading_scoped():
            if self.rest.scope_header is not None:
                self._check_scope_setup()
            yield

    def _check_scope_setup(self) -> None:
        if self.rest.checked.get("scope"):
            return
        out = self.rest.rpc("meterline_scope_probe", {}, what="checking row level security for staff scopes",
                            idempotent=True)
        if not out or out.get("role") != STAFF_ROLE:
            raise ConfigurationError(
                "Supabase does not apply staff scopes: a scoped read ran as "
                f"{(out or {}).get('role')!r}, not {STAFF_ROLE}. Run database/supabase_schema.sql again as the "
                "project's owner (it sets PostgREST's pre-request function: ALTER ROLE authenticator SET "
                "pgrst.db_pre_request = 'public.meterline_pre_request'; NOTIFY pgrst, 'reload config'). Nothing "
                "was shown.")
        self.rest.checked["scope"] = True
