"""Bearer authentication for the API: Auth0 RS256 JWTs and an optional machine token.

JWTs are verified with PyJWT (`PyJWKClient`) against the tenant's JWKS: signature, `exp`,
`nbf`/`iat`, `iss` = https://DOMAIN/, `aud` = the API identifier, algorithms pinned to RS256
(anything else, `none` and HS256 included, is refused before a key is even looked up, which
closes the algorithm-confusion hole python-jose had). The key set is cached and fetched again at
most once per unknown `kid` (rate-limited by a cooldown so random kids cannot make us hammer
the tenant). The token's subject must be a local user with sign-in method auth0
(services/accounts/identity.py); a valid token without one gets no access.

HEADER_AUTH_TOKEN (off unless set, at least 32 characters) lets a machine client send
`Authorization: Bearer <that token>`; it is compared in constant time and acts as the role
HEADER_AUTH_ROLE (default field_engineer: it may submit readings and nothing else).
"""
from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field

import jwt
from jwt import PyJWKClient
from jwt.exceptions import (
    DecodeError, ExpiredSignatureError, ImmatureSignatureError, InvalidAudienceError, InvalidIssuerError,
    InvalidSignatureError, MissingRequiredClaimError, PyJWKClientConnectionError, PyJWKClientError, PyJWTError,
)

from services.errors import AuthenticationError, ConfigurationError
from services.accounts.api_tokens import LocalTokens, is_local, local_actor
from services.accounts.identity import auth0_actor
from services.accounts.roles import ROLES, Actor

ALGORITHMS = ["RS256"]  # the only algorithm Auth0 signs API access tokens with; never widen it
HEADER_TOKEN_MIN_LENGTH = 32
HEADER_TOKEN_USERNAME = "header-token"
DEFAULT_HEADER_ROLE = "field_engineer"


@dataclass(frozen=True)
class ApiPrincipal:
    actor: Actor
    method: str  # "jwt" (Auth0) | "local" (POST /api/auth/login) | "header_token"
    claims: dict = field(default_factory=dict)


def normalize_domain(domain: str) -> str:
    """'https://tenant.eu.auth0.com/' and 'tenant.eu.auth0.com' both mean the host."""
    d = domain.strip()
    for prefix in ("https://", "http://"):
        if d.lower().startswith(prefix):
            d = d[len(prefix):]
    return d.strip("/")


