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


def _under(path: str, top: str) -> bool:
    """`path` is `top` or lies under it."""
    return path == top or path.startswith(top + "/")


@dataclass(frozen=True)
class Scope:
    """The area subtrees an actor may see: `paths` (None: everything; empty: nothing)."""

    paths: frozenset[str] | None = None

    @classmethod
    def of(cls, paths: Iterable[str]) -> "Scope":
        """A scope of these area paths; a path under another one given adds nothing and is dropped."""
        given = {p.strip().strip("/") for p in paths if p and p.strip().strip("/")}
        kept = frozenset(p for p in given if not any(q != p and _under(p, q) for q in given))
        return cls(kept)

    @property
    def is_everything(self) -> bool:
        return self.paths is None

    @property
    def is_nothing(self) -> bool:
        return self.paths is not None and not self.paths

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
        if other.paths is None:
            return True
        if self.paths is None:
            return False
        return all(other.allows(p) for p in self.paths)

    def intersect(self, other: "Scope") -> "Scope":
        """What both allow."""
        if self.paths is None:
            return other
        if other.paths is None:
            return self
        out = set()
        for a in self.paths:
            for b in other.paths:
                if _under(b, a):
                    out.add(b)
                elif _under(a, b):
                    out.add(a)
        return Scope.of(out)

    def header(self) -> str | None:
        """The value of SCOPE_HEADER for this scope (None: everything, nothing is sent)."""
        if self.paths is None:
            return None
        return json.dumps(sorted(self.paths), ensure_ascii=True, separators=(",", ":"))

    def describe(self, names: dict[str, str] | None = None) -> str:
        """'everything', 'nothing', or the areas by name (or path) joined with commas."""
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
    """The Actor of a signed-in user, with their scope read from their area assignment."""
    from services.accounts.roles import ROLES, Actor

    role = ROLES.get(user.role)
    scoped = bool(role and role.scoped)
    paths = [a.path for a in storage.list_user_areas(user.id)] if scoped else []
    return Actor(user.id, user.username, user.role, client, scope_for(scoped, paths))
