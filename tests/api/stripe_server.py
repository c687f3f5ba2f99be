"""A loopback stand-in for the Stripe API: the real stripe SDK talks to it over HTTP.

It checks what the SDK sends (secret key, idempotency key, form-encoded payment link params),
answers like Stripe (idempotent replays return the first response) and records every request.
`fail_next(n)` makes the next n requests answer 500, as Stripe does when it is down.
"""
from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

API_KEY = "sk_test_meterline_loopback"


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict
    form: dict


@dataclass
class StripeState:
    requests: list[Recorded] = field(default_factory=list)
    links: dict[str, dict] = field(default_factory=dict)
    by_idempotency_key: dict[str, dict] = field(default_factory=dict)
    failures_left: int = 0
    ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)


def _nested(form: dict) -> dict:
    """Stripe's form encoding (a[b][0][c]=v) back into a nested dict (lists as index-keyed dicts)."""
    out: dict = {}
    for key, value in form.items():
        parts = key.replace("]", "").split("[")
        cur = out
        for p in parts[:-1]:
            cur = cur.setdefault(p, {})
        cur[parts[-1]] = value
    return out


def _handler(state: StripeState):
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def _reply(self, status: int, body: dict):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", "req_loopback")
            self.end_headers()
            self.wfile.write(data)

        def _handle(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode() if length else ""
            form = dict(parse_qsl(raw, keep_blank_values=True))
            path = self.path.split("?")[0]
            with state.lock:
                state.requests.append(Recorded(self.command, path, dict(self.headers), form))
                if state.failures_left > 0:
                    state.failures_left -= 1
                    return self._reply(500, {"error": {"type": "api_error", "message": "loopback outage"}})
            if self.headers.get("Authorization") != f"Bearer {API_KEY}":
                return self._reply(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key"}})
            if self.command == "POST" and path == "/v1/payment_links":
                return self._create_link(form)
            if path.startswith("/v1/payment_links/"):
                link = state.links.get(path.rsplit("/", 1)[1])
                if link is None:
                    return self._reply(404, {"error": {"type": "invalid_request_error", "message": "No such link"}})
                if self.command == "POST" and "active" in form:
                    link["active"] = form["active"] == "true"
                return self._reply(200, link)
            return self._reply(404, {"error": {"type": "invalid_request_error", "message": f"Unknown {path}"}})

        def _create_link(self, form: dict):
            key = self.headers.get("Idempotency-Key")
            with state.lock:
                if key and key in state.by_idempotency_key:
                    return self._reply(200, state.by_idempotency_key[key])
                p = _nested(form)
                item = p.get("line_items", {}).get("0", {})
                price = item.get("price_data", {})
                if not price.get("unit_amount", "").isdigit() or price.get("currency") != "inr" or item.get("quantity") != "1":
                    return self._reply(400, {"error": {"type": "invalid_request_error", "message": "bad line_items"}})
                n = next(state.ids)
                link = {"id": f"plink_{n}", "object": "payment_link", "active": True, "livemode": False,
                        "url": f"https://buy.stripe.test/plink_{n}", "metadata": p.get("metadata", {}),
                        "restrictions": p.get("restrictions"), "line_items_form": item}
                state.links[link["id"]] = link
                if key:
                    state.by_idempotency_key[key] = link
            return self._reply(200, link)

        do_GET = do_POST = do_DELETE = _handle

    return Handler


class StripeLoopback:
    def __init__(self):
        self.state = StripeState()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self.state))
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def start(self) -> "StripeLoopback":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def fail_next(self, n: int) -> None:
        self.state.failures_left = n

    def requests_to(self, method: str, path_prefix: str) -> list[Recorded]:
        return [r for r in self.state.requests if r.method == method and r.path.startswith(path_prefix)]
