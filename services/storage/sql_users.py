"""SQL backend part: users, sessions, audit listing, notifications, payment events, job runs."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from database import schema as s
from services.clock import utcnow
from services.errors import DuplicateError, NotFoundError, ValidationError
from services.models import AuditEntry, JobRun, Notification, Page, PaymentEvent, User, UserSession
from services.accounts.roles import ROLES
from services.storage.sql_common import is_unique_violation, read_tx, write_tx

u, us, a, n, pe, jr = s.users, s.user_sessions, s.audit_log, s.notifications, s.payment_events, s.job_runs

USER_MUTABLE = frozenset({"role", "is_active", "password_hash", "display_name", "email", "failed_login_count",
                          "locked_until", "password_changed_at"})
# Ends one sign-in reservation (never below zero: reservations older than the stale limit were
# already forgotten by reserve_login_attempt).
_released = sa.case((u.c.login_attempts_in_flight > 0, u.c.login_attempts_in_flight - 1), else_=0)


def _live_in_flight(stale_before):
    """Attempts still in flight; those reserved before `stale_before` belong to a process that died."""
    stale = sa.or_(u.c.login_attempt_at.is_(None), u.c.login_attempt_at < sa.literal(stale_before, s.UTCDateTime()))
    return sa.case((stale, 0), else_=u.c.login_attempts_in_flight)


NOTIFICATION_MUTABLE = frozenset({"status", "provider_message_id", "error", "attempts", "sent_at", "message", "recipient"})


class UsersPart:
    # ---- users -------------------------------------------------------------------------
    def create_user(self, *, username, role, password_hash, actor, display_name="", email=None, auth_provider="local") -> User:
        if role not in ROLES:
            raise ValidationError("role", f"'{role}' is not a role.", f"Use one of {', '.join(ROLES)}.")
        now = utcnow()
        try:
            with write_tx(self.engine) as conn:
                uid = conn.execute(u.insert().values(
                    username=username, role=role, password_hash=password_hash, display_name=display_name or username,
                    email=email, auth_provider=auth_provider, created_at=now, updated_at=now,
                    password_changed_at=now if password_hash else None,
                ).returning(u.c.id)).scalar_one()
                self._audit(conn, actor, "user.create", "user", uid, {"username": username, "role": role,
                                                                      "auth_provider": auth_provider})
        except IntegrityError as exc:
            if is_unique_violation(exc):
                raise DuplicateError(f"A user named '{username}' (or with that email) already exists.") from None
            raise
        return self.get_user(user_id=uid)

    def get_user(self, *, user_id=None, username=None, email=None) -> User | None:
        q = sa.select(u)
        if user_id is not None:
            q = q.where(u.c.id == user_id)
        elif username is not None:
            q = q.where(sa.func.lower(u.c.username) == username.lower())  # uq_users_username_lower serves it
        elif email is not None:
            q = q.where(sa.func.lower(u.c.email) == email.lower())
        else:
            return None
        with read_tx(self.engine) as conn:
            row = conn.execute(q).mappings().first()
        return User.from_row(row) if row else None

    def list_users(self, offset=0, limit=50) -> Page[User]:
        with read_tx(self.engine) as conn:
            rows = conn.execute(sa.select(u).order_by(u.c.username).offset(offset).limit(limit)).mappings().all()
            total = conn.execute(sa.select(sa.func.count()).select_from(u)).scalar_one()
        return Page([User.from_row(x) for x in rows], offset, limit, total)

    def update_user(self, user_id, changes, actor, action) -> User:
        bad = set(changes) - USER_MUTABLE
        if bad:
            raise ValueError(f"cannot change user columns {sorted(bad)}")
        if "role" in changes and changes["role"] not in ROLES:
            raise ValidationError("role", f"'{changes['role']}' is not a role.", f"Use one of {', '.join(ROLES)}.")
        with write_tx(self.engine) as conn:
            n_ = conn.execute(u.update().where(u.c.id == user_id).values(**changes, updated_at=utcnow())).rowcount
            if not n_:
                raise NotFoundError(f"User {user_id} does not exist.")
            if actor is not None:
                shown = {k: ("(changed)" if k == "password_hash" else v) for k, v in changes.items()}
                self._audit(conn, actor, action, "user", user_id, shown)
        return self.get_user(user_id=user_id)

    def reserve_login_attempt(self, user_id, *, now, max_failures, stale_before):
        # One UPDATE whose WHERE is the check: two parallel attempts can never both see room for
        # one more (each UPDATE sees the row as the previous one left it).
        ts = s.UTCDateTime()
        unlocked = sa.or_(u.c.locked_until.is_(None), u.c.locked_until <= sa.literal(now, ts))
        with write_tx(self.engine) as conn:
            row = conn.execute(u.update().where(
                u.c.id == user_id, unlocked, u.c.failed_login_count + _live_in_flight(stale_before) < max_failures,
            ).values(login_attempts_in_flight=_live_in_flight(stale_before) + 1, login_attempt_at=now)
                .returning(u.c.id)).first()
            if row is not None:
                return True, None
            lock = conn.execute(sa.select(u.c.locked_until).where(u.c.id == user_id)).first()
        if lock is None:
            raise NotFoundError(f"User {user_id} does not exist.")
        return False, (lock.locked_until if lock.locked_until is not None and lock.locked_until > now else None)

    def record_login_failure(self, user_id, *, now, max_failures, lock_until):
        # One UPDATE: SET expressions see the row as it was, so parallel failures all count.
        reached = u.c.failed_login_count + 1 >= max_failures
        with write_tx(self.engine) as conn:
            row = conn.execute(u.update().where(u.c.id == user_id).values(
                failed_login_count=sa.case((reached, 0), else_=u.c.failed_login_count + 1),
                locked_until=sa.case((reached, sa.literal(lock_until, s.UTCDateTime())), else_=u.c.locked_until),
                login_attempts_in_flight=_released,
                updated_at=now,
            ).returning(u.c.failed_login_count, u.c.locked_until)).first()
        if row is None:
            raise NotFoundError(f"User {user_id} does not exist.")
        locked = row.failed_login_count == 0 and row.locked_until == lock_until
        return (max_failures, lock_until) if locked else (row.failed_login_count, None)

    def record_login_success(self, user_id, *, now):
        locked = sa.and_(u.c.locked_until.is_not(None), u.c.locked_until > sa.literal(now, s.UTCDateTime()))
        with write_tx(self.engine) as conn:
            row = conn.execute(u.update().where(u.c.id == user_id).values(
                failed_login_count=sa.case((locked, u.c.failed_login_count), else_=0),
                locked_until=sa.case((locked, u.c.locked_until), else_=None),
                login_attempts_in_flight=_released,
            ).returning(u.c.locked_until)).first()
        if row is None:
            raise NotFoundError(f"User {user_id} does not exist.")
        return row.locked_until if row.locked_until is not None and row.locked_until > now else None

    # ---- sessions ----------------------------------------------------------------------
    def create_session(self, *, token_hash, user_id, client, now, expires_at) -> UserSession:
        with write_tx(self.engine) as conn:
            sid = conn.execute(us.insert().values(token_hash=token_hash, user_id=user_id, client=client, created_at=now,
                                                  last_seen_at=now, expires_at=expires_at).returning(us.c.id)).scalar_one()
            row = conn.execute(sa.select(us).where(us.c.id == sid)).mappings().one()
        return UserSession.from_row(row)

    def get_session(self, token_hash) -> UserSession | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(sa.select(us).where(us.c.token_hash == token_hash)).mappings().first()
        return UserSession.from_row(row) if row else None

    def touch_session(self, session_id, now) -> None:
        with write_tx(self.engine) as conn:
            conn.execute(us.update().where(us.c.id == session_id).values(last_seen_at=now))

    def revoke_sessions(self, *, user_id=None, session_id=None, except_session_id=None, reason, now) -> int:
        q = us.update().where(us.c.revoked_at.is_(None))
        if session_id is not None:
            q = q.where(us.c.id == session_id)
        elif user_id is not None:
            q = q.where(us.c.user_id == user_id)
        else:
            raise ValueError("revoke_sessions needs user_id or session_id")
        if except_session_id is not None:
            q = q.where(us.c.id != except_session_id)
        with write_tx(self.engine) as conn:
            return conn.execute(q.values(revoked_at=now, revoked_reason=reason)).rowcount

    # ---- audit -------------------------------------------------------------------------
    def list_audit(self, *, action_prefix=None, entity_type=None, entity_id=None, offset=0, limit=50,
                   actor_name=None, since=None, until=None, with_total=False) -> Page[AuditEntry]:
        def where(q):
            if action_prefix:
                q = q.where(a.c.action.startswith(action_prefix, autoescape=True))
            if entity_type:
                q = q.where(a.c.entity_type == entity_type)
            if entity_id is not None:
                q = q.where(a.c.entity_id == str(entity_id))
            if actor_name:
                q = q.where(sa.func.lower(a.c.actor_name) == actor_name.strip().lower())
            if since is not None:
                q = q.where(a.c.occurred_at >= since)
            if until is not None:
                q = q.where(a.c.occurred_at < until)
            return q
        with read_tx(self.engine) as conn:
            rows = conn.execute(where(sa.select(a)).order_by(a.c.id.desc()).offset(offset).limit(limit)).mappings().all()
            total = conn.execute(where(sa.select(sa.func.count()).select_from(a))).scalar_one() if with_total else None
        return Page([AuditEntry.from_row(x) for x in rows], offset, limit, total)

    # ---- notifications -----------------------------------------------------------------
    def insert_notification(self, row) -> Notification:
        values = dict(row)
        values.setdefault("created_at", utcnow())
        with write_tx(self.engine) as conn:
            nid = conn.execute(n.insert().values(**values).returning(n.c.id)).scalar_one()
        return self.get_notification(nid)

    def update_notification(self, notification_id, changes) -> Notification:
        bad = set(changes) - NOTIFICATION_MUTABLE
        if bad:
            raise ValueError(f"cannot change notification columns {sorted(bad)}")
        with write_tx(self.engine) as conn:
            conn.execute(n.update().where(n.c.id == notification_id).values(**changes))
        return self.get_notification(notification_id)

    def get_notification(self, notification_id) -> Notification | None:
        with read_tx(self.engine) as conn:
            row = conn.execute(sa.select(n).where(n.c.id == notification_id)).mappings().first()
        return Notification.from_row(row) if row else None

    def list_notifications(self, *, status=None, bill_id=None, kind=None, offset=0, limit=50) -> Page[Notification]:
        q = sa.select(n)
        cq = sa.select(sa.func.count()).select_from(n)
        for cond in ([n.c.status == status] if status else []) + ([n.c.bill_id == bill_id] if bill_id else []) + \
                    ([n.c.kind == kind] if kind else []):
            q, cq = q.where(cond), cq.where(cond)
        with read_tx(self.engine) as conn:
            rows = conn.execute(q.order_by(n.c.id.desc()).offset(offset).limit(limit)).mappings().all()
            total = conn.execute(cq).scalar_one()
        return Page([Notification.from_row(x) for x in rows], offset, limit, total)

    # ---- payment events ----------------------------------------------------------------
    def record_payment_event(self, row) -> tuple[PaymentEvent, bool]:
        values = dict(row)
        values.setdefault("received_at", utcnow())
        eid = values.get("stripe_event_id")
        try:
            with write_tx(self.engine) as conn:
                pid = conn.execute(pe.insert().values(**values).returning(pe.c.id)).scalar_one()
                row_ = conn.execute(sa.select(pe).where(pe.c.id == pid)).mappings().one()
            return PaymentEvent.from_row(row_), True
        except IntegrityError as exc:
            if eid and is_unique_violation(exc, "stripe_event_id"):
                with read_tx(self.engine) as conn:
                    row_ = conn.execute(sa.select(pe).where(pe.c.stripe_event_id == eid)).mappings().one()
                return PaymentEvent.from_row(row_), False
            raise

    def list_payment_events(self, *, bill_id=None, offset=0, limit=50) -> Page[PaymentEvent]:
        q = sa.select(pe)
        if bill_id is not None:
            q = q.where(pe.c.bill_id == bill_id)
        with read_tx(self.engine) as conn:
            rows = conn.execute(q.order_by(pe.c.id.desc()).offset(offset).limit(limit)).mappings().all()
        return Page([PaymentEvent.from_row(x) for x in rows], offset, limit)

    # ---- job runs ----------------------------------------------------------------------
    def claim_job_run(self, job_id, run_key, host, now) -> JobRun | None:
        try:
            with write_tx(self.engine) as conn:
                row = conn.execute(sa.select(jr).where(jr.c.job_id == job_id, jr.c.run_key == run_key)).mappings().first()
                if row is None:
                    rid = conn.execute(jr.insert().values(job_id=job_id, run_key=run_key, status="running", host=host,
                                                          started_at=now).returning(jr.c.id)).scalar_one()
                elif row["status"] == "failed":
                    # A failed run may be retried: take it over only if nobody else did first.
                    taken = conn.execute(jr.update().where(jr.c.id == row["id"], jr.c.status == "failed").values(
                        status="running", host=host, started_at=now, finished_at=None, error=None)).rowcount
                    if not taken:
                        return None
                    rid = row["id"]
                else:
                    return None
                out = conn.execute(sa.select(jr).where(jr.c.id == rid)).mappings().one()
            return JobRun.from_row(out)
        except IntegrityError as exc:
            if is_unique_violation(exc, "run_key"):
                return None  # another replica claimed it at the same moment
            raise

    def finish_job_run(self, run_id, *, status, counts, error, now) -> None:
        with write_tx(self.engine) as conn:
            conn.execute(jr.update().where(jr.c.id == run_id).values(status=status, counts=counts, error=error,
                                                                      finished_at=now))

    def list_job_runs(self, *, job_id=None, limit=20) -> list[JobRun]:
        q = sa.select(jr)
        if job_id:
            q = q.where(jr.c.job_id == job_id)
        with read_tx(self.engine) as conn:
            return [JobRun.from_row(x) for x in conn.execute(q.order_by(jr.c.id.desc()).limit(limit)).mappings()]
