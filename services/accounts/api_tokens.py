"""Local API access tokens (issue 13): POST /api/auth/login exchanges a local account's username and
password for a short-lived JWT; every later call sends it as `Authorization: Bearer <token>`.

- Sign-in is the app's own (services/accounts/auth.py AuthService.login): the same argon2id check,
  lockout after repeated failures, per-client throttling, generic refusal and audit log.
- The token is an HS256 JWT signed with API_SIGNING_KEY (from the environment; at least 32
  characters). Unset, a random key is generated once into data/api_signing_key with mode 0600 (or
  API_SIGNING_KEY_FILE) and reused. Claims: iss "meterline", aud "meterline-api", sub = the user's id,
  role, username, sid (the sign-in session) and sk (the key the database finds that session by: the
  hash of its secret, never the secret), iat, exp (API_TOKEN_MINUTES, default 15).
- Every request checks that sign-in session too: ended (signed out, "sign out everywhere", revoked by
  an admin) or past its absolute lifetime, the token stops working at once, not 15 minutes later.
- Verification pins HS256 and our key (the Auth0 path stays RS256-only, so neither can be passed off
  as the other), requires every claim, and then resolves the actor exactly as the app does
  (services/accounts/scopes.actor_for from the stored user): a user deactivated or given another role
  since the token was issued is refused or gets the current role's rights; the role claim is only
  informative. A customer login (issue 16) uses the same endpoint and claims.
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import jwt
from jwt.exceptions import ExpiredSignatureError, PyJWTError

from services.clock import utcnow
from services.errors import AuthenticationError, ConfigurationError

ISSUER = "meterline"
AUDIENCE = "meterline-api"
ALGORITHM = "HS256"
KEY_MIN_LENGTH = 32
DEFAULT_KEY_FILE = Path(__file__).resolve().parents[2] / "data" / "api_signing_key"


def load_signing_key(env: dict | None = None) -> str:
    """API_SIGNING_KEY, or the key in API_SIGNING_KEY_FILE (default data/api_signing_key), generated
    there with mode 0600 the first time."""
    env = os.environ if env is None else env
    key = (env.get("API_SIGNING_KEY") or "").strip()
    if key:
        if len(key) < KEY_MIN_LENGTH:
            raise ConfigurationError(f"API_SIGNING_KEY is shorter than {KEY_MIN_LENGTH} characters. Generate one with: "
                                     "python -c \"import secrets; print(secrets.token_urlsafe(48))\"")
        return key
    path = Path(env.get("API_SIGNING_KEY_FILE") or DEFAULT_KEY_FILE)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) < KEY_MIN_LENGTH:
            raise ConfigurationError(f"{path} holds no usable API signing key; delete it to have one generated.")
        return key
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(48) + "\n")
    os.chmod(path, 0o600)
    return path.read_text().strip()


@dataclass(frozen=True)
class IssuedToken:
    token: str
    expires_at: dt.datetime
    expires_in: int  # seconds


class LocalTokens:
    def __init__(self, key: str, *, minutes: int = 15, leeway_seconds: int = 10, now=utcnow):
        if len(key) < KEY_MIN_LENGTH:
            raise ConfigurationError(f"The API signing key is shorter than {KEY_MIN_LENGTH} characters.")
        self.key = key
        self.lifetime = dt.timedelta(minutes=minutes)
        self.leeway = leeway_seconds
        self.now = now

    @classmethod
    def from_env(cls) -> "LocalTokens":
        from services.config import load_dotenv_once

        load_dotenv_once()
        return cls(load_signing_key(), minutes=int(os.environ.get("API_TOKEN_MINUTES") or 15))

    def issue(self, actor, session_id: int | None = None, session_key: str | None = None) -> IssuedToken:
        now = self.now()
        exp = now + self.lifetime
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": str(actor.user_id), "role": actor.role,
                  "username": actor.username, "sid": session_id, "sk": session_key, "iat": int(now.timestamp()),
                  "exp": int(exp.timestamp())}
        return IssuedToken(jwt.encode(claims, self.key, algorithm=ALGORITHM), exp, int(self.lifetime.total_seconds()))

    def verify(self, token: str) -> dict:
        try:
            return jwt.decode(token, self.key, algorithms=[ALGORITHM], audience=AUDIENCE, issuer=ISSUER,
                              leeway=self.leeway, options={"require": ["exp", "iat", "iss", "aud", "sub"],
                                                           "verify_iat": False})
        except ExpiredSignatureError:
            raise AuthenticationError("The access token has expired: sign in again (POST /api/auth/login).") from None
        except PyJWTError:
            raise AuthenticationError("The access token is not valid: sign in again (POST /api/auth/login).") from None


def is_local(token: str) -> bool:
    """The token names our algorithm and issuer (unverified: only to choose the verifier)."""
    try:
        return jwt.get_unverified_header(token).get("alg") == ALGORITHM
    except PyJWTError:
        return False


def local_actor(storage, claims: dict, client: str | None = None):
    """The actor of a verified local token, resolved from the stored user as the app does."""
    from services.accounts.scopes import actor_for

    try:
        user_id = int(claims["sub"])
    except (KeyError, TypeError, ValueError):
        raise AuthenticationError("The access token names no user.") from None
    user = storage.get_user(user_id=user_id)
    if user is None or not user.is_active:
        raise AuthenticationError("The access token's user no longer exists or is deactivated.")
    _check_session(storage, claims, user_id)
    return actor_for(storage, user, client)


def _check_session(storage, claims: dict, user_id: int) -> None:
    """The sign-in session the token was issued under is still live (not ended, not past its
    absolute lifetime). Idle time is not counted: the token's own 15 minutes bound that."""
    import hmac

    key = claims.get("sk")
    sess = storage.get_session(key) if isinstance(key, str) and key else None
    if (sess is None or not hmac.compare_digest(sess.token_hash, key) or sess.user_id != user_id
            or sess.id != claims.get("sid")):
        raise AuthenticationError("The access token names no sign-in session: sign in again (POST /api/auth/login).")
    if sess.revoked_at is not None or utcnow() >= sess.expires_at:
        raise AuthenticationError("The sign-in session of this access token has ended: sign in again "
                                  "(POST /api/auth/login).")
