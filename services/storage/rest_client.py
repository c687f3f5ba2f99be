"""HTTP plumbing of the Supabase REST backend: requests through supabase-py, retries, paging,
exact Decimals, and PostgREST errors translated into the product's errors.

- Retries: only operations that are safe to repeat (reads, the read-only lock probe, writes keyed
  by an idempotency key) are retried after a network failure, a timeout or a 502/503/504; any
  other write is reported, never repeated. supabase-py's own retry is turned off so this is the
  only policy.
- Paging: PostgREST answers at most 1,000 rows per request (db-max-rows), so every read asks for
  a range of at most PAGE rows and longer reads walk page by page.
- Decimals: PostgREST sends numeric columns as JSON numbers, which json.loads turns into floats;
  every numeric column is selected as `col::text` and parsed into an exact Decimal. Outgoing
  Decimals are sent as strings (PostgreSQL casts them exactly).
"""
from __future__ import annotations

import contextlib
import copy
import datetime as dt
import re
import threading
import time
from decimal import Decimal
from typing import Callable, Iterable

import httpx
import sqlalchemy as sa

from database import schema as s
from services.errors import (
    BillCollisionError, BillImmutableError, ConfigurationError, ConflictError, DuplicateError, MeterlineError,
    NotFoundError, PeriodLockedError, StorageError, ValidationError,
)
from services.storage.sql_common import billing_refusal

PAGE = 1000  # Supabase's default db-max-rows: the most rows one request returns
IN_CHUNK = 200  # ids per in.(...) filter, keeping URLs well under proxies' limits
RETRY_STATUSES = (502, 503, 504)
SCHEMA_HINT = ("Run database/supabase_schema.sql in the Supabase SQL editor (it is safe to run again), "
               "then retry.")
KEY_HINT = ("The app server needs the project's service_role key in SUPABASE_KEY (Supabase dashboard: "
            "Project Settings > API); the anon key can read nothing by design.")


class StaleWriteError(ConflictError):
    """The row changed between the read and the compare-and-set write; re-read and try again."""


# ---- column kinds and select lists ---------------------------------------------------------
def _kind(col: sa.Column) -> str:
    t = col.type
    if isinstance(t, s.UTCDateTime):
        return "ts"
    if isinstance(t, sa.Numeric):
        return "dec"
    if isinstance(t, sa.Date):
        return "date"
    if isinstance(t, sa.JSON) or "JSON" in type(t).__name__.upper():
        return "json"
    return "plain"


KINDS: dict[str, dict[str, str]] = {t.name: {c.name: _kind(c) for c in t.columns} for t in s.metadata.sorted_tables}
_P = "plain"
# The views of database/supabase/10_views.sql: their columns and kinds.
KINDS["account_details"] = {**KINDS["accounts"], **dict.fromkeys(
    ("area_path", "area_name", "contact_name", "contact_phone", "contact_email", "contact_id"), _P)}
KINDS["meter_choices"] = dict.fromkeys(("meter_id", "meter_number", "unit", "account_id", "account_code", "area_path",
                                        "area_name", "category", "contact_name", "contact_phone", "motor_code",
                                        "motor_meter_id", "motor_meter_number"), _P)
KINDS["reading_details"] = {**KINDS["readings"], **dict.fromkeys(
    ("meter_number", "unit", "account_id", "account_code", "area_path", "contact_name", "submitted_by_name", "bill_id"),
    _P)}
KINDS["bill_details"] = {**KINDS["bills"], **dict.fromkeys(
    ("account_code", "area_path", "contact_name", "contact_phone", "contact_id", "plan_code", "plan_version",
     "contact_email"), _P)}
KINDS["connection_details"] = {**KINDS["service_connections"], **dict.fromkeys(("plan_code", "plan_kind"), _P)}
KINDS["anomaly_details"] = {**KINDS["usage_anomalies"], **dict.fromkeys(
    ("account_code", "account_name", "account_type", "area_path"), _P)}

def columns(relation: str, only: Iterable[str] | None = None) -> str:
    """The select list of a table or view, numeric columns cast to text (exact Decimals)."""
    kinds = KINDS[relation]
    names = list(only) if only is not None else list(kinds)
    return ",".join(f"{n}::text" if kinds.get(n) == "dec" else n for n in names)


