"""Which local user an Auth0 identity is. Used by the UI (st.login) and the API (bearer JWTs).

Access is granted by a local user row, never by the identity provider alone: an admin adds the
person on the Users page (or `python -m scripts.create_user --auth0 ...`) with sign-in method
"auth0", and the identity matches that row when
  - the row's username equals the token's `sub` (the Auth0 user id, e.g. "auth0|64f1c0...",
    or "<client id>@clients" for a machine-to-machine client), or
  - the row's email equals the token's `email` AND the token says `email_verified: true`
    (an unverified email proves nothing).
Only rows with auth_provider "auth0" match, so an Auth0 identity can never take over a
password account. The local row decides the role, and deactivating it cuts access at the next
request. An identity that matches no row gets no access.
"""
from __future__ import annotations

from services.errors import AuthenticationError
from services.models import User
from services.accounts.roles import Actor

AUTH0 = "auth0"


def find_auth0_user(storage, claims: dict) -> User | None:
    sub = claims.get("sub")
    if isinstance(sub, str) and sub:
        user = storage.get_user(username=sub)
        if user is not None and user.auth_provider == AUTH0:
            return user
    email = claims.get("email")
    # Only a literal True counts: some providers send "false" strings or omit the claim.
    if isinstance(email, str) and email and claims.get("email_verified") is True:
        user = storage.get_user(email=email)
        if user is not None and user.auth_provider == AUTH0:
            return user
    return None


def auth0_user(storage, claims: dict) -> User:
    """The active local user for these verified claims, or AuthenticationError saying why not."""
    user = find_auth0_user(storage, claims)
    if user is None:
        who = claims.get("sub") or claims.get("email") or "unknown"
        raise AuthenticationError(
            f"Auth0 identity '{who}' has no Meterline access. An administrator must add it on the Users "
            "page with sign-in method Auth0 (username = the Auth0 user id, or a verified email).")
    if not user.is_active:
        raise AuthenticationError(f"The Meterline account '{user.username}' is deactivated.")
    return user


def auth0_actor(storage, claims: dict, client: str | None = None) -> Actor:
    from services.accounts.scopes import actor_for

    return actor_for(storage, auth0_user(storage, claims), client)
