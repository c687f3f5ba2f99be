"""Load test: N staff at once on a real `streamlit run` server, over Streamlit's own websocket protocol.

    python -m scripts.load_test --sessions 50 --minutes 5 --json
    python -m scripts.load_test --sessions 50 --minutes 5 --database-url postgresql+psycopg://.../meterline --json
    python -m scripts.load_test --sessions 20 --minutes 2 --url http://127.0.0.1:8501 --database-url URL

Without --url it starts the server itself (with --servers 2: two server processes behind a tiny
sticky load balancer in this script); without --database-url it seeds a throwaway demo database of
the chosen utility first (--accounts). It creates one user per session in the target database
(loadtest_<kind>_<n>, a random password each run), then every session signs in with its own user
and works like a person (3-8 s think time): field engineers search a meter, upload a photo and
submit a reading (40%), reviewers work the review inbox (30%), admins open the bills list, filter and
search it, an account page and the dashboard (30%). A couple of real Chromium sessions
(--browsers) sign in alongside and check that the browser shows the widgets the protocol client saw.

It WRITES to the database (readings, approvals, sessions, users): point it at a copy, never at a
production database. Latency is from the action sent to the script run finished with every element
delivered; the first page load after sign-in is reported separately; the server's CPU and memory
come from psutil on its process. The last line of --json output is one JSON object.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import psutil

from scripts.load_client import new_forwarded_address
from scripts.load_scenarios import (
    ROLE_MIX,
    ROLE_OF_KIND,
    Person,
    Plan,
    Recorder,
    photo_bytes,
)

ROOT = Path(__file__).resolve().parent.parent
SEPARATE = ("open_app", "first_page_load", "photo_upload")  # not script interactions: reported apart
BROWSER_PAGES = (("Bills and payments", "bills"), ("Dashboard", ""))  # (title in the navigation, page)


# -- the database ---------------------------------------------------------------------------------
def _storage(url: str):
    from services.storage.sql_backend import SqlStorage

    return SqlStorage(url)


def seed_throwaway(work: Path, utility: str, accounts: int | None) -> str:
    from scripts import seed_demo

    url = f"sqlite:///{work / 'loadtest.db'}"
    seed_demo.seed(_storage(url), accounts, quiet=True, utility=utility)
    return url


def kinds_for(n: int) -> list[str]:
    """The role mix over n sessions, largest remainder first (2 sessions: an engineer and a reviewer)."""
    exact = [(kind, share * n) for kind, share in ROLE_MIX]
    counts = {kind: int(x) for kind, x in exact}
    for kind, x in sorted(exact, key=lambda kx: kx[1] - int(kx[1]), reverse=True)[: n - sum(counts.values())]:
        counts[kind] += 1
    return [kind for kind, _ in ROLE_MIX for _ in range(counts[kind])]


def create_users(url: str, kinds: list[str], browsers: int) -> list[tuple[str, str, str]]:
    """One user per session (and per browser), a fresh random password each run: (kind, username, password)."""
    from services.accounts.auth import AuthService
    from services.accounts.roles import Actor

    storage = _storage(url)
    auth = AuthService(storage)
    actor = Actor(None, "load_test", "system", "cli")
    out = []
    for i, kind in enumerate([*kinds, *["admin"] * browsers], start=1):
        name = f"loadtest_{kind}_{i}"
        password = secrets.token_urlsafe(12)
        user = storage.get_user(username=name)
        if user is None:
            auth.create_user(actor, username=name, role=ROLE_OF_KIND[kind], password=password,
                             display_name=f"Load test {kind} {i}")
        else:
            auth.reset_password(actor, user.id, password)
        out.append((kind, name, password))
    return out


def sample_data(url: str, engineers: int, per_engineer: int, rng: random.Random) -> tuple[list, list[str], list[str]]:
    """Meters for the engineers (each its own, with a value above the meter's latest reading),
    account codes and bill months for the admins. Index lookups by id, never a table scan."""
    import sqlalchemy as sa

    eng = _storage(url).engine
    with eng.connect() as c:
        top = c.execute(sa.text("SELECT max(id) FROM meters")).scalar() or 0
        want = engineers * per_engineer
        ids = rng.sample(range(1, top + 1), min(top, want * 3 + 50)) if top else []
        meters = []
        for chunk in range(0, len(ids), 500):
            part = ids[chunk:chunk + 500]
            rows = c.execute(sa.text(
                "SELECT m.meter_number, (SELECT max(r.reading_value) FROM readings r WHERE r.meter_id = m.id) "
                "FROM meters m JOIN accounts a ON a.id = m.account_id "
                "WHERE m.status = 'active' AND a.is_active = :yes AND m.id IN (" + ",".join(map(str, part)) + ")"),
                {"yes": True}).all()
            meters += [(num, float(v or 0) + rng.randint(40, 400)) for num, v in rows]
            if len(meters) >= want:
                break
        top_acc = c.execute(sa.text("SELECT max(id) FROM accounts")).scalar() or 0
        acc_ids = rng.sample(range(1, top_acc + 1), min(top_acc, 200)) if top_acc else []
        codes = [r[0] for r in c.execute(sa.text(
            "SELECT code FROM accounts WHERE id IN (" + (",".join(map(str, acc_ids)) or "0") + ")")).all()]
        months = [r[0] for r in c.execute(sa.text(
            "SELECT DISTINCT substr(CAST(billing_period_start AS VARCHAR(10)), 1, 7) FROM bills "
            "WHERE id > (SELECT max(id) FROM bills) - 20000")).all()]
    return meters[:want], codes, sorted(m for m in months if m)


# -- the server -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(db_url: str, work: Path, n: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "PHOTO_DIR": str(work / "photos"), "METERLINE_DOTENV": "0",
           # the sessions come through a proxy (this script), one client address each
           "TRUSTED_PROXIES": "127.0.0.1/32"}
    log = (work / f"streamlit-{n}.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited: see {log.name}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("streamlit did not answer /_stcore/health")


class StickyBalancer:
    """A tiny TCP load balancer for HTTP + websockets, sticky by client address (X-Forwarded-For,
    else the peer), like nginx's ip_hash: a Streamlit session lives in one server process, so its
    websocket and its uploads must always reach the same one."""

    def __init__(self, backends: list[str]):
        self.backends = [(b.split("//")[1].split(":")[0], int(b.rsplit(":", 1)[1])) for b in backends]
        self.server = None
        self.port = free_port()
        self.connections = [0] * len(backends)

    def pick(self, head: bytes, peer: str) -> int:
        client = peer
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"x-forwarded-for:"):
                client = line.split(b":", 1)[1].strip().split(b",")[0].decode()
        import zlib

        return zlib.crc32(client.encode()) % len(self.backends)

    async def _pipe(self, reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _handle(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            writer.close()
            return
        i = self.pick(head, writer.get_extra_info("peername")[0])
        self.connections[i] += 1
        up_r, up_w = await asyncio.open_connection(*self.backends[i])
        up_w.write(head)
        await asyncio.gather(self._pipe(reader, up_w), self._pipe(up_r, writer))

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        return f"http://127.0.0.1:{self.port}"

    async def stop(self):
        self.server.close()


class ServerWatch:
    """CPU and memory of the server processes (psutil), sampled every second."""

    def __init__(self, pids: list[int]):
        self.procs = [psutil.Process(p) for p in pids]
        self.cpu0 = self._cpu()
        self.t0 = time.monotonic()
        self.baseline = self._rss()
        self.peak = self.baseline
        self.signed_in_rss = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()

    def _rss(self) -> int:
        total = 0
        for p in self.procs:
            try:
                total += p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
            except psutil.Error:
                pass
        return total

    def _cpu(self) -> float:
        total = 0.0
        for p in self.procs:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    def _loop(self):
        while not self._stop.wait(1.0):
            self.peak = max(self.peak, self._rss())

    def mark_signed_in(self):
        self.signed_in_rss = self._rss()

    def stop(self, sessions: int) -> dict:
        self._stop.set()
        self._thread.join(2)
        cpu, wall = self._cpu() - self.cpu0, time.monotonic() - self.t0
        mb = 1024 * 1024
        after = self.signed_in_rss or self.peak
        return {"processes": len(self.procs), "cpu_seconds": round(cpu, 1), "wall_seconds": round(wall, 1),
                "cpu_percent_of_one_core": round(100 * cpu / wall, 1) if wall else None,
                "baseline_rss_mb": round(self.baseline / mb, 1), "peak_rss_mb": round(self.peak / mb, 1),
                "rss_per_session_mb": round(max(0, after - self.baseline) / mb / max(sessions, 1), 2)}


# -- the report -----------------------------------------------------------------------------------
def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(q / 100 * len(s)) - 1))  # nearest rank
    return round(s[k] * 1000, 1)


def figures(count: int, samples: list[float], errors: int, conflicts: int = 0) -> dict:
    return {"count": count, "errors": errors, "conflicts": conflicts, "p50_ms": pct(samples, 50), "p95_ms": pct(samples, 95),
            "p99_ms": pct(samples, 99)}


def build_report(rec: Recorder, meta: dict) -> dict:
    actions = {k: figures(rec.counts.get(k, 0), rec.samples.get(k, []), len(rec.errors.get(k, [])),
                          rec.conflicts.get(k, 0)) for k in sorted(rec.counts) if k not in SEPARATE}
    inter = [v for k, vs in rec.samples.items() if k not in SEPARATE for v in vs]
    inter_err = sum(len(v) for k, v in rec.errors.items() if k not in SEPARATE)
    inter_n = sum(n for k, n in rec.counts.items() if k not in SEPARATE)
    sep = {k: figures(rec.counts.get(k, 0), rec.samples.get(k, []), len(rec.errors.get(k, []))) for k in SEPARATE}
    errors = [f"{k}: {e}" for k, es in rec.errors.items() for e in es]
    return {**meta, "client_loop_lag_max_ms": round(rec.client_lag_ms, 1), "actions": actions, "overall": figures(inter_n, inter, inter_err, sum(rec.conflicts.values())),
            "first_page_load": sep["first_page_load"], "open_app": sep["open_app"], "photo_upload": sep["photo_upload"],
            "errors_total": len(errors), "error_samples": errors[:10]}


def table(report: dict) -> str:
    rows = [("action", "count", "errors", "conflicts", "p50 ms", "p95 ms", "p99 ms")]
    for name, f in [*report["actions"].items(), ("OVERALL (interactions)", report["overall"]),
                    ("first page load (sign-in)", report["first_page_load"]), ("open app (sign-in page)", report["open_app"]),
                    ("photo upload (HTTP PUT)", report["photo_upload"])]:
        rows.append((name, f["count"], f["errors"], f.get("conflicts", 0), f["p50_ms"], f["p95_ms"], f["p99_ms"]))
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(r, widths)))
             for r in rows]
    srv = report["server"]
    lines.append(f"server: {srv['processes']} process(es), CPU {srv['cpu_seconds']} s in {srv['wall_seconds']} s "
                 f"({srv['cpu_percent_of_one_core']}% of one core), memory {srv['baseline_rss_mb']} MB idle, peak "
                 f"{srv['peak_rss_mb']} MB, {srv['rss_per_session_mb']} MB per session")
    lines.append(f"load average before/after: {report['load_average_before']} / {report['load_average_after']}")
    b = report["browser_check"]
    lines.append(f"browser check: {b['sessions']} Chromium session(s), {b['pages_checked']} page(s), "
                 f"{len(b['mismatches'])} mismatch(es), {len(b['errors'])} error(s)")
    return "\n".join(lines)


# -- real Chromium alongside ---------------------------------------------------------------------
def _labels_missing(page, want: set, wait_seconds: float = 10.0) -> list[str]:
    """The widget labels of `want` the browser does not show, after giving it time to render them
    (elements below a table arrive after the heading the navigation waited for)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        labels = {t.strip() for t in page.get_by_test_id("stWidgetLabel").all_text_contents()}
        missing = sorted(x for x in want if x not in labels)
        if not missing or time.monotonic() > deadline:
            return missing
        page.wait_for_timeout(250)


def browser_check(base: str, users: list[tuple[str, str, str]], seen: dict, stop_at: float) -> dict:
    """Sign in with real Chromium, open pages the admins open, and compare the widget labels the
    browser shows with the ones the protocol client received for the same page."""
    out = {"sessions": len(users), "pages_checked": 0, "mismatches": [], "errors": [], "page_ms": []}
    if not users:
        return out
    chromium = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        out["errors"].append(f"no Chromium at {chromium}: browser check skipped")
        return out
    from playwright.sync_api import sync_playwright

    args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
    idle = ("() => !document.querySelector('[data-testid=\"stStatusWidget\"]') || "
            "!document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, headless=True, args=args)
        try:
            for _, name, password in users:
                ctx = b.new_context(viewport={"width": 1280, "height": 900})
                page = ctx.new_page()
                page.set_default_timeout(60000)
                try:
                    page.goto(base)
                    page.get_by_label("Username").fill(name)
                    page.get_by_label("Password", exact=True).fill(password)
                    page.get_by_role("button", name="Sign in").click()
                    page.get_by_text("Signed in as").wait_for()
                    while time.monotonic() < stop_at:
                        for title, path in BROWSER_PAGES:
                            t0 = time.perf_counter()
                            page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
                            page.get_by_role("heading", name=title).first.wait_for()
                            page.wait_for_function(idle)
                            out["page_ms"].append(round((time.perf_counter() - t0) * 1000, 1))
                            want = set(seen.get(path) or ())
                            if want:
                                missing = _labels_missing(page, want)
                                if missing:
                                    out["mismatches"].append({"page": path, "missing_in_browser": missing})
                                out["pages_checked"] += 1
                            time.sleep(5)
                        if out["pages_checked"] >= 4 * len(users):
                            break
                except Exception as exc:  # noqa: BLE001 - reported, the protocol run goes on
                    out["errors"].append(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
                finally:
                    ctx.close()
        finally:
            b.close()
    return out


# -- the run --------------------------------------------------------------------------------------
async def drive(base: str, plans: list[Plan], seconds: float, think: tuple[float, float], ramp: float,
                watch: ServerWatch, rng_seed: int, rec: Recorder) -> Recorder:
    photo = photo_bytes()
    people = [Person(base, p, rec, think, photo, random.Random(rng_seed + i)) for i, p in enumerate(plans)]
    signed = 0

    async def one(i: int, person: Person):
        nonlocal signed
        await asyncio.sleep(ramp * i / max(len(people), 1))  # staff arrive over the ramp, not in one instant
        try:
            if await person.sign_in():
                signed += 1
                if signed == len(people):
                    watch.mark_signed_in()
                await person.run_until(time.monotonic() + seconds)  # each works `seconds` once signed in
        except Exception as exc:  # noqa: BLE001 - a crashed session is an error of the run, not of the script
            rec.error("session", f"{type(exc).__name__}: {str(exc)[:200]}")
        finally:
            await person.close()

    async def lag_watch():  # this process must keep up, or its figures measure itself, not the server
        while True:
            t0 = time.perf_counter()
            await asyncio.sleep(0.25)
            rec.client_lag_ms = max(rec.client_lag_ms, (time.perf_counter() - t0 - 0.25) * 1000)

    watcher = asyncio.create_task(lag_watch())
    await asyncio.gather(*(one(i, p) for i, p in enumerate(people)))
    watcher.cancel()
    return rec


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m scripts.load_test", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 2)[2])
    ap.add_argument("--sessions", type=int, default=50, help="concurrent staff sessions (default 50)")
    ap.add_argument("--minutes", type=float, default=5.0, help="how long each session works once signed in (default 5)")
    ap.add_argument("--seconds", type=float, help="the same in seconds (overrides --minutes; for short runs)")
    ap.add_argument("--database-url", help="SQLAlchemy URL of the database to test (WRITTEN TO: use a copy); "
                                           "default: a throwaway seeded demo database")
    ap.add_argument("--utility", choices=("society", "water"), default="society",
                    help="demo utility of the throwaway database (default society)")
    ap.add_argument("--accounts", type=int, help="accounts in the throwaway database (default: the demo's size)")
    ap.add_argument("--url", help="target this running server instead of starting one (it must trust the "
                                  "loadtest's X-Forwarded-For: TRUSTED_PROXIES, or sign-ins are throttled)")
    ap.add_argument("--servers", type=int, default=1, help="server processes behind a sticky balancer (default 1)")
    ap.add_argument("--browsers", type=int, default=2, help="real Chromium sessions alongside (default 2; 0: none)")
    ap.add_argument("--think", type=float, nargs=2, default=(3.0, 8.0), metavar=("MIN", "MAX"),
                    help="think time between actions in seconds (default 3 8)")
    ap.add_argument("--ramp", type=float, help="seconds over which sessions start (default: a tenth of the run, at most 30)")
    ap.add_argument("--seed", type=int, default=19, help="random seed (default 19)")
    ap.add_argument("--keep", action="store_true", help="keep the work directory (throwaway database, server logs)")
    ap.add_argument("--json", action="store_true", help="print the report as JSON (last line)")
    args = ap.parse_args(argv)
    if args.sessions < 1:
        ap.error("--sessions must be at least 1")
    if args.url and not args.database_url:
        ap.error("--url needs --database-url (the database that server uses: the test creates its users there)")
    seconds = args.seconds if args.seconds is not None else args.minutes * 60
    ramp = args.ramp if args.ramp is not None else min(30.0, seconds / 10)
    rng = random.Random(args.seed)
    say = (lambda *a: print(*a, file=sys.stderr)) if args.json else print

    work = Path(tempfile.mkdtemp(prefix="meterline-load-"))
    db_url = args.database_url
    if not db_url:
        say(f"Seeding a throwaway {args.utility} demo database in {work} ...")
        db_url = seed_throwaway(work, args.utility, args.accounts)
    kinds = kinds_for(args.sessions)
    users = create_users(db_url, kinds, args.browsers)
    meters, codes, months = sample_data(db_url, kinds.count("engineer"), 60, rng)
    plans, m = [], 0
    for i, (kind, name, password) in enumerate(users[: args.sessions]):
        mine = meters[m::max(kinds.count("engineer"), 1)] if kind == "engineer" else []
        m += kind == "engineer"
        plans.append(Plan(kind, name, password, new_forwarded_address(i + 1), list(mine), codes, months or ["2026-10"]))

    procs, balancer = [], None
    load_before = [round(x, 2) for x in os.getloadavg()]
    try:
        if args.url:
            base = args.url.rstrip("/")
            pids = []
        else:
            servers = [start_server(db_url, work, n) for n in range(args.servers)]
            procs = [p for p, _ in servers]
            pids = [p.pid for p in procs]
            base = servers[0][1]
        watch = ServerWatch(pids)
        say(f"{args.sessions} sessions ({', '.join(f'{kinds.count(k)} {k}' for k, _ in ROLE_MIX)}) for {seconds:.0f} s "
            f"on {base} ({len(pids) or 'external'} server process(es)) ...")

        async def run_all():
            nonlocal balancer
            target = base
            if len(procs) > 1:
                balancer = StickyBalancer([b for _, b in servers])
                target = await balancer.start()
            browser_users = users[args.sessions:]
            loop = asyncio.get_running_loop()
            rec = Recorder()  # the browsers compare with the labels the sessions see, as they see them
            bfut = loop.run_in_executor(None, browser_check, target, browser_users, rec.seen_labels,
                                        time.monotonic() + seconds + ramp) if browser_users else None
            await drive(target, plans, seconds, tuple(args.think), ramp, watch, args.seed, rec)
            bres = await bfut if bfut else browser_check(target, [], {}, 0)
            if balancer:
                await balancer.stop()
            return rec, bres

        rec, bres = asyncio.run(run_all())
        server = watch.stop(args.sessions) if pids else {}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    bres.pop("page_ms", None) if not bres.get("page_ms") else None
    dialect = db_url.split(":", 1)[0].split("+")[0]
    meta = {"sessions": args.sessions, "seconds": seconds, "utility": args.utility if not args.database_url else None,
            "database": dialect, "servers": args.servers if not args.url else None,
            "mix": {k: kinds.count(k) for k, _ in ROLE_MIX}, "think_seconds": list(args.think),
            "load_average_before": load_before, "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "server": server or {"processes": 0, "cpu_seconds": None, "wall_seconds": None,
                                 "cpu_percent_of_one_core": None, "baseline_rss_mb": None, "peak_rss_mb": None,
                                 "rss_per_session_mb": None},
            "balancer_connections": balancer.connections if balancer else None, "browser_check": bres}
    report = build_report(rec, meta)
    say(table(report))
    if args.json:
        print(json.dumps(report))
    ok = report["errors_total"] == 0 and not bres["mismatches"] and not bres["errors"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
