"""A loopback stand-in for Supabase's REST API (PostgREST), for tests only.

No PostgREST server can be installed here, so this server answers the subset of PostgREST the
REST backend uses, by running the equivalent SQL on a real PostgreSQL database that has
database/supabase_schema.sql applied: triggers, row level security and the /rpc functions run
for real. It checks every request the client sends and records what it could not accept in
`violations` (the test fixtures fail a test that leaves any):

- path /rest/v1/TABLE or /rest/v1/rpc/FUNCTION; headers apikey and Authorization: Bearer with a
  known key (the key's role is SET LOCAL ROLE, as PostgREST does with the JWT's role claim), the
  public schema profile, JSON bodies; like PostgREST, the request's headers (lower-case names) and
  method are set as request.headers / request.method, and the pre-request function configured on
  the authenticator role (pgrst.db_pre_request) is called before the request's own SQL;
- GET/HEAD with select=col,col::type; filters eq, neq, gt, gte, lt, lte, like, ilike, in, is (each
  optionally not.), or=(...) and and=(...) with nesting; order=col.asc|desc[.nullsfirst|nullslast];
  limit (required on GET, at most max_rows: never a whole table) and offset; Prefer
  count=exact|planned|estimated answered in Content-Range;
- POST (a row or a JSON array of rows, columns=...), PATCH and DELETE (filters required) with
  Prefer return=representation|minimal; POST /rpc/FN with named JSON arguments;
- errors as PostgREST shapes them: {"code", "message", "details", "hint"} with its HTTP status
  mapping (409 for 23505, 400 for P0001, PTxyz -> xyz, 401/403 for 42501, 404 PGRST202/PGRST205).

Faults can be injected per request (`fail`): drop the connection before or after the database
work, delay the answer (timeouts), or answer a bare HTTP status.
"""
from __future__ import annotations

import json
import queue
import re
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import psycopg
from psycopg import sql

IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")
CAST = re.compile(r"^[a-z_][a-z0-9_ ]*(\[\])?$")
OPS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<=", "like": "LIKE", "ilike": "ILIKE"}
RESERVED = {"select", "order", "limit", "offset", "columns", "or", "and", "on_conflict"}
PREFER_OK = {"return=representation", "return=minimal", "count=exact", "count=planned", "count=estimated"}


class Reject(Exception):
    """A request the fake (like PostgREST) refuses before touching the database."""

    def __init__(self, status: int, code: str, message: str, hint: str | None = None, violation: bool = True):
        super().__init__(message)
        self.status, self.code, self.message, self.hint, self.violation = status, code, message, hint, violation


@dataclass
class Recorded:
    method: str
    path: str
    params: list[tuple[str, str]]
    headers: dict[str, str]
    body: object
    status: int = 0


@dataclass
class Fault:
    kind: str  # "drop" | "delay" | "status"
    method: str | None
    path: str | None
    times: int
    phase: str = "before"  # drop before or after the database work
    seconds: float = 0.0
    status: int = 503
    hits: int = 0


def http_status(code: str, role: str) -> int:
    """PostgREST's SQLSTATE -> HTTP status table (docs: references/errors)."""
    if code.startswith("PT") and code[2:].isdigit():
        return int(code[2:])
    exact = {"23503": 409, "23505": 409, "25006": 405, "53400": 500, "P0001": 400, "42883": 404, "42P01": 404}
    if code in exact:
        return exact[code]
    if code == "42501":
        return 401 if role == "anon" else 403
    for prefix, status in (("08", 503), ("09", 500), ("0L", 403), ("0P", 403), ("25", 500), ("28", 403),
                           ("2D", 500), ("38", 500), ("39", 500), ("3B", 500), ("40", 500), ("53", 503),
                           ("54", 413), ("55", 500), ("57", 500), ("58", 500), ("F0", 500), ("HV", 500),
                           ("P0", 500), ("XX", 500)):
        if code.startswith(prefix):
            return status
    return 400


def split_top(text: str) -> list[str]:
    """Split on commas outside parentheses and double quotes."""
    parts, cur, depth, quoted, esc = [], [], 0, False, False
    for ch in text:
        if esc:
            cur.append(ch)
            esc = False
            continue
        if ch == "\\" and quoted:
            cur.append(ch)
            esc = True
            continue
        if ch == '"':
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return parts


def unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