def parse_row(relation: str, row: dict) -> dict:
    kinds = KINDS.get(relation, {})
    out = {}
    for k, v in row.items():
        kind = kinds.get(k)
        if v is None or kind in (None, "plain", "json"):
            out[k] = v
        elif kind == "dec":
            out[k] = Decimal(v) if isinstance(v, str) else Decimal(repr(v))
        elif kind == "date":
            out[k] = dt.date.fromisoformat(v)
        elif kind == "ts":
            out[k] = parse_ts(v)
        else:
            out[k] = v
    return out


def parse_ts(value) -> dt.datetime | None:
    if value is None:
        return None
    d = dt.datetime.fromisoformat(value)
    return (d if d.tzinfo else d.replace(tzinfo=dt.timezone.utc)).astimezone(dt.timezone.utc)


def dec(value) -> Decimal | None:
    return None if value is None else Decimal(value) if isinstance(value, str) else Decimal(repr(value))


def to_json(value):
    """Decimals as exact strings, dates and aware datetimes as ISO 8601, tuples as lists."""
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_json(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use services.clock.utcnow()")
        return value.astimezone(dt.timezone.utc).isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def actor_json(actor) -> dict | None:
    if actor is None:
        return None
    return {"user_id": actor.user_id, "username": actor.username, "client": actor.client}


def quoted(value: str) -> str:
    """A value inside an or=(...) filter, double-quoted so commas, dots and parentheses stay literal."""
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def like_escape(value: str) -> str:
    """Literal text for a LIKE pattern (PostgREST turns * into %; \\ escapes % and _)."""
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# ---- filters -------------------------------------------------------------------------------
def apply_filters(builder, filters: Iterable[tuple]):
    """("eq", col, v) ("neq"|"gt"|"gte"|"lt"|"lte"|"like"|"ilike", col, v) ("in", col, values)
    ("is", col, None|True|False) ("not_is", col, None) ("or", "a.eq.1,b.like.x*")."""
    for f in filters:
        op = f[0]
        if op == "or":
            builder = builder.or_(f[1])
        elif op == "in":
            builder = builder.in_(f[1], [to_json(v) for v in f[2]])
        elif op == "is":
            builder = builder.is_(f[1], f[2])
        elif op == "not_is":
            builder = builder.not_.is_(f[1], f[2])
        else:
            builder = getattr(builder, op)(f[1], to_json(f[2]))
    return builder


# ---- errors --------------------------------------------------------------------------------
_LOCK_MONTH = re.compile(r"billing period (\d{4}-\d{2}) is locked")
_CHECK = re.compile(r'relation "([a-z_]+)" violates check constraint "ck_([a-z_]+)"')
_UNIQUE = re.compile(r'unique constraint "([a-z_]+)"')
_NOT_NULL = re.compile(r'null value in column "([a-z_]+)"')


def _constraint_columns(name: str) -> tuple[str, list[str]]:
    """uq_accounts_code -> ("accounts", ["code"]) by the naming convention of database/schema.py."""
    body = name[3:] if name.startswith(("uq_", "pk_")) else name
    for table in sorted(KINDS, key=len, reverse=True):
        if body.startswith(table + "_") and table in s.metadata.tables:
            rest, cols = body[len(table) + 1:], []
            while rest:
                col = next((c for c in sorted(KINDS[table], key=len, reverse=True)
                            if rest == c or rest.startswith(c + "_")), None)
                if col is None:
                    return table, [rest]
                cols.append(col)
                rest = rest[len(col) + 1:]
            return table, cols
    return "the table", [name]


def _checked_column(msg: str) -> str:
    """The column a check constraint guards: ck_users_password_hash_is_hash -> password_hash."""
    m = _CHECK.search(msg)
    if not m:
        return "value"
    table, rest = m.group(1), m.group(2)
    rest = rest[len(table) + 1:] if rest.startswith(table + "_") else rest
    cols = sorted((c for c in KINDS.get(table, {}) if rest.startswith(c)), key=len, reverse=True)
    return cols[0] if cols else rest


def translate(err, status: int | None, what: str) -> MeterlineError:
    """A PostgREST error (postgrest.APIError) as the product's own error, with a message a person can act on."""
    code = str(getattr(err, "code", "") or "")
    msg = str(getattr(err, "message", "") or "")
    details = getattr(err, "details", None)
    hint = getattr(err, "hint", None)
    if "PERIOD_LOCKED" in msg:
        m = _LOCK_MONTH.search(msg)
        return PeriodLockedError(m.group(1) if m else "a locked month",
                                 None if m else "The database refused the bill: its billing period touches a locked "
                                 "month. Choose a period outside the locked month.")
    if "BILL_ARCHIVED" in msg:  # the same words as the SQL backends (services/storage/sql_common.py)
        return ConflictError("That account's bill for the period is in the archive (bills older than the kept months "
                             "move there). Nothing was stored; restore the month from Bill archive first if it must "
                             "be billed again.")
    if "BILL_IMMUTABLE" in msg:
        return BillImmutableError("An issued bill cannot be changed or deleted; only its payment status may be updated.")
    if "READING_IMMUTABLE" in msg:
        return ConflictError("A stored reading's value, date and meter never change; reject it and submit a new one.")
    if "APPEND_ONLY" in msg:
        return ConflictError("That record is append-only and cannot be changed or deleted.")
    billing = billing_refusal(msg)
    if billing is not None:  # the coverage, re-issue and credit triggers (database/billing_triggers.py)
        return billing
    if code == "42501":
        return ConfigurationError(f"Supabase refused {what}: the key in SUPABASE_KEY has no access ({msg}). {KEY_HINT}")
    if status in (401, 403) or code.startswith("PGRST30") or (not code and "API key" in msg):
        return ConfigurationError(f"Supabase refused the key while {what} (HTTP {status or 401}: {msg}). "
                                  f"Check SUPABASE_URL and SUPABASE_KEY. {KEY_HINT}")
    if code == "PT404":
        return NotFoundError(msg)
    if code == "PT409":
        detail = str(details or "")
        if detail.startswith("bill_collision"):
            m = re.search(r"existing_bill_id=(\d+)", detail)
            return BillCollisionError(int(m.group(1)) if m else None, msg)
        return StaleWriteError(msg) if detail == "stale" else ConflictError(msg)
    if code == "PT422":
        return ValidationError(str(details or "value"), msg, hint or None)
    if code == "23505":
        m = _UNIQUE.search(msg)
        if m:
            table, cols = _constraint_columns(m.group(1))
            return DuplicateError(f"{what}: a row of {table} with the same {', '.join(cols)} already exists"
                                  + (f" ({details})." if details else "."))
        return DuplicateError(f"{what}: {msg}" + (f" ({details})" if details else ""))
    if code == "23503":
        return ConflictError(f"{what} refers to a row that does not exist ({details or msg}).")
    if code == "23514":
        return ValidationError(_checked_column(msg), f"was refused by the database ({msg}).",
                               "Correct the value and try again.")
    if code == "23502":
        m = _NOT_NULL.search(msg)
        return ValidationError(m.group(1) if m else "value", "is required.", "Fill it in and try again.")
    if code in ("PGRST205", "PGRST204", "42P01", "42703", "PGRST202", "42883"):
        return ConfigurationError(f"Supabase does not have what {what} needs ({msg}). {SCHEMA_HINT}")
    if code == "57014":
        return StorageError(f"The database cancelled {what} because it took too long; try again, or narrow the request.")
    if (status or 0) >= 500 or code.startswith("PGRST00") or code.isdigit() and int(code) >= 500:
        return StorageError(f"Supabase could not complete {what} (HTTP {status or code}: {msg}). Try again later.")
    return StorageError(f"Supabase refused {what} ({code or status}: {msg}" + (f"; {hint}" if hint else "") + ").")


# ---- the client ------------------------------------------------------------------------------
class RestClient:
    def __init__(self, url: str, key: str, *, client_options=None, max_attempts: int = 3, backoff: float = 0.25,
                 timeout: float = 30.0):
        from supabase import create_client
        from supabase.lib.client_options import SyncClientOptions

        if not url or not key:
            raise ConfigurationError("SUPABASE_URL and SUPABASE_KEY must both be set for Supabase REST mode.")
        self.url = url.rstrip("/")
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        options = client_options or SyncClientOptions()
        t = options.postgrest_client_timeout if client_options is not None else timeout
        self.timeout = t.read if isinstance(t, httpx.Timeout) else float(t)
        self._status = threading.local()
        if options.httpx_client is None:
            options.httpx_client = httpx.Client(timeout=t, http2=self.url.startswith("https"), follow_redirects=True,
                                                event_hooks={"response": [self._remember_status]})
        else:
            options.httpx_client.event_hooks.setdefault("response", []).append(self._remember_status)
        options.postgrest_client_retry = False  # the retry policy is ours: idempotent operations only
        self.http = options.httpx_client
        # A scoped view's reads carry the actor's scope (services/accounts/scopes.py): with_scope.
        self.scope_header: str | None = None
        self.accounts_header: str | None = None  # a customer's linked account ids (issue 16)
        self._scoped = threading.local()
        self.checked: dict = {}  # shared by the views of one client: the scope set-up checked once
        try:
            self.client = create_client(self.url, key, options)
        except Exception as exc:  # supabase.SupabaseException: a malformed URL or key
            raise ConfigurationError(f"SUPABASE_URL / SUPABASE_KEY are not usable: {exc}. "
                                     "Use https://<project-ref>.supabase.co and the service_role key.") from None

    def _remember_status(self, response: httpx.Response) -> None:
        self._status.value = response.status_code

    def close(self) -> None:
        self.http.close()

    # ---- scoped reads ----------------------------------------------------------------------
    def with_scope(self, header: str | None, accounts: str | None = None) -> "RestClient":
        """This client (same HTTP connection pool) whose requests inside reading_scoped() carry the
        scope header (and a customer's accounts header): the database then reads them as the staff
        role, under row level security."""
        view = copy.copy(self)
        view.scope_header = header
        view.accounts_header = accounts
        view._scoped = threading.local()
        return view

    @contextlib.contextmanager
    def reading_scoped(self):
        before = getattr(self._scoped, "on", False)
        self._scoped.on = True
        try:
            yield
        finally:
            self._scoped.on = before

    def _mark(self, builder):
        if self.scope_header is not None and getattr(self._scoped, "on", False):
            from services.accounts.scopes import SCOPE_HEADER

            builder.request.headers[SCOPE_HEADER] = self.scope_header
            if self.accounts_header is not None:
                from services.accounts.scopes import ACCOUNTS_HEADER

                builder.request.headers[ACCOUNTS_HEADER] = self.accounts_header
        return builder

    # ---- the one place requests are sent -------------------------------------------------
    def execute(self, what: str, build: Callable, *, idempotent: bool):
        """Send build() (a fresh request builder) and return its response. Retries only when idempotent."""
        from postgrest.exceptions import APIError

        for attempt in range(1, self.max_attempts + 1):
            self._status.value = None
            last = attempt >= self.max_attempts or not idempotent
            try:
                return self._mark(build()).execute()
            except APIError as err:
                status = self._status.value
                if status in RETRY_STATUSES and not last:
                    self._sleep(attempt)
                    continue
                raise translate(err, status, what) from None
            except httpx.TimeoutException as exc:
                if not last:
                    self._sleep(attempt)
                    continue
                unsent = idempotent or isinstance(exc, httpx.ConnectTimeout)  # never reached the server
                raise StorageError(f"Supabase did not answer while {what} within {self.timeout:g} s" + (
                    "." if unsent else "; the change may or may not have been saved (it is one transaction: "
                    "whole or not at all). Check before trying again.")) from exc
            except httpx.TransportError as exc:
                if not last:
                    self._sleep(attempt)
                    continue
                if idempotent or isinstance(exc, httpx.ConnectError):
                    raise StorageError(f"Cannot reach Supabase at {self.url} while {what} "
                                       f"({exc.__class__.__name__}: {exc}). Check the network and SUPABASE_URL.") from exc
                raise StorageError(f"The connection to Supabase was lost while {what}; the change may or may not "
                                   "have been saved (it is one transaction: whole or not at all). Check before "
                                   "trying again.") from exc
        raise AssertionError("unreachable")

    def _sleep(self, attempt: int) -> None:
        if self.backoff:
            time.sleep(self.backoff * (2 ** (attempt - 1)))

    # ---- helpers ---------------------------------------------------------------------------
    def rpc(self, fn: str, params: dict, *, what: str, idempotent: bool = False):
        body = to_json(params)
        return self.execute(what, lambda: self.client.rpc(fn, body), idempotent=idempotent).data

    def select(self, relation: str, *, filters=(), order=(), offset: int = 0, limit: int = PAGE,
               count: str | None = None, cols: str | None = None, what: str | None = None) -> tuple[list[dict], int | None]:
        """Rows [offset, offset+limit) in `order` ((column, desc) pairs), page by page; and the count
        of all matching rows when `count` ("exact" | "planned" | "estimated") is given."""
        what = what or f"reading {relation}"
        sel = cols or columns(relation)
        out: list[dict] = []
        total = None
        pos, remaining = offset, limit
        while remaining > 0:
            size = min(PAGE, remaining)

            def build(pos=pos, size=size, first=not out and total is None):
                b = self.client.table(relation).select(sel, count=count if first else None)
                b = apply_filters(b, filters)
                for col, desc in order:
                    b = b.order(col, desc=desc)
                return b.range(pos, pos + size - 1)

            resp = self.execute(what, build, idempotent=True)
            if count and total is None:
                total = resp.count
            rows = resp.data or []
            out.extend(parse_row(relation, r) for r in rows)
            if len(rows) < size:
                break
            pos += size
            remaining -= size
        if count and total is None:  # limit 0: only the count was wanted
            total = self.count(relation, filters, count, what)
        return out, total

    def select_all(self, relation: str, *, filters=(), order=(), cols: str | None = None, what: str | None = None,
                   cap: int = 1_000_000) -> list[dict]:
        """Every matching row of a bounded set (a bill's payments, the locks), page by page."""
        rows, _ = self.select(relation, filters=filters, order=order, limit=cap, cols=cols, what=what)
        return rows

    def count(self, relation: str, filters=(), method: str = "exact", what: str | None = None) -> int:
        def build():
            return apply_filters(self.client.table(relation).select("*", count=method, head=True), filters)

        resp = self.execute(what or f"counting {relation}", build, idempotent=True)
        return int(resp.count or 0)

    def insert(self, table: str, rows: list[dict], *, what: str, returning: str | None = None) -> list[dict]:
        body = to_json(rows)

        sel = columns(table) if returning == "*" else returning

        def build():
            b = self.client.table(table).insert(body, returning="representation" if returning else "minimal")
            return b.select(sel) if returning else b

        resp = self.execute(what, build, idempotent=False)
        return [parse_row(table, r) for r in (resp.data or [])] if returning else []

    def update(self, table: str, values: dict, filters, *, what: str, returning: str | None = None,
               idempotent: bool = False) -> list[dict]:
        body = to_json(values)

        sel = columns(table) if returning == "*" else returning

        def build():
            b = self.client.table(table).update(body, returning="representation" if returning else "minimal")
            b = apply_filters(b, filters)
            return b.select(sel) if returning else b

        resp = self.execute(what, build, idempotent=idempotent)
        return [parse_row(table, r) for r in (resp.data or [])] if returning else []

    def delete(self, table: str, filters, *, what: str) -> None:
        self.execute(what, lambda: apply_filters(self.client.table(table).delete(returning="minimal"), filters),
                     idempotent=True)


def chunks(values: list, size: int = IN_CHUNK):
    for i in range(0, len(values), size):
        yield values[i:i + size]


def under_area(path: str) -> tuple:
    """A filter of a view with an `area_path` column: the rows of the area at `path` and of every area
    under it ("B" takes "B" and "B/FF", never "BX")."""
    return ("or", f"area_path.eq.{quoted(path)},area_path.like.{quoted(like_escape(path) + '/*')}")
