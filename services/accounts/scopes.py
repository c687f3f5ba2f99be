"""Staff scoped to their areas (seed 003: each staff member works in a city/tehsil and a list of
union councils; the head office sees everything).

A `Scope` is the set of area subtrees an actor may see, by area path ("KSR" = the city of Kasur and
every union council under it; "KSR/KSR-UC03" = one union council), or everything. It is carried by
the `Actor` (services/accounts/roles.py) and applied by the storage backends to every read of
accounts, bills, payments, readings and reports (services/storage/base.py:
`Storage.scoped`): a record outside the scope answers as if it did not exist.

Where it comes from: a role is area-limited or not (`Role.scoped`); an area-limited user's scope is
the areas assigned to them (table user_areas, managed by the head office on the Users page), and a
user with none sees nothing. Roles that are not area-limited (HEAD, admin, the system) see
everything.

Pure: no database, no UI. The one rule of a path: a scope path P allows P itself and every path
under it ("P/..."), never a sibling that merely starts with the same letters ("KSR" does not allow
"KSRX").
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

# The HTTP header the Supabase REST backend sends with a scoped read: a JSON list of area paths.
# The database turns it into the role and row level security of a scoped read
# (database/supabase/80_scopes.sql: meterline_pre_request).
SCOPE_HEADER = "x-meterline-scope"
# A customer's scope (issue 16) also sends its linked account ids: a JSON list of integers. Row level
# security then also limits accounts, bills and what hangs off them to those ids
# (database/supabase/80_scopes.sql: meterline_scope_account_ids).
ACCOUNTS_HEADER = "x-meterline-accounts"


def _under(path: str, top: str) -> bool:
    """`path` is `top` or lies under it."""
    return path == top or path.startswith(top + "/")


@dataclass(frozen=True)
class Scope:
    """The area subtrees an actor may see: `paths` (None: everything; empty: nothing); and, for a
    customer (issue 16), the accounts within them: `account_ids` (None: every account of those
    areas; empty: none). A customer's scope is the areas of their linked accounts AND those ids, so
    every area predicate still holds and each read also filters by account."""

    paths: frozenset[str] | None = None
    account_ids: frozenset[int] | None = None

    @classmethod
    def of(cls, paths: Iterable[str]) -> "Scope":
        """A scope of these area paths; a path under another one given adds nothing and is dropped."""
        given = {p.strip().strip("/") for p in paths if p and p.strip().strip("/")}
        kept = frozenset(p for p in given if not any(q != p and _under(p, q) for q in given))
        return cls(kept)

    @classmethod
    def of_accounts(cls, accounts: Iterable) -> "Scope":
        """A customer's scope: these accounts (objects with `id` and `area_path`) and nothing else."""
        accounts = list(accounts)
        paths = {a.area_path for a in accounts if a.area_path}
        return cls(cls.of(paths).paths if accounts else frozenset(), frozenset(int(a.id) for a in accounts))

    @property
    def is_everything(self) -> bool:
        return self.paths is None and self.account_ids is None

    @property
    def is_nothing(self) -> bool:
        return (self.paths is not None and not self.paths) or (self.account_ids is not None and not self.account_ids)

    @property
    def is_accounts(self) -> bool:
        """A customer's scope: limited to listed accounts."""
        return self.account_ids is not None

    def allows_account(self, account_id: int | None) -> bool:
        return self.account_ids is None or (account_id is not None and int(account_id) in self.account_ids)

    def allows(self, path: str | None) -> bool:
        """The area at `path` (and so whatever lies in it) is in scope."""
        if self.paths is None:
            return True
        return path is not None and any(_under(path, top) for top in self.paths)

    def shows(self, path: str | None) -> bool:
        """The area at `path` is in scope or above an area in scope (a city whose union council is
        in scope: it is shown to navigate to that council, and nothing else of it is)."""
        if self.paths is None:
            return True
        return path is not None and any(_under(path, top) or _under(top, path) for top in self.paths)

    def within(self, other: "Scope") -> bool:
        """Everything this scope allows, `other` allows too."""
        if other.account_ids is not None and (self.account_ids is None or not self.account_ids <= other.account_ids):
            return False
        if other.paths is None:
            return True
        if self.paths is None:
            return False
        return all(other.allows(p) for p in self.paths)

    def intersect(self, other: "Scope") -> "Scope":
        """What both allow."""
        if self.account_ids is None:
            ids = other.account_ids
        elif other.account_ids is None:
            ids = self.account_ids
        else:
            ids = self.account_ids & other.account_ids
        if self.paths is None:
            return Scope(other.paths, ids)
        if other.paths is None:
            return Scope(self.paths, ids)
        out = set()
        for a in self.paths:
            for b in other.paths:
                if _under(b, a):
                    out.add(b)
                elif _under(a, b):
                    out.add(a)
        return Scope(Scope.of(out).paths, ids)

    def header(self) -> str | None:
        """The value of SCOPE_HEADER for this scope (None: everything, nothing is sent)."""
        if self.paths is None:
            return None if self.account_ids is None else "[]"  # accounts without areas: fail closed
        return json.dumps(sorted(self.paths), ensure_ascii=True, separators=(",", ":"))

    def accounts_header(self) -> str | None:
        """The value of ACCOUNTS_HEADER (None: not a customer's scope, nothing is sent)."""
        if self.account_ids is None:
            return None
        return json.dumps(sorted(self.account_ids), separators=(",", ":"))

    def describe(self, names: dict[str, str] | None = None) -> str:
        """'everything', 'nothing', or the areas by name (or path) joined with commas."""
        if self.account_ids is not None:
            return f"{len(self.account_ids)} linked account(s)" if self.account_ids else "nothing (no linked accounts)"
        if self.paths is None:
            return "everything"
        if not self.paths:
            return "nothing (no areas assigned)"
        names = names or {}
        return ", ".join(names.get(p, p) for p in sorted(self.paths))


EVERYTHING = Scope(None)
NOTHING = Scope(frozenset())


def scope_for(role_scoped: bool, assigned_paths: Iterable[str]) -> Scope:
    """The scope of a user: everything for a role that is not area-limited, else the paths of the
    areas assigned to them (none assigned: nothing)."""
    return Scope.of(assigned_paths) if role_scoped else EVERYTHING


def actor_for(storage, user, client: str | None = None):
    """The Actor of a signed-in user, with their scope read from their area assignment (a customer's:
    from the accounts linked to them, services/customers/)."""
    from services.accounts.roles import ROLES, Actor

    role = ROLES.get(user.role)
    if role is not None and role.customer:
        from services.customers.links import customer_scope

        return Actor(user.id, user.username, user.role, client, customer_scope(storage, user.id))
    scoped = bool(role and role.scoped)
    paths = [a.path for a in storage.list_user_areas(user.id)] if scoped else []
    return Actor(user.id, user.username, user.role, client, scope_for(scoped, paths))