class ApiAuthenticator:
    def __init__(self, storage, *, auth0_domain: str | None = None, api_identifier: str | None = None,
                 jwks_url: str | None = None, header_token: str | None = None,
                 header_role: str = DEFAULT_HEADER_ROLE, leeway_seconds: int = 30,
                 jwks_lifespan_seconds: float = 600, jwks_refresh_cooldown_seconds: float = 30,
                 jwks_timeout_seconds: float = 5, local_tokens=None):
        self.storage = storage
        self.local_tokens = local_tokens  # services/accounts/api_tokens.LocalTokens: POST /api/auth/login
        if bool(auth0_domain) != bool(api_identifier):
            raise ConfigurationError("Auth0 for the API needs both AUTH0_DOMAIN and AUTH0_API_IDENTIFIER "
                                     "(the API's identifier, the `aud` of its tokens); set both or neither.")
        if header_token is not None and len(header_token) < HEADER_TOKEN_MIN_LENGTH:
            raise ConfigurationError(
                f"HEADER_AUTH_TOKEN is shorter than {HEADER_TOKEN_MIN_LENGTH} characters. Generate one with: "
                "python -c \"import secrets; print(secrets.token_urlsafe(32))\"")
        if header_role not in ROLES:
            raise ConfigurationError(f"HEADER_AUTH_ROLE '{header_role}' is not a role; use one of {', '.join(ROLES)}.")
        self.domain = normalize_domain(auth0_domain) if auth0_domain else None
        self.audience = api_identifier
        self.issuer = f"https://{self.domain}/" if self.domain else None
        self.jwks_url = jwks_url or (f"https://{self.domain}/.well-known/jwks.json" if self.domain else None)
        self.leeway = leeway_seconds
        self.header_role = header_role
        # Keep only a digest: comparing fixed-length digests leaks neither the token nor its length.
        self._header_digest = hashlib.sha256(header_token.encode()).digest() if header_token else None
        self._jwks = PyJWKClient(self.jwks_url, cache_keys=False, cache_jwk_set=True, lifespan=jwks_lifespan_seconds,
                                 timeout=jwks_timeout_seconds,
                                 cooldown_duration=jwks_refresh_cooldown_seconds) if self.jwks_url else None

    @classmethod
    def from_settings(cls, storage) -> "ApiAuthenticator":
        """Reads AUTH0_DOMAIN, AUTH0_API_IDENTIFIER, AUTH0_JWKS_URL (tests), HEADER_AUTH_TOKEN, HEADER_AUTH_ROLE."""
        from services.config import load_dotenv_once

        load_dotenv_once()
        env = os.environ
        return cls(storage, auth0_domain=env.get("AUTH0_DOMAIN") or None,
                   api_identifier=env.get("AUTH0_API_IDENTIFIER") or None,
                   jwks_url=env.get("AUTH0_JWKS_URL") or None,
                   header_token=env.get("HEADER_AUTH_TOKEN") or None,
                   header_role=env.get("HEADER_AUTH_ROLE") or DEFAULT_HEADER_ROLE,
                   local_tokens=LocalTokens.from_env())

    @property
    def enabled(self) -> bool:
        return self.auth0_enabled or self.header_token_enabled or self.local_tokens is not None

    @property
    def auth0_enabled(self) -> bool:
        return self._jwks is not None

    @property
    def header_token_enabled(self) -> bool:
        return self._header_digest is not None

    def authenticate(self, authorization_header: str | None, client: str | None = None) -> ApiPrincipal:
        if not self.enabled:
            raise AuthenticationError("API authentication is not configured: set AUTH0_DOMAIN and "
                                      "AUTH0_API_IDENTIFIER, or HEADER_AUTH_TOKEN. Every protected call is refused.")
        if not authorization_header or not authorization_header.strip():
            raise AuthenticationError("Missing Authorization header: send 'Authorization: Bearer <token>'.")
        scheme, _, token = authorization_header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            raise AuthenticationError("The Authorization header must be 'Bearer <token>'.")
        if self._header_digest is not None and hmac.compare_digest(
                hashlib.sha256(token.encode()).digest(), self._header_digest):
            return ApiPrincipal(Actor(None, HEADER_TOKEN_USERNAME, self.header_role, client), "header_token", {})
        if token.count(".") != 2:
            raise AuthenticationError("The bearer token is neither the configured header token nor a JWT.")
        if self.local_tokens is not None and is_local(token):  # HS256 with our key only; Auth0 stays RS256
            claims = self.local_tokens.verify(token)
            return ApiPrincipal(local_actor(self.storage, claims, client), "local", claims)
        if self._jwks is None:
            raise AuthenticationError("JWT bearer tokens are not accepted: Auth0 is not configured "
                                      "(AUTH0_DOMAIN, AUTH0_API_IDENTIFIER).")
        claims = self.verify_jwt(token)
        return ApiPrincipal(auth0_actor(self.storage, claims, client), "jwt", claims)

    def verify_jwt(self, token: str) -> dict:
        """The verified claims, or AuthenticationError naming what is wrong with the token."""
        try:
            header = jwt.get_unverified_header(token)
        except DecodeError as exc:
            raise AuthenticationError(f"Malformed JWT: {exc}.") from None
        alg = header.get("alg")
        if alg not in ALGORITHMS:
            raise AuthenticationError(f"JWT algorithm '{alg}' is not allowed; only RS256 is accepted.")
        kid = header.get("kid")
        if not kid or not isinstance(kid, str):
            raise AuthenticationError("JWT header has no 'kid', so no Auth0 signing key can be chosen.")
        try:
            key = self._jwks.get_signing_key(kid)
        except PyJWKClientConnectionError as exc:
            raise AuthenticationError(f"Could not fetch the Auth0 signing keys from {self.jwks_url}: {exc}") from None
        except PyJWKClientError:
            raise AuthenticationError(f"JWT signing key '{kid}' is not in the Auth0 tenant's key set (JWKS), "
                                      "even after fetching it again.") from None
        try:
            return jwt.decode(token, key.key, algorithms=ALGORITHMS, audience=self.audience, issuer=self.issuer,
                              leeway=self.leeway, options={"require": ["exp", "iss", "aud", "sub"]})
        except ExpiredSignatureError:
            raise AuthenticationError("JWT has expired (exp is in the past): get a new token.") from None
        except ImmatureSignatureError as exc:
            raise AuthenticationError(f"JWT is not valid yet ({exc}).") from None
        except InvalidAudienceError:
            raise AuthenticationError(f"JWT audience is wrong: this API accepts aud '{self.audience}'.") from None
        except InvalidIssuerError:
            raise AuthenticationError(f"JWT issuer is wrong: this API accepts iss '{self.issuer}'.") from None
        except InvalidSignatureError:
            raise AuthenticationError("JWT signature does not verify against the Auth0 key: "
                                      "the token was altered or not issued by this tenant.") from None
        except MissingRequiredClaimError as exc:
            raise AuthenticationError(f"JWT lacks a required claim: {exc}.") from None
        except PyJWTError as exc:
            raise AuthenticationError(f"JWT refused: {exc}.") from None