JSON_PATH = re.compile(r"^([a-z_][a-z0-9_]*)((?:->>?[a-z_][a-z0-9_]*)+)$")
JSON_STEP = re.compile(r"(->>?)([a-z_][a-z0-9_]*)")


def column(name: str) -> sql.Composable:
    """A column, or a JSON path into one (`tariff_details->estimate`, `->>` for text), as PostgREST
    filters take them."""
    path = JSON_PATH.match(name)
    if path:
        out: sql.Composable = sql.Identifier(path.group(1))
        for arrow, key in JSON_STEP.findall(path.group(2)):
            out = sql.SQL("({} {} {})").format(out, sql.SQL(arrow), sql.Literal(key))
        return out
    if not IDENT.match(name):
        raise Reject(400, "PGRST100", f'"failed to parse filter ({name})" (line 1, column 1)')
    return sql.Identifier(name)


def condition(col: str, expr: str, in_logic: bool) -> tuple[sql.Composable, list]:
    """`col=op.value` (or `col.op.value` inside or/and) -> SQL and parameters."""
    negate = expr.startswith("not.")
    if negate:
        expr = expr[4:]
    op, _, value = expr.partition(".")
    ident = column(col)
    if op in OPS:
        if in_logic:
            value = unquote(value)
        if op in ("like", "ilike"):
            value = value.replace("*", "%")
        cond, params = sql.SQL("{} {} %s").format(ident, sql.SQL(OPS[op])), [value]
    elif op == "in":
        if not (value.startswith("(") and value.endswith(")")):
            raise Reject(400, "PGRST100", f"failed to parse filter (in.{value})")
        items = [unquote(v) for v in split_top(value[1:-1])] if value[1:-1] else []
        if not items:
            cond, params = sql.SQL("false"), []
        else:
            cond = sql.SQL("{} IN ({})").format(ident, sql.SQL(", ").join(sql.Placeholder() * len(items)))
            params = items
    elif op == "is":
        words = {"null": "NULL", "true": "TRUE", "false": "FALSE", "unknown": "UNKNOWN"}
        if value not in words:
            raise Reject(400, "PGRST100", f"failed to parse filter (is.{value})")
        cond, params = sql.SQL("{} IS {}").format(ident, sql.SQL(words[value])), []
    else:
        raise Reject(400, "PGRST100", f"unsupported operator {op!r} in filter {col}={expr}")
    return (sql.SQL("NOT ({})").format(cond) if negate else cond), params


def logic(kind: str, body: str) -> tuple[sql.Composable, list]:
    """or=(a.eq.1,b.like.x*,and(c.is.null,d.gt.2))"""
    if not (body.startswith("(") and body.endswith(")")):
        raise Reject(400, "PGRST100", f"failed to parse logic tree ({body})")
    parts, params = [], []
    for item in split_top(body[1:-1]):
        negate = item.startswith("not.")
        inner = item[4:] if negate else item
        if inner.startswith(("or(", "and(")):
            name, _, rest = inner.partition("(")
            cond, p = logic(name, "(" + rest)
        else:
            col, _, expr = inner.partition(".")
            cond, p = condition(col, expr, in_logic=True)
        parts.append(sql.SQL("NOT ({})").format(cond) if negate else cond)
        params += p
    joiner = sql.SQL(" OR " if kind == "or" else " AND ")
    return sql.SQL("({})").format(joiner.join(parts)), params


@dataclass
class Query:
    table: str
    select: sql.Composable
    where: sql.Composable
    params: list
    order: sql.Composable
    limit: int | None
    offset: int
    has_filters: bool
    columns: list[str] | None = None


