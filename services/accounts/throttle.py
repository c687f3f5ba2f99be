"""Per-client throttles: at most N attempts in a sliding window, counted in this process.

Used for sign-ins (the app's form and failed API authentications) and for every API request,
keyed by the client's address (`client_address`). The counts live in the memory of one server
process: with several processes or replicas each counts on its own, so a client may make up to
N attempts per window per process. The per-account lockout (services/accounts/auth.py) is kept in the
database and holds across processes; this throttle only slows one client down cheaply.
"""
from __future__ import annotations

import ipaddress
import math
import os
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass
from typing import Callable

from services.errors import ConfigurationError


class SlidingWindow:
    """At most `limit` attempts per `window_seconds` per key (limit 0: no limit). Thread-safe.
    Memory is bounded: `limit` timestamps per key and at most `max_keys` keys (the least recently
    seen key is forgotten first)."""

    def __init__(self, limit: int, window_seconds: float, *, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 100_000):
        if limit < 0 or window_seconds <= 0:
            raise ConfigurationError(f"A throttle needs a limit of 0 or more and a window over 0 seconds "
                                     f"(got {limit} per {window_seconds} s).")
        self.limit = limit
        self.window = float(window_seconds)
        self.clock = clock
        self.max_keys = max_keys
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.limit > 0

    def _recent(self, key: str, now: float) -> deque[float]:
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
        else:
            self._hits.move_to_end(key)
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        return hits

    def retry_after(self, key: str) -> int | None:
        """Seconds until `key` may try again (at least 1), or None when it may try now. Counts nothing."""
        if not self.enabled:
            return None
        with self._lock:
            if key not in self._hits:  # a check alone never stores a new key
                return None
            now = self.clock()
            hits = self._recent(key, now)
            if len(hits) < self.limit:
                return None
            return max(1, math.ceil(hits[0] + self.window - now))

    def hit(self, key: str) -> int | None:
        """Count one attempt of `key`: None when it is allowed, else the seconds to wait (the
        refused attempt is not counted, so waiting that long always helps)."""
        if not self.enabled:
            return None
        with self._lock:
            now = self.clock()
            hits = self._recent(key, now)
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.window - now))
            hits.append(now)
            return None


def wait_text(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    return f"{math.ceil(seconds / 60)} minutes"


# ---- client addresses ----------------------------------------------------------------------------
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_trusted_proxies(value: str | None) -> tuple[Network, ...]:
    """TRUSTED_PROXIES: comma-separated addresses or networks (10.0.0.5, 10.0.0.0/8, ::1)."""
    nets = []
    for part in (value or "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            nets.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigurationError(f"TRUSTED_PROXIES: '{part}' is not an IP address or network "
                                     "(e.g. 10.0.0.5 or 10.0.0.0/8).") from None
    return tuple(nets)


def _trusted(addr: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(addr.strip())
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(peer: str | None, forwarded_for: str | None, trusted_proxies: tuple[Network, ...]) -> str:
    """The client's address: the connection's peer, unless the peer is a trusted proxy, then the
    last address in X-Forwarded-For that is not itself a trusted proxy (addresses further left
    were written by the client and can be forged). Without trusted proxies the header is ignored."""
    peer = peer.strip()[:64] if isinstance(peer, str) and peer.strip() else "unknown"
    if not isinstance(forwarded_for, str) or not trusted_proxies or not _trusted(peer, trusted_proxies):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, trusted_proxies):
            return hop[:64]
    return hops[0][:64] if hops else peer


@dataclass(frozen=True)
class ThrottleSettings:
    login_attempts: int = 20  # sign-in attempts per client per window (0: no limit)
    login_window_seconds: int = 300
    api_requests: int = 1200  # API requests per client per window (0: no limit)
    api_window_seconds: int = 60
    trusted_proxies: tuple[Network, ...] = ()

    @classmethod
    def from_env(cls) -> "ThrottleSettings":
        """LOGIN_RATE_LIMIT, LOGIN_RATE_WINDOW_SECONDS, API_RATE_LIMIT, API_RATE_WINDOW_SECONDS, TRUSTED_PROXIES."""
        from services.config import load_dotenv_once

        load_dotenv_once()
        env = os.environ

        def number(name: str, default: int) -> int:
            raw = (env.get(name) or "").strip()
            try:
                return int(raw) if raw else default
            except ValueError:
                raise ConfigurationError(f"{name} must be a whole number, not '{raw}'.") from None

        return cls(login_attempts=number("LOGIN_RATE_LIMIT", cls.login_attempts),
                   login_window_seconds=number("LOGIN_RATE_WINDOW_SECONDS", cls.login_window_seconds),
                   api_requests=number("API_RATE_LIMIT", cls.api_requests),
                   api_window_seconds=number("API_RATE_WINDOW_SECONDS", cls.api_window_seconds),
                   trusted_proxies=parse_trusted_proxies(env.get("TRUSTED_PROXIES")))

    def login_window(self, **kw) -> SlidingWindow:
        return SlidingWindow(self.login_attempts, self.login_window_seconds, **kw)

    def api_window(self, **kw) -> SlidingWindow:
        return SlidingWindow(self.api_requests, self.api_window_seconds, **kw)
