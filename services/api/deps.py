"""Request dependencies: the services and the authenticated principal."""
from __future__ import annotations

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from services.api.guard import PRINCIPAL_KEY
from services.accounts.api_auth import ApiPrincipal
from services.container import Services

# Documents the scheme in OpenAPI; the header itself is checked by ApiAuthenticator.
bearer = HTTPBearer(auto_error=False, description="a token from POST /api/auth/login, an Auth0 access token (RS256 "
                                                    "JWT) or the HEADER_AUTH_TOKEN")


def services(request: Request) -> Services:
    return request.app.state.services


def principal(request: Request, _doc=Depends(bearer)) -> ApiPrincipal:
    """The caller, or AuthenticationError (401). Permissions are checked by the services. The
    request guard (services/api/guard.py) has already authenticated it, before reading the body."""
    checked = getattr(request.state, PRINCIPAL_KEY, None)
    if checked is not None:
        return checked
    host = request.client.host if request.client else "unknown"
    return request.app.state.authenticator.authenticate(request.headers.get("authorization"), f"api {host}")