class FakePostgrest:
    def __init__(self, conninfo: str, keys: dict[str, str], *, max_rows: int = 1000):
        self.conninfo = conninfo
        self.keys = dict(keys)  # api key -> database role
        self.max_rows = max_rows
        self.requests: list[Recorded] = []
        self.violations: list[str] = []
        self.faults: list[Fault] = []
        self._pool: queue.SimpleQueue = queue.SimpleQueue()
        self._all_conns: list = []
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._functions: dict[str, list[tuple[list[str], list[str], int]]] | None = None
        self._pre_request: str | None | bool = False  # False: not read yet
        self.stopping = False

    # ---- lifecycle ---------------------------------------------------------------------
    def start(self) -> str:
        fake = self

        class Handler(_Handler):
            server_fake = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self.url

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self.stopping = True
        if self._server:
            self._server.shutdown()
            self._server.server_close()
        for c in self._all_conns:
            c.close()

    def fail(self, kind: str, *, method: str | None = None, path: str | None = None, times: int = 1,
             phase: str = "before", seconds: float = 0.0, status: int = 503) -> Fault:
        fault = Fault(kind, method, path, times, phase, seconds, status)
        self.faults.append(fault)
        return fault

    def calls(self, method: str | None = None, path: str | None = None) -> list[Recorded]:
        return [r for r in self.requests if (method is None or r.method == method)
                and (path is None or r.path.endswith(path))]

    # ---- database ----------------------------------------------------------------------
    def _conn(self):
        try:
            return self._pool.get_nowait()
        except queue.Empty:
            c = psycopg.connect(self.conninfo)
            c.execute("SET TIME ZONE 'UTC'")
            c.commit()
            with self._lock:
                self._all_conns.append(c)
            return c

    def run(self, role: str, read_only: bool, work, request: tuple[str, dict] | None = None):
        conn = self._conn()
        try:
            with conn.transaction():
                if read_only:
                    conn.execute("SET TRANSACTION READ ONLY")
                pre = self.pre_request(conn) if request is not None else None
                conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
                conn.execute("SET LOCAL statement_timeout = '15s'")
                if request is not None:
                    method, headers = request
                    conn.execute("SELECT set_config('request.method', %s, true), set_config('request.headers', %s, true)",
                                 [method, json.dumps(headers)])
                    if pre:
                        conn.execute(sql.SQL("SELECT {}()").format(sql.Identifier(*pre.split("."))))
                return work(conn)
        finally:
            self._pool.put(conn)

    def pre_request(self, conn) -> str | None:
        """pgrst.db_pre_request of the authenticator role, as PostgREST reads its in-database config."""
        if self._pre_request is False:
            row = conn.execute("""
                SELECT split_part(c, '=', 2) FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole,
                       unnest(s.setconfig) AS c
                 WHERE r.rolname = 'authenticator' AND c LIKE 'pgrst.db\\_pre\\_request=%'""").fetchone()
            self._pre_request = row[0] if row else None
        return self._pre_request

    def functions(self, conn) -> dict:
        if self._functions is None:
            rows = conn.execute("""
                SELECT p.proname, p.proargnames, ARRAY(SELECT format_type(t, NULL) FROM unnest(p.proargtypes) t),
                       p.pronargdefaults
                  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'public'""").fetchall()
            found: dict = {}
            for name, argnames, argtypes, ndefaults in rows:
                found.setdefault(name, []).append((list(argnames or []), list(argtypes), ndefaults))
            self._functions = found
        return self._functions


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls
    server_fake: FakePostgrest

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        self._guarded()

    do_HEAD = do_POST = do_PATCH = do_DELETE = do_GET

    def _guarded(self):
        try:
            self._handle()
        except (OSError, psycopg.OperationalError):
            if not self.server_fake.stopping:  # a request still sleeping in a delay fault at shutdown
                raise

    # ---- plumbing ----------------------------------------------------------------------
    def _send(self, status: int, body: bytes | None, headers: dict | None = None) -> None:
        if self._rec is not None:
            self._rec.status = status  # before the client can see the answer
        self.send_response(status)
        hdrs = {"Content-Type": "application/json; charset=utf-8", **(headers or {})}
        for k, v in hdrs.items():
            self.send_header(k, v)
        payload = b"" if (body is None or self.command == "HEAD") else body
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def _error(self, status: int, code: str | None, message: str, details=None, hint=None) -> None:
        body = json.dumps({"code": code, "details": details, "hint": hint, "message": message}).encode()
        self._send(status, body)

    def _drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _fault(self, fake: FakePostgrest, path: str) -> Fault | None:
        for f in fake.faults:
            if f.hits < f.times and (f.method in (None, self.command)) and (f.path is None or f.path in path):
                f.hits += 1
                return f
        return None

    def _handle(self) -> None:
        fake = self.server_fake
        self._rec = None
        parts = urlsplit(self.path)
        params = parse_qsl(parts.query, keep_blank_values=True)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = None
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw
        self._rec = Recorded(self.command, parts.path, params, headers, body)
        self._request = (self.command, {k: v for k, v in headers.items() if k not in ("authorization", "apikey")})
        fake.requests.append(self._rec)
        fault = self._fault(fake, parts.path)
        if fault and fault.kind == "delay":
            time.sleep(fault.seconds)
        if fault and fault.kind == "drop" and fault.phase == "before":
            return self._drop()
        if fault and fault.kind == "status":
            # Say the connection closes, as a gateway does: a client that reused it would race the close
            # and see "server disconnected" instead of this status.
            self.close_connection = True
            return self._send(fault.status, b"<html>upstream unavailable</html>",
                              {"Content-Type": "text/html", "Connection": "close"})
        # The API gateway checks the key before PostgREST sees the request.
        apikey = headers.get("apikey")
        if not apikey:
            return self._error(401, None, "No API key found in request", hint="No `apikey` request header or url param was found.")
        bearer = headers.get("authorization", "")
        if apikey not in fake.keys or not bearer.startswith("Bearer ") or bearer[7:] not in fake.keys:
            return self._error(401, None, "Invalid API key",
                               hint="Double check your Supabase `anon` or `service_role` API key.")
        role = fake.keys[bearer[7:]]
        try:
            self._check_profile(headers)
            status, payload, extra = self._dispatch(fake, role, parts.path, params, headers, body)
        except Reject as r:
            if r.violation:
                fake.violations.append(f"{self.command} {self.path}: {r.message}")
            return self._error(r.status, r.code, r.message, hint=r.hint)
        except psycopg.Error as exc:
            diag = exc.diag
            code = exc.sqlstate or "XX000"
            return self._error(http_status(code, role), code, diag.message_primary or str(exc),
                               diag.message_detail, diag.message_hint)
        if fault and fault.kind == "drop" and fault.phase == "after":
            return self._drop()
        self._send(status, payload, extra)

    def _check_profile(self, headers: dict) -> None:
        for h in ("accept-profile", "content-profile"):
            if headers.get(h, "public") != "public":
                raise Reject(406, "PGRST106", f"The schema must be one of the following: public ({h})")
        accept = headers.get("accept", "*/*")
        if "vnd.pgrst" in accept:
            raise Reject(406, "PGRST107", f"unsupported Accept header {accept}")

    def _prefer(self, headers: dict) -> dict:
        out = {}
        for token in filter(None, (t.strip() for t in headers.get("prefer", "").split(","))):
            if token not in PREFER_OK:
                raise Reject(400, "PGRST100", f"Prefer: {token} is not supported here")
            k, _, v = token.partition("=")
            out[k] = v
        return out

    # ---- routing -----------------------------------------------------------------------
    def _dispatch(self, fake, role, path, params, headers, body):
        if not path.startswith("/rest/v1/"):
            raise Reject(404, "PGRST125", f"Invalid path {path}")
        rest = path[len("/rest/v1/"):]
        prefer = self._prefer(headers)
        if self.command in ("POST", "PATCH") and "application/json" not in headers.get("content-type", ""):
            raise Reject(415, "PGRST107", "Content-Type must be application/json")
        if rest.startswith("rpc/"):
            if self.command != "POST":
                raise Reject(405, "PGRST101", "Only POST is used for functions here")
            return self._rpc(fake, role, rest[4:], params, headers, body)
        if not IDENT.match(rest):
            raise Reject(404, "PGRST125", f"Invalid path {path}")
        q = self._query(rest, params)
        if self.command in ("GET", "HEAD"):
            return self._select(fake, role, q, prefer)
        if self.command == "POST":
            return self._insert(fake, role, q, prefer, body)
        if not q.has_filters:
            raise Reject(400, "21000", "UPDATE/DELETE requires a WHERE clause (filters) here")
        if self.command == "PATCH":
            return self._update(fake, role, q, prefer, body)
        return self._delete(fake, role, q, prefer)

    def _query(self, table: str, params: list[tuple[str, str]]) -> Query:
        select = sql.SQL("*")
        conds, values, order, limit, offset, columns = [], [], [], None, 0, None
        for key, value in params:
            if key == "select":
                select = self._select_list(value)
            elif key == "order":
                for item in value.split(","):
                    bits = item.split(".")
                    if any(b not in ("asc", "desc", "nullsfirst", "nullslast") for b in bits[1:]):
                        raise Reject(400, "PGRST100", f"failed to parse order ({item})")
                    direction = sql.SQL(" DESC" if "desc" in bits[1:] else " ASC")
                    nulls = sql.SQL(" NULLS FIRST" if "nullsfirst" in bits else " NULLS LAST" if "nullslast" in bits else "")
                    # Qualified: PostgREST orders by the relation's column, not by a `col::text` output
                    # of the same name (amounts would sort as text: 950.00 above 12128.28).
                    column(bits[0])
                    order.append(sql.Composed([sql.Identifier(table, bits[0]), direction, nulls]))
            elif key == "limit":
                limit = int(value)
            elif key == "offset":
                offset = int(value)
            elif key == "columns":
                columns = [c.strip().strip('"') for c in value.split(",")]
                for c in columns:
                    column(c)
            elif key in ("or", "and"):
                cond, p = logic(key, value)
                conds.append(cond)
                values += p
            elif key == "on_conflict":
                raise Reject(400, "PGRST100", "upserts are not used by the backend")
            else:
                cond, p = condition(key, value, in_logic=False)
                conds.append(cond)
                values += p
        where = sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds) if conds else sql.SQL("")
        order_sql = sql.SQL(" ORDER BY ") + sql.SQL(", ").join(order) if order else sql.SQL("")
        return Query(table, select, where, values, order_sql, limit, offset, bool(conds), columns)

    def _select_list(self, value: str) -> sql.Composable:
        items = []
        for item in split_top(value):
            item = item.strip()
            if item == "*":
                items.append(sql.SQL("*"))
                continue
            if "(" in item:
                raise Reject(400, "PGRST100", f"embedded resources are not used by the backend ({item})")
            alias, _, rest = item.rpartition(":") if ":" in item.replace("::", "") else ("", "", item)
            name, _, cast = rest.partition("::")
            if cast and not CAST.match(cast):
                raise Reject(400, "PGRST100", f"bad cast {cast}")
            expr = column(name)
            if cast:
                expr = sql.SQL("{}::{}").format(expr, sql.SQL(cast))
            items.append(sql.SQL("{} AS {}").format(expr, sql.Identifier(alias or name)))
        return sql.SQL(", ").join(items)

    def _count(self, conn, q: Query, method: str) -> int:
        base = sql.SQL("SELECT 1 FROM {}{}").format(sql.Identifier(q.table), q.where)
        if method == "estimated":  # exact up to db-max-rows, the planner's estimate above
            cap = self.server_fake.max_rows
            n = conn.execute(sql.SQL("SELECT count(*) FROM ({} LIMIT {}) _c").format(base, cap + 1), q.params).fetchone()[0]
            if n <= cap:
                return n
            method = "planned"
        if method == "planned":
            cur = psycopg.ClientCursor(conn)
            plan = cur.execute(sql.SQL("EXPLAIN (FORMAT JSON) {}").format(base), q.params).fetchone()[0]
            return int(plan[0]["Plan"]["Plan Rows"])
        return conn.execute(sql.SQL("SELECT count(*) FROM ({}) _c").format(base), q.params).fetchone()[0]

    def _select(self, fake, role, q: Query, prefer):
        if self.command == "GET" and q.limit is None:
            raise Reject(400, "PGRST100", "GET without limit: the backend must page (never a whole table)")
        if q.limit is not None and q.limit > fake.max_rows:
            raise Reject(400, "PGRST100", f"limit {q.limit} above db-max-rows {fake.max_rows}: page the request")
        limit = min(q.limit if q.limit is not None else fake.max_rows, fake.max_rows)

        def work(conn):
            body = None
            n = 0
            if self.command == "GET":
                inner = sql.SQL("SELECT {} FROM {}{}{} LIMIT {} OFFSET {}").format(
                    q.select, sql.Identifier(q.table), q.where, q.order, limit, q.offset)
                text, n = conn.execute(sql.SQL("SELECT COALESCE(json_agg(_t), '[]')::text, count(*) FROM ({}) _t")
                                       .format(inner), q.params).fetchone()
                body = text.encode()
            total = self._count(conn, q, prefer["count"]) if "count" in prefer else None
            return body, n, total

        body, n, total = fake.run(role, True, work, self._request)
        rng = f"{q.offset}-{q.offset + n - 1}" if n else "*"
        status = 206 if total is not None and n and q.offset + n < total else 200
        return status, body, {"Content-Range": f"{rng}/{'*' if total is None else total}"}

    def _returning(self, conn, q: Query, cte: sql.Composable, params: list, prefer) -> tuple[bytes | None, int]:
        stmt = sql.SQL("WITH _w AS ({}) SELECT COALESCE(json_agg(_t), '[]')::text, count(*) FROM (SELECT {} FROM _w) _t"
                       ).format(cte, q.select)
        text, n = conn.execute(stmt, params).fetchone()
        return (text.encode() if prefer.get("return") == "representation" else None), n

    def _insert(self, fake, role, q: Query, prefer, body):
        if not isinstance(body, (dict, list)) or (isinstance(body, list) and not all(isinstance(r, dict) for r in body)):
            raise Reject(400, "PGRST102", "Empty or invalid json")
        rows = body if isinstance(body, list) else [body]
        cols = q.columns or sorted({k for r in rows for k in r})
        idents = sql.SQL(", ").join(column(c) for c in cols)
        cte = sql.SQL("INSERT INTO {t} ({c}) SELECT {c} FROM json_populate_recordset(NULL::{t}, %s::json) RETURNING *"
                      ).format(t=sql.Identifier(q.table), c=idents)
        payload, n = fake.run(role, False, lambda conn: self._returning(conn, q, cte, [json.dumps(rows)], prefer),
                              self._request)
        return 201, payload, {"Content-Range": f"*/{n}"}

    def _update(self, fake, role, q: Query, prefer, body):
        if not isinstance(body, dict) or not body:
            raise Reject(400, "PGRST102", "Empty or invalid json")
        cols = sql.SQL(", ").join(column(c) for c in body)
        cte = sql.SQL("UPDATE {t} SET ({c}) = (SELECT {c} FROM json_populate_record(NULL::{t}, %s::json)){w} RETURNING *"
                      ).format(t=sql.Identifier(q.table), c=cols, w=q.where)
        payload, n = fake.run(role, False, lambda conn: self._returning(conn, q, cte, [json.dumps(body)] + q.params, prefer),
                              self._request)
        return (200 if payload is not None else 204), payload, {"Content-Range": f"0-{max(n - 1, 0)}/*"}

    def _delete(self, fake, role, q: Query, prefer):
        cte = sql.SQL("DELETE FROM {t}{w} RETURNING *").format(t=sql.Identifier(q.table), w=q.where)
        payload, n = fake.run(role, False, lambda conn: self._returning(conn, q, cte, q.params, prefer), self._request)
        return (200 if payload is not None else 204), payload, {"Content-Range": f"0-{max(n - 1, 0)}/*"}

    def _rpc(self, fake, role, name, params, headers, body):
        if params:
            raise Reject(400, "PGRST100", "query parameters on /rpc are not used by the backend")
        if not IDENT.match(name):
            raise Reject(404, "PGRST202", f"Could not find the function public.{name}")
        args = body if isinstance(body, dict) else {} if body is None else None
        if args is None:
            raise Reject(400, "PGRST102", "Empty or invalid json")

        def work(conn):
            for names, types, ndefaults in fake.functions(conn).get(name, []):
                required = names[:len(names) - ndefaults]
                if set(args) <= set(names) and set(required) <= set(args):
                    given = [n for n in names if n in args]
                    typed = {n: t for n, t in zip(names, types)}
                    call = sql.SQL("SELECT to_json({f}({a}))::text FROM json_to_record(%s::json) AS _a({d})").format(
                        f=sql.Identifier("public", name),
                        a=sql.SQL(", ").join(sql.SQL("{} := _a.{}").format(sql.Identifier(n), sql.Identifier(n))
                                             for n in given),
                        d=sql.SQL(", ").join(sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(typed[n])) for n in given))
                    if not given:
                        call = sql.SQL("SELECT to_json({f}())::text").format(f=sql.Identifier("public", name))
                        return conn.execute(call).fetchone()[0]
                    return conn.execute(call, [json.dumps(args)]).fetchone()[0]
            raise Reject(404, "PGRST202", f"Could not find the function public.{name}({', '.join(sorted(args))}) "
                         "in the schema cache", "Perhaps the schema SQL was not run.", violation=False)

        text = fake.run(role, False, work, self._request)
        return 200, (text or "null").encode(), {}

