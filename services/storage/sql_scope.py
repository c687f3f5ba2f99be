"""SQL backend part: the actor's scope (services/accounts/scopes.py) as SQL predicates.

A scoped view of SqlStorage (Storage.scoped) carries `self.scope`; every read of an area-bound
record adds one of these predicates to its WHERE clause, so pages, counts and sums are filtered by
the database:

- `_in_scope(area_col)`: the area is in scope (the scope paths' subtrees, found on `areas` by path:
  "KSR" takes "KSR" and "KSR/...", never "KSRX");
- `_account_in_scope(col)`, `_bill_in_scope(col)`, `_meter_in_scope(col)`: an account, bill or meter
  id whose account or bill lies in an area in scope (bills carry their area, so no join to accounts);
- `_area_shown(path_col)`: an area in scope or above one (a city whose union council is in scope is
  shown, to navigate to the council).

A customer's scope (issue 16) also lists account ids (`scope.account_ids`): each predicate then also
keeps only rows of those accounts (`_of_accounts`), so a customer reads their own accounts, bills,
payments, meters, readings and usage and nothing else of the areas they live in.

With the scope "everything" each returns None and `scope_where` adds nothing: an unscoped query is
exactly what it was before scopes existed.
"""
from __future__ import annotations

import sqlalchemy as sa

from database import schema as s

ar, a, b, m = s.areas, s.accounts, s.bills, s.meters


def path_in_scope(path_col, paths):
    """The area path column names an area in the subtree of one of `paths`."""
    if not paths:
        return sa.false()
    return sa.or_(*(sa.or_(path_col == p, path_col.startswith(p + "/", autoescape=True)) for p in sorted(paths)))


def scope_area_ids(scope):
    """SELECT of the ids of the areas `scope` allows (None: everything). On an alias of areas, so it is
    never correlated with a query on areas itself."""
    if scope.paths is None:
        return None
    x = ar.alias("scope_areas")
    return sa.select(x.c.id).where(path_in_scope(x.c.path, scope.paths))


def _both(*conds):
    kept = [c for c in conds if c is not None]
    if not kept:
        return None
    return kept[0] if len(kept) == 1 else sa.and_(*kept)


def _account_col_for(area_col):
    """The account id column that goes with an area column: `accounts.area_id` -> accounts.id, a
    table with account_id (bills, anomalies) -> its account_id. None when there is none."""
    table = area_col.table
    original = getattr(table, "original", table)
    if getattr(original, "name", None) == "accounts":
        return table.c.id
    return table.c.get("account_id")


def scope_where(q, predicate):
    """q with the predicate, or q itself when there is none (scope: everything)."""
    return q if predicate is None else q.where(predicate)


class ScopePart:
    @staticmethod
    def _scope_conds(predicate) -> tuple:
        """The predicate as *args for .where() (none when the scope is everything)."""
        return () if predicate is None else (predicate,)

    def _of_accounts(self, account_col):
        """A customer's scope: the account is one of theirs (None: not a customer's scope)."""
        ids = self.scope.account_ids
        if ids is None:
            return None
        return account_col.in_(sorted(ids)) if ids else sa.false()

    def _in_scope(self, area_col):
        ids = scope_area_ids(self.scope)
        area = None if ids is None else area_col.in_(ids)
        if self.scope.account_ids is None:
            return area
        account_col = _account_col_for(area_col)
        # fail closed: an area-bound row with no account to check is not a customer's
        return _both(area, sa.false() if account_col is None else self._of_accounts(account_col))

    # The inner selects read aliases, so they are never correlated with a query on the same table.
    def _account_in_scope(self, account_col):
        ids = scope_area_ids(self.scope)
        if ids is None and self.scope.account_ids is None:
            return None
        x = a.alias("scope_accounts")
        inner = sa.select(x.c.id).where(*self._scope_conds(_both(None if ids is None else x.c.area_id.in_(ids),
                                                                  self._of_accounts(x.c.id))))
        return account_col.in_(inner)

    def _bill_in_scope(self, bill_col):
        ids = scope_area_ids(self.scope)
        if ids is None and self.scope.account_ids is None:
            return None
        x = b.alias("scope_bills")
        inner = sa.select(x.c.id).where(*self._scope_conds(_both(None if ids is None else x.c.area_id.in_(ids),
                                                                  self._of_accounts(x.c.account_id))))
        return bill_col.in_(inner)

    def _meter_in_scope(self, meter_col):
        ids = scope_area_ids(self.scope)
        if ids is None and self.scope.account_ids is None:
            return None
        x, y = m.alias("scope_meters"), a.alias("scope_accounts")
        inner = (sa.select(x.c.id).select_from(x.join(y, y.c.id == x.c.account_id))
                 .where(*self._scope_conds(_both(None if ids is None else y.c.area_id.in_(ids),
                                                 self._of_accounts(y.c.id)))))
        return meter_col.in_(inner)

    def _area_shown(self, path_col):
        paths = self.scope.paths
        if paths is None:
            return None
        above = sorted({"/".join(p.split("/")[:i]) for p in paths for i in range(1, p.count("/") + 1)})
        inside = path_in_scope(path_col, paths)
        return sa.or_(inside, path_col.in_(above)) if above else inside
