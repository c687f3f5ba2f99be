"""A customer's scope: the accounts linked to them (table customer_accounts)."""
from __future__ import annotations

from services.accounts.scopes import Scope


def customer_scope(storage, user_id: int) -> Scope:
    """Scope.of_accounts of the user's linked accounts, read on the unscoped storage (the link table
    is the authority; an account that no longer exists drops out). No links: nothing."""
    base = storage
    accounts = [a for a in (base.get_account(account_id=i) for i in base.customer_account_ids(user_id)) if a is not None]
    return Scope.of_accounts(accounts)
