"""Sign-in, server-side sessions and user management (OWASP ASVS level 2, sections 2 and 3).

- Passwords: argon2id (services/accounts/passwords.py); the policy is services/accounts/password_policy.py.
- Login: one generic failure message whatever went wrong (unknown user, wrong password, locked,
  deactivated), and an argon2 verification runs in every case so the time taken does not tell
  either. 5 failed logins in a row lock the account for 15 minutes (a correct password is
  refused while locked; failures while locked do not extend it). Each attempt is checked and
  counted in the database before its password is verified (Storage.reserve_login_attempt), so
  parallel attempts cannot slip past the lockout. Every attempt is in audit_log
  (login.success / login.failed / login.lockout) with the time and the client. A per-client
  throttle (services/accounts/throttle.py) refuses a client address that tries too often.
- Sessions: the browser holds only a random token (256 bits); the database keeps its SHA-256 in
  user_sessions. Every request validates it: revoked, idle longer than the idle timeout (default
  30 min) or older than the absolute timeout (default 12 h) ends it. The user's role and active
  flag are read again each time, so a role change or deactivation applies at once.
- Auth0 (Streamlit's st.login): `oidc_session` ties the identity cookie's claims to a server
  session row so the same timeouts apply on top of Streamlit's 30-day cookie.
- Admin user management checks Permission.MANAGE_USERS here, not only in the UI.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from typing import Callable

from services.clock import utcnow
from services.errors import (
    AuthenticationError, NotFoundError, PermissionDeniedError, RateLimitedError, ValidationError,
)
from services.accounts.identity import AUTH0, auth0_user
from services.accounts.scopes import actor_for
from services.models import Page, User, UserSession
from services.accounts.password_policy import check_password
from services.accounts.passwords import hash_password, needs_rehash, verify_password
from services.accounts.roles import ROLES, Actor, Permission, require
from services.text import NUL, refuses_nul, without_nul
from services.accounts.throttle import SlidingWindow, ThrottleSettings, wait_text

log = logging.getLogger("meterline.auth")

LOCAL = "local"
PROVIDERS = (LOCAL, AUTH0)
USERNAME_RE = re.compile(r"^[A-Za-z0-9][\w.@|+-]{2,63}$")  # also fits Auth0 ids like "auth0|64f..."
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
TOUCH_EVERY = dt.timedelta(seconds=15)  # write last_seen_at at most this often per session
# A sign-in reserved longer ago than this is no longer counted as in flight: the process verifying
# it died (an argon2 check takes well under a second).
ATTEMPT_STALE_AFTER = dt.timedelta(minutes=1)


class SessionExpiredError(AuthenticationError):
    """The session is gone: `reason` is missing, unknown, revoked, idle, absolute or inactive."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


@dataclass(frozen=True)
class SignedIn:
    token: str  # give this to the browser session only; the database keeps its hash
    actor: Actor
    session_id: int


@dataclass(frozen=True)
class ActiveSession:
    actor: Actor
    user: User
    session: UserSession


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _clip(value: str | None, n: int) -> str | None:
    return value[:n] if value else value


