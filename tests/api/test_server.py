"""The real server: `python app.py` under uvicorn, hit over HTTP: concurrent Stripe redeliveries on
SQLite and PostgreSQL, and bodies far over the cap, sized and chunked, with and without credentials."""
from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from services.storage.sql_backend import SqlStorage
from tests.api.conftest import TOKEN, WEBHOOK_SECRET, make_bill, session_event, sign
from tests.factories import make_service, make_society

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server_for(tmp_path):
    procs = []

    def start(url: str) -> str:
        port = free_port()
        env = {**os.environ, "DATABASE_URL": url, "METERLINE_DOTENV": "0", "PHOTO_DIR": str(tmp_path / "photos"),
               "HEADER_AUTH_TOKEN": TOKEN, "HEADER_AUTH_ROLE": "admin", "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), "--log-level", "warning"],
                                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"app.py exited: {proc.stdout.read().decode()[-2000:]}")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    return base
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("app.py did not answer /health")

    start.procs = procs  # the servers started, newest last (a test may read /proc/PID)
    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_real_server_concurrent_redeliveries_pay_once(backend, request, tmp_path, today, server_for):
    url = request.getfixturevalue("pg_server").fresh_url() if backend == "postgresql" \
        else f"sqlite:///{tmp_path / 'server.db'}"
    storage = SqlStorage(url)
    make_society(storage)

    class Svc:  # what make_bill needs
        db = make_service(storage, today)

    bill = make_bill(Svc)
    base = server_for(url)

    health = httpx.get(f"{base}/health").json()
    assert health["database"] == "ok" and health["backend"] == backend
    assert httpx.get(f"{base}/api/bills/{bill.id}").status_code == 401
    got = httpx.get(f"{base}/api/bills/{bill.id}", headers={"Authorization": f"Bearer {TOKEN}"})
    assert got.status_code == 200 and got.json()["total_amount"] == "3274.00"

    payload = session_event(bill.id, 327400, event_id="evt_race", session_id="cs_race")
    other = session_event(bill.id, 327400, event_id="evt_race_2", session_id="cs_race",
                          etype="checkout.session.async_payment_succeeded")

    def deliver(body: str) -> dict:
        r = httpx.post(f"{base}/webhook/stripe", content=body, timeout=30,
                       headers={"Stripe-Signature": sign(body, WEBHOOK_SECRET), "Content-Type": "application/json"})
        assert r.status_code == 200, r.text
        return r.json()

    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(deliver, [payload] * 40 + [other] * 8))
    first, second = answers[:40], answers[40:]
    # Each event gets one answer however often it arrives; between them the session paid once.
    assert len({a["outcome"] for a in first}) == 1 and len({a["outcome"] for a in second}) == 1
    assert {first[0]["outcome"], second[0]["outcome"]} == {"applied", "duplicate"}
    assert sum(not a["redelivered"] for a in first) == 1 and sum(not a["redelivered"] for a in second) == 1
    payments = storage.list_payments(bill.id)
    assert [(p.amount, p.external_id) for p in payments] == [(Decimal("3274.00"), "cs_race")]
    events = storage.list_payment_events(limit=100).items
    assert sorted(e.stripe_event_id for e in events) == ["evt_race", "evt_race_2"]
    assert storage.get_bill(bill.id).status == "paid"
    # One confirmation: one notification row per channel (skipped here: none is configured).
    sent = storage.list_notifications(kind="payment_received").items
    assert sent and len(sent) == len({n.channel for n in sent})
    storage.dispose()


# ---- oversized bodies: refused without being read ----------------------------------------------
BODY = 96 * 1024 * 1024  # what the client tries to send; the cap is API_MAX_BODY_BYTES (1 MB)
# Bytes the client can hand to the kernel before a server that stopped reading: its send buffer
# (tcp_wmem max 4 MB here) plus the server's receive buffer, which grows only while it reads.
BOUND = 32 * 1024 * 1024


def push(port: int, path: str, headers: dict, total: int, chunked: bool, piece_size: int = 65536):
    """POST a body of `total` bytes (Content-Length, or chunked), sending on whatever the server
    answers, as a hostile client would, until the server stops taking bytes (it closed or reset
    the connection). Returns (bytes the server let through, status line)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
             *(f"{k}: {v}" for k, v in headers.items()),
             "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    piece = b"x" * piece_size
    frame = b"%x\r\n%s\r\n" % (piece_size, piece) if chunked else piece
    sent, answer = 0, b""
    try:
        while sent < total:
            if select.select([sock], [], [], 0)[0]:  # read the answer as it comes, before any reset
                answer += sock.recv(65536)
            sock.sendall(frame)
            sent += piece_size
        if chunked:
            sock.sendall(b"0\r\n\r\n")
    except OSError:  # reset or broken pipe: the server closed the connection
        pass
    try:
        while b"\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except OSError:
        pass
    sock.close()
    return sent, answer.split(b"\r\n", 1)[0].decode(errors="replace")


def peak_rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM")


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_oversized_bodies_are_refused_unread(chunked, tmp_path, server_for):
    """Without credentials: 401 before the body is read. With them: 413, having read at most the cap.
    Either way the server takes a bounded number of bytes and its peak memory stays flat."""
    base = server_for(f"sqlite:///{tmp_path / 'server.db'}")
    port, pid = int(base.rsplit(":", 1)[1]), server_for.procs[-1].pid
    before = peak_rss(pid)
    for headers, status in (({}, "401"), ({"Authorization": "Bearer wrong-token"}, "401"),
                            ({"Authorization": f"Bearer {TOKEN}"}, "413")):
        sent, line = push(port, "/webhook/meter-reading", headers, BODY, chunked)
        assert line.split()[1:2] == [status], (headers, line)
        assert sent < BOUND, f"the server took {sent} bytes of a {BODY}-byte body"
    sent, line = push(port, "/webhook/stripe", {"Stripe-Signature": "t=1,v1=00"}, BODY, chunked)
    assert line.split()[1:2] == ["413"] and sent < BOUND
    assert peak_rss(pid) - before < 16 * 1024 * 1024
    assert httpx.get(f"{base}/health").status_code == 200  # still serving
