"""REST backend part: users, sessions, audit listing, notifications, payment events, job runs."""
from __future__ import annotations

import datetime as dt

from services.clock import utcnow
from services.errors import DuplicateError, ValidationError
from services.models import AuditEntry, JobRun, Notification, Page, PaymentEvent, User, UserSession
from services.accounts.roles import ROLES
from services.storage.rest_client import actor_json, like_escape, parse_row
from services.storage.sql_users import NOTIFICATION_MUTABLE, USER_MUTABLE
from services.storage.sql_backend import _jsonable

_NEWEST = (("id", True),)


class RestUsersPart:
    # ---- users -------------------------------------------------------------------------
    def create_user(self, *, username, role, password_hash, actor, display_name="", email=None, auth_provider="local") -> User:
        if role not in ROLES:
            raise ValidationError("role", f"'{role}' is not a role.", f"Use one of {', '.join(ROLES)}.")
        try:
            uid = self.rest.rpc("meterline_create_user", {
                "p_username": username, "p_role": role, "p_password_hash": password_hash,
                "p_display_name": display_name or username, "p_email": email, "p_auth_provider": auth_provider,
                "p_actor": actor_json(actor)}, what=f"creating user {username}")
        except DuplicateError:
            raise DuplicateError(f"A user named '{username}' (or with that email) already exists.") from None
        return self.get_user(user_id=uid)

    def get_user(self, *, user_id=None, username=None, email=None) -> User | None:
        if user_id is not None:
            flt = [("eq", "id", user_id)]
        elif username is not None:
            flt = [("ilike", "username", like_escape(username))]  # case-insensitive, as uq_users_username_lower
        elif email is not None:
            # Case-insensitive equality: ILIKE with the pattern characters escaped, then exact in Python.
            flt = [("ilike", "email", like_escape(email))]
        else:
            return None
        rows, _ = self.rest.select("users", filters=flt, order=(("id", False),), limit=50)
        if email is not None and user_id is None and username is None:
            rows = [r for r in rows if (r["email"] or "").lower() == email.lower()]
        elif username is not None and user_id is None:
            rows = [r for r in rows if (r["username"] or "").lower() == username.lower()]
        return User.from_row(rows[0]) if rows else None

    def list_users(self, offset=0, limit=50) -> Page[User]:
        rows, total = self.rest.select("users", order=(("username", False), ("id", False)), offset=offset, limit=limit,
                                       count="exact")
        return Page([User.from_row(x) for x in rows], offset, limit, total)

    def update_user(self, user_id, changes, actor, action) -> User:
        bad = set(changes) - USER_MUTABLE
        if bad:
            raise ValueError(f"cannot change user columns {sorted(bad)}")
        if "role" in changes and changes["role"] not in ROLES:
            raise ValidationError("role", f"'{changes['role']}' is not a role.", f"Use one of {', '.join(ROLES)}.")
        shown = {k: ("(changed)" if k == "password_hash" else v) for k, v in changes.items()}
        try:
            self.rest.rpc("meterline_update_user", {
                "p_id": user_id, "p_changes": changes, "p_actor": actor_json(actor), "p_action": action,
                "p_details": _jsonable(shown)}, what=f"changing user {user_id}")
        except DuplicateError:
            raise DuplicateError("Another user already has that email.") from None
        return self.get_user(user_id=user_id)

    def reserve_login_attempt(self, user_id, *, now, max_failures, stale_before):
        # Not retried: a repeated call would hold two reservations (the stale limit frees them).
        out = self.rest.rpc("meterline_reserve_login_attempt", {
            "p_id": user_id, "p_max": max_failures, "p_now": now, "p_stale_before": stale_before},
            what="checking a sign-in attempt")
        return bool(out["reserved"]), _timestamp(out.get("locked_until"))

    def record_login_success(self, user_id, *, now):
        out = self.rest.rpc("meterline_record_login_success", {"p_id": user_id, "p_now": now},
                            what="recording a sign-in")
        until = _timestamp(out.get("locked_until"))
        return until if until is not None and until > now else None

    def record_login_failure(self, user_id, *, now, max_failures, lock_until):
        # Not retried: a repeated call would count one failure twice.
        out = self.rest.rpc("meterline_record_login_failure", {
            "p_id": user_id, "p_max": max_failures, "p_lock_until": lock_until, "p_now": now},
            what="counting a failed sign-in")
        if out["locked"]:
            return max_failures, lock_until
        return int(out["failed_login_count"]), None

    # ---- sessions ----------------------------------------------------------------------
    def create_session(self, *, token_hash, user_id, client, now, expires_at) -> UserSession:
        rows = self.rest.insert("user_sessions", [{
            "token_hash": token_hash, "user_id": user_id, "client": client, "created_at": now, "last_seen_at": now,
            "expires_at": expires_at}], what="starting a session", returning="*")
        return UserSession.from_row(rows[0])

    def get_session(self, token_hash) -> UserSession | None:
        rows, _ = self.rest.select("user_sessions", filters=[("eq", "token_hash", token_hash)], limit=1)
        return UserSession.from_row(rows[0]) if rows else None

    def touch_session(self, session_id, now) -> None:
        self.rest.update("user_sessions", {"last_seen_at": now}, [("eq", "id", session_id)],
                         what="refreshing the session", idempotent=True)

    def revoke_sessions(self, *, user_id=None, session_id=None, except_session_id=None, reason, now) -> int:
        flt = [("is", "revoked_at", None)]
        if session_id is not None:
            flt.append(("eq", "id", session_id))
        elif user_id is not None:
            flt.append(("eq", "user_id", user_id))
        else:
            raise ValueError("revoke_sessions needs user_id or session_id")
        if except_session_id is not None:
            flt.append(("neq", "id", except_session_id))
        rows = self.rest.update("user_sessions", {"revoked_at": now, "revoked_reason": reason}, flt,
                                what="revoking sessions", returning="id")
        return len(rows)

    # ---- audit -------------------------------------------------------------------------
    def write_audit(self, actor, action, entity_type=None, entity_id=None, details=None) -> None:
        self.rest.insert("audit_log", [{
            "occurred_at": utcnow(), "actor_id": actor.user_id, "actor_name": actor.username, "client": actor.client,
            "action": action, "entity_type": entity_type, "entity_id": None if entity_id is None else str(entity_id),
            "details": _jsonable(details) if details else None}], what=f"writing the audit entry {action}")

    def list_audit(self, *, action_prefix=None, entity_type=None, entity_id=None, offset=0, limit=50,
                   actor_name=None, since=None, until=None, with_total=False) -> Page[AuditEntry]:
        flt = []
        if action_prefix:
            flt.append(("like", "action", like_escape(action_prefix) + "*"))
        if entity_type:
            flt.append(("eq", "entity_type", entity_type))
        if entity_id is not None:
            flt.append(("eq", "entity_id", str(entity_id)))
        if actor_name:
            flt.append(("ilike", "actor_name", like_escape(actor_name.strip())))
        if since is not None:
            flt.append(("gte", "occurred_at", since.isoformat()))
        if until is not None:
            flt.append(("lt", "occurred_at", until.isoformat()))
        rows, total = self.rest.select("audit_log", filters=flt, order=_NEWEST, offset=offset, limit=limit,
                                       count="exact" if with_total else None)
        return Page([AuditEntry.from_row(x) for x in rows], offset, limit, total)

    # ---- notifications -----------------------------------------------------------------
    def insert_notification(self, row) -> Notification:
        values = dict(row)
        values.setdefault("created_at", utcnow())
        rows = self.rest.insert("notifications", [values], what="storing a notification", returning="*")
        return Notification.from_row(rows[0])

    def update_notification(self, notification_id, changes) -> Notification:
        bad = set(changes) - NOTIFICATION_MUTABLE
        if bad:
            raise ValueError(f"cannot change notification columns {sorted(bad)}")
        rows = self.rest.update("notifications", dict(changes), [("eq", "id", notification_id)],
                                what=f"updating notification {notification_id}", returning="*", idempotent=True)
        return Notification.from_row(rows[0]) if rows else None

    def get_notification(self, notification_id) -> Notification | None:
        rows, _ = self.rest.select("notifications", filters=[("eq", "id", notification_id)], limit=1)
        return Notification.from_row(rows[0]) if rows else None

    def list_notifications(self, *, status=None, bill_id=None, kind=None, offset=0, limit=50) -> Page[Notification]:
        flt = ([("eq", "status", status)] if status else []) + ([("eq", "bill_id", bill_id)] if bill_id else []) + \
              ([("eq", "kind", kind)] if kind else [])
        rows, total = self.rest.select("notifications", filters=flt, order=_NEWEST, offset=offset, limit=limit,
                                       count="exact")
        return Page([Notification.from_row(x) for x in rows], offset, limit, total)

    # ---- payment events ----------------------------------------------------------------
    def record_payment_event(self, row) -> tuple[PaymentEvent, bool]:
        values = dict(row)
        values.setdefault("received_at", utcnow())
        eid = values.get("stripe_event_id")
        try:
            rows = self.rest.insert("payment_events", [values], what="storing a payment event", returning="*")
            return PaymentEvent.from_row(rows[0]), True
        except DuplicateError:
            if not eid:
                raise
            found, _ = self.rest.select("payment_events", filters=[("eq", "stripe_event_id", eid)], limit=1)
            return PaymentEvent.from_row(found[0]), False

    def list_payment_events(self, *, bill_id=None, offset=0, limit=50) -> Page[PaymentEvent]:
        flt = [("eq", "bill_id", bill_id)] if bill_id is not None else []
        rows, _ = self.rest.select("payment_events", filters=flt, order=_NEWEST, offset=offset, limit=limit)
        return Page([PaymentEvent.from_row(x) for x in rows], offset, limit)

    # ---- job runs ----------------------------------------------------------------------
    def claim_job_run(self, job_id, run_key, host, now) -> JobRun | None:
        out = self.rest.rpc("meterline_claim_job_run", {"p_job_id": job_id, "p_run_key": run_key, "p_host": host,
                                                        "p_now": now}, what=f"claiming job {job_id} {run_key}")
        return JobRun.from_row(parse_row("job_runs", out)) if out else None

    def finish_job_run(self, run_id, *, status, counts, error, now) -> None:
        self.rest.update("job_runs", {"status": status, "counts": counts, "error": error, "finished_at": now},
                         [("eq", "id", run_id)], what=f"finishing job run {run_id}", idempotent=True)

    def list_job_runs(self, *, job_id=None, limit=20) -> list[JobRun]:
        flt = [("eq", "job_id", job_id)] if job_id else []
        rows, _ = self.rest.select("job_runs", filters=flt, order=_NEWEST, limit=limit)
        return [JobRun.from_row(x) for x in rows]


def _timestamp(value) -> dt.datetime | None:
    """A timestamptz from a function's jsonb answer (ISO 8601 text), timezone-aware."""
    if value is None:
        return None
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