@refuses_nul(exempt=("login",))  # login answers every bad input with the same generic refusal
class AuthService:
    def __init__(self, storage, *, idle_minutes: int = 30, absolute_hours: int = 12, max_failures: int = 5,
                 lockout_minutes: int = 15, now: Callable[[], dt.datetime] = utcnow,
                 login_throttle: SlidingWindow | None = None):
        self.storage = storage
        self.login_throttle = login_throttle  # per client address, in this process (services/accounts/throttle.py)
        self.idle = dt.timedelta(minutes=idle_minutes)
        self.absolute = dt.timedelta(hours=absolute_hours)
        self.max_failures = max_failures
        self.lockout = dt.timedelta(minutes=lockout_minutes)
        self.now = now
        self.failure_message = (f"Wrong username or password. After {max_failures} failed attempts an account "
                                f"is locked for {lockout_minutes} minutes.")

    @classmethod
    def from_settings(cls, storage, settings, now: Callable[[], dt.datetime] = utcnow) -> "AuthService":
        return cls(storage, idle_minutes=settings.session_idle_minutes,
                   absolute_hours=settings.session_absolute_hours, now=now,
                   login_throttle=ThrottleSettings.from_env().login_window())

    # ---- sign-in ------------------------------------------------------------------------------
    def login(self, username: str, password: str, client: str | None = None,
              client_ip: str | None = None) -> SignedIn:
        """A new session, or AuthenticationError with the same message whatever the cause.
        RateLimitedError when `client_ip` made too many attempts (the per-client throttle).

        The attempt is checked against the lockout and counted in the database (one atomic
        reservation) before the password hash is verified, so parallel attempts cannot get past
        the lockout: at most max_failures attempts of one account are ever verified at a time."""
        if client_ip is not None and self.login_throttle is not None:
            wait = self.login_throttle.hit(client_ip)
            if wait is not None:
                log.warning("sign-in throttled for client %s (retry in %s s)", client_ip, wait)
                raise RateLimitedError(f"Too many sign-in attempts from your address. Wait {wait_text(wait)} "
                                       "and try again.", wait)
        now, client = self.now(), _clip(without_nul(client), 128)
        name = (username or "").strip()
        user = self.storage.get_user(username=name) if 0 < len(name) <= 64 and NUL not in name else None
        name = without_nul(name)  # kept on record as typed, but storable
        stored = user.password_hash if user is not None and user.auth_provider == LOCAL else None
        who = Actor(user.id if user else None, _clip(name, 64) or "(empty)", user.role if user else "anonymous", client)
        refusal = None
        if user is None:
            refusal = ("unknown_user", {})
        elif not user.is_active:
            refusal = ("inactive", {})
        elif user.auth_provider != LOCAL:
            refusal = ("no_password_sign_in", {})
        else:
            reserved, locked_until = self.storage.reserve_login_attempt(
                user.id, now=now, max_failures=self.max_failures, stale_before=now - ATTEMPT_STALE_AFTER)
            if locked_until is not None:
                refusal = ("locked", {"locked_until": locked_until})
            elif not reserved:  # failures + attempts being verified right now reach the limit
                refusal = ("too_many_attempts", {"max_failures": self.max_failures})
        if refusal is not None:
            verify_password(None, password or "")  # the same argon2 work, so the time taken tells nothing
            return self._fail(who, user, refusal[0], **refusal[1])
        if not verify_password(stored, password or ""):
            failures, until = self.storage.record_login_failure(
                user.id, now=now, max_failures=self.max_failures, lock_until=now + self.lockout)
            if until is not None:
                self.storage.write_audit(who, "login.lockout", "user", user.id,
                                         {"failures": failures, "locked_until": until})
                return self._fail(who, user, "bad_password", failures=failures, locked_until=until)
            return self._fail(who, user, "bad_password", failures=failures)
        locked_until = self.storage.record_login_success(user.id, now=now)
        if locked_until is not None:  # locked by a parallel failure meanwhile: no sign-in once locked
            return self._fail(who, user, "locked", locked_until=locked_until)
        if needs_rehash(stored):  # parameters were raised since it was made
            self.storage.update_user(user.id, {"password_hash": hash_password(password)}, None, "")
        return self._start(user, client, now, "password")

    def _fail(self, who: Actor, user: User | None, reason: str, **details):
        self.storage.write_audit(who, "login.failed", "user" if user else None, user.id if user else None,
                                 {"reason": reason, "method": "password", **details})
        raise AuthenticationError(self.failure_message)

    def _start(self, user: User, client: str | None, now: dt.datetime, method: str,
               key: str | None = None, expires_at: dt.datetime | None = None) -> SignedIn:
        token = secrets.token_urlsafe(32)
        sess = self.storage.create_session(token_hash=key or token_hash(token), user_id=user.id, client=client,
                                           now=now, expires_at=expires_at or now + self.absolute)
        actor = actor_for(self.storage, user, client)  # with the areas the user works in (scopes.py)
        self.storage.write_audit(actor, "login.success", "user", user.id, {"method": method, "session_id": sess.id})
        return SignedIn(token, actor, sess.id)

    # ---- sessions -----------------------------------------------------------------------------
    def validate(self, token: str | None) -> ActiveSession:
        """The live session for this token (and mark it active), or SessionExpiredError."""
        if not token:
            raise SessionExpiredError("missing", "Please sign in.")
        key = token_hash(token)
        sess = self.storage.get_session(key)
        if sess is not None and not hmac.compare_digest(sess.token_hash, key):  # constant time, whatever the index did
            sess = None
        return self._check(sess)

    def _check(self, sess: UserSession | None) -> ActiveSession:
        now = self.now()
        if sess is None:
            raise SessionExpiredError("unknown", "Your session is not known. Please sign in again.")
        if sess.revoked_at is not None:
            why = (sess.revoked_reason or "ended").replace("_", " ")
            raise SessionExpiredError("revoked", f"Your session was ended ({why}). Please sign in again.")
        if now >= sess.expires_at:
            self._end(sess, "absolute_timeout", now)
            hours = int(self.absolute.total_seconds() // 3600)
            raise SessionExpiredError("absolute", f"Sessions last at most {hours} hours. Please sign in again.")
        if now - sess.last_seen_at >= self.idle:
            self._end(sess, "idle_timeout", now)
            minutes = int(self.idle.total_seconds() // 60)
            raise SessionExpiredError("idle", f"You were signed out after {minutes} minutes without activity. "
                                              "Please sign in again.")
        user = self.storage.get_user(user_id=sess.user_id)
        if user is None or not user.is_active:
            self._end(sess, "user_deactivated", now)
            raise SessionExpiredError("inactive", "This account is deactivated.")
        if now - sess.last_seen_at >= TOUCH_EVERY:
            self.storage.touch_session(sess.id, now)
            sess = dataclasses.replace(sess, last_seen_at=now)
        # The scope is read again on every request: a change of the user's areas applies at once.
        return ActiveSession(actor_for(self.storage, user, sess.client), user, sess)

    def _end(self, sess: UserSession, reason: str, now: dt.datetime) -> None:
        if self.storage.revoke_sessions(session_id=sess.id, reason=reason, now=now):
            user = self.storage.get_user(user_id=sess.user_id)
            who = Actor(sess.user_id, user.username if user else f"user#{sess.user_id}",
                        user.role if user else "anonymous", sess.client)
            self.storage.write_audit(who, "session.end", "user", sess.user_id, {"session_id": sess.id, "reason": reason})

    def logout(self, token: str | None) -> None:
        if token:
            self._logout(self.storage.get_session(token_hash(token)))

    def logout_everywhere(self, token: str | None) -> int:
        """Sign out every session of this token's user (every browser and phone); the number ended.
        Each is revoked in the database, so a cookie copied anywhere stops working at once."""
        if not token:
            return 0
        sess = self.storage.get_session(token_hash(token))
        if sess is None:
            return 0
        now = self.now()
        ended = self.storage.revoke_sessions(user_id=sess.user_id, reason="logout_everywhere", now=now)
        user = self.storage.get_user(user_id=sess.user_id)
        who = Actor(sess.user_id, user.username if user else f"user#{sess.user_id}", user.role if user else "anonymous",
                    sess.client)
        self.storage.write_audit(who, "session.end_all", "user", sess.user_id, {"sessions": ended})
        return ended

    def _logout(self, sess: UserSession | None) -> None:
        if sess is not None and sess.revoked_at is None:
            self._end(sess, "logout", self.now())

    # ---- Auth0 through Streamlit's st.login ---------------------------------------------------
    @staticmethod
    def oidc_key(claims: dict) -> str:
        """One login at the provider = one identity token = one server session. The ID token's
        iat and nonce are fixed for the life of Streamlit's cookie, so reloading the page finds
        the same row (and its idle/absolute clocks) instead of starting a new one."""
        if not claims.get("sub") or claims.get("iat") is None:
            raise AuthenticationError("The identity token has no subject or issue time; sign in again.")
        raw = f"oidc|{claims.get('iss', '')}|{claims['sub']}|{claims['iat']}|{claims.get('nonce', '')}"
        return hashlib.sha256(raw.encode()).hexdigest()

    def oidc_session(self, claims: dict, client: str | None = None) -> ActiveSession:
        key = self.oidc_key(claims)
        sess = self.storage.get_session(key)
        if sess is not None:
            return self._check(sess)
        now, client = self.now(), _clip(client, 128)
        who = Actor(None, _clip(str(claims.get("sub")), 64), "anonymous", client)
        try:
            user = auth0_user(self.storage, claims)
        except AuthenticationError as exc:
            self.storage.write_audit(who, "login.failed", None, None, {"reason": "no_local_user_or_inactive",
                                                                       "method": AUTH0, "email": claims.get("email")})
            raise exc from None
        issued = dt.datetime.fromtimestamp(float(claims["iat"]), dt.timezone.utc)
        if now - issued >= self.absolute:
            raise SessionExpiredError("absolute", "Your Auth0 sign-in is older than the session limit. "
                                                  "Please sign in again.")
        try:
            self._start(user, client, now, AUTH0, key=key, expires_at=issued + self.absolute)
        except Exception:
            if self.storage.get_session(key) is None:  # not a second tab racing us to the same row
                raise
        return self._check(self.storage.get_session(key))

    def end_oidc_session(self, claims: dict) -> None:
        self._logout(self.storage.get_session(self.oidc_key(claims)))

    # ---- own password -----------------------------------------------------------------------
    def change_password(self, token: str, current_password: str, new_password: str) -> int:
        """Change the signed-in user's password; ends their other sessions (returns how many)."""
        active = self.validate(token)
        user, actor = active.user, active.actor
        if user.auth_provider != LOCAL:
            raise ValidationError("password", "is managed by Auth0 for this account.", "Change it at Auth0.")
        if not verify_password(user.password_hash, current_password or ""):
            self.storage.write_audit(actor, "password.change_failed", "user", user.id, {"reason": "wrong_current"})
            raise ValidationError("current_password", "is wrong.", "Type your current password again.")
        if new_password == current_password:
            raise ValidationError("new_password", "is the same as the current one.", "Choose a new password.")
        check_password(new_password, user.username, field="new_password")
        now = self.now()
        self.storage.update_user(user.id, {"password_hash": hash_password(new_password), "password_changed_at": now},
                                 actor, "user.password_change")
        return self.storage.revoke_sessions(user_id=user.id, except_session_id=active.session.id,
                                            reason="password_changed", now=now)

    # ---- user management (admins) -------------------------------------------------------------
    def list_users(self, actor: Actor | None, offset: int = 0, limit: int = 50) -> Page[User]:
        require(actor, Permission.MANAGE_USERS)
        return self.storage.list_users(offset=offset, limit=limit)

    def get_user(self, actor: Actor | None, user_id: int) -> User:
        require(actor, Permission.MANAGE_USERS)
        user = self.storage.get_user(user_id=user_id)
        if user is None:
            raise NotFoundError(f"User {user_id} does not exist.")
        return user

    def create_user(self, actor: Actor | None, *, username: str, role: str, password: str | None = None,
                    display_name: str = "", email: str | None = None, auth_provider: str = LOCAL) -> User:
        actor = require(actor, Permission.MANAGE_USERS)
        username = (username or "").strip()
        email = (email or "").strip().lower() or None
        if not USERNAME_RE.match(username):
            raise ValidationError("username", f"'{username}' is not a valid username.",
                                  "Use 3-64 letters, digits or . _ - @ | +, starting with a letter or digit.")
        if role not in ROLES:
            raise ValidationError("role", f"'{role}' is not a role.", f"Use one of {', '.join(ROLES)}.")
        if auth_provider not in PROVIDERS:
            raise ValidationError("auth_provider", f"'{auth_provider}' is not a sign-in method.",
                                  f"Use one of {', '.join(PROVIDERS)}.")
        if email is not None and not EMAIL_RE.match(email):
            raise ValidationError("email", f"'{email}' is not an email address.", "Use the form name@example.com.")
        if len(display_name or "") > 128:
            raise ValidationError("display_name", "is longer than 128 characters.", "Shorten it.")
        if auth_provider == LOCAL:
            check_password(password or "", username)
            password_hash = hash_password(password)
        else:
            if password:
                raise ValidationError("password", "is not used for Auth0 accounts.", "Leave it empty.")
            password_hash = None
        return self.storage.create_user(username=username, role=role, password_hash=password_hash, actor=actor,
                                        display_name=(display_name or "").strip(), email=email,
                                        auth_provider=auth_provider)

    def set_active(self, actor: Actor | None, user_id: int, active: bool) -> User:
        actor = require(actor, Permission.MANAGE_USERS)
        user = self.get_user(actor, user_id)
        if not active and user.id == actor.user_id:
            raise PermissionDeniedError("You cannot deactivate your own account; ask another administrator.")
        out = self.storage.update_user(user.id, {"is_active": active}, actor,
                                       "user.reactivate" if active else "user.deactivate")
        if not active:
            self.storage.revoke_sessions(user_id=user.id, reason="user_deactivated", now=self.now())
        return out

    def change_role(self, actor: Actor | None, user_id: int, role: str) -> User:
        actor = require(actor, Permission.MANAGE_USERS)
        user = self.get_user(actor, user_id)
        if role not in ROLES:
            raise ValidationError("role", f"'{role}' is not a role.", f"Use one of {', '.join(ROLES)}.")
        if user.id == actor.user_id and role != user.role:
            raise PermissionDeniedError("You cannot change your own role; ask another administrator.")
        # Sessions re-read the role on every request, so the change applies at once.
        return self.storage.update_user(user.id, {"role": role}, actor, "user.role")

    # ---- the areas staff work in (services/accounts/scopes.py) -------------------------------------
    def _staff_manager(self, actor: Actor | None) -> Actor:
        actor = require(actor, Permission.MANAGE_USERS)
        if not actor.scope.is_everything:
            raise PermissionDeniedError("Only the head office (a user who sees every area) assigns staff areas.")
        return actor

    def user_areas(self, actor: Actor | None, user_id: int) -> list:
        """The areas assigned to a user (an area-limited user sees only these areas' subtrees)."""
        self._staff_manager(actor)
        return self.storage.list_user_areas(self.get_user(actor, user_id).id)

    def assign_areas(self, actor: Actor | None, user_id: int, area_ids) -> list:
        """Replace the areas a user works in (audited "user.areas"). Sessions re-read the scope on every
        request, so the change applies at once."""
        actor = self._staff_manager(actor)
        user = self.get_user(actor, user_id)
        return self.storage.set_user_areas(user.id, list(area_ids), actor)

    def reset_password(self, actor: Actor | None, user_id: int, new_password: str) -> User:
        """Set a new password (and lift a lockout); every session of that user ends."""
        actor = require(actor, Permission.MANAGE_USERS)
        user = self.get_user(actor, user_id)
        if user.auth_provider != LOCAL:
            raise ValidationError("password", f"'{user.username}' signs in with Auth0.", "Reset it at Auth0.")
        check_password(new_password, user.username)
        now = self.now()
        out = self.storage.update_user(user.id, {"password_hash": hash_password(new_password),
                                                 "password_changed_at": now, "failed_login_count": 0,
                                                 "locked_until": None}, actor, "user.password_reset")
        self.storage.revoke_sessions(user_id=user.id, reason="password_reset", now=now)
        return out

    def unlock(self, actor: Actor | None, user_id: int) -> User:
        actor = require(actor, Permission.MANAGE_USERS)
        user = self.get_user(actor, user_id)
        return self.storage.update_user(user.id, {"failed_login_count": 0, "locked_until": None}, actor, "user.unlock")
