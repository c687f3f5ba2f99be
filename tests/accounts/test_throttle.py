"""The per-client throttle (services/accounts/throttle.py) and the address it counts, with a hand-moved clock."""
import pytest

from services.accounts.auth import AuthService
from services.errors import AuthenticationError, ConfigurationError, RateLimitedError
from services.accounts.passwords import hash_password
from services.accounts.throttle import SlidingWindow, ThrottleSettings, client_address, parse_trusted_proxies
from tests.factories import ADMIN


class Ticks:
    def __init__(self):
        self.t = 1000.0

    def __call__(self):
        return self.t


def test_sliding_window_allows_limit_then_says_how_long_to_wait():
    ticks = Ticks()
    w = SlidingWindow(3, 60, clock=ticks)
    assert [w.hit("a") for _ in range(3)] == [None, None, None]
    assert w.hit("a") == 60 and w.retry_after("a") == 60
    assert w.hit("b") is None  # per client
    ticks.t += 59.5
    assert w.hit("a") == 1  # never 0: the first attempt leaves the window in half a second
    ticks.t += 0.5
    assert [w.hit("a") for _ in range(4)] == [None, None, None, 60]  # the first three left the window


def test_refused_attempts_do_not_extend_the_wait():
    ticks = Ticks()
    w = SlidingWindow(2, 10, clock=ticks)
    w.hit("a"), w.hit("a")
    for _ in range(50):
        assert w.hit("a") is not None
    ticks.t += 10
    assert w.hit("a") is None


def test_memory_is_bounded_by_max_keys():
    w = SlidingWindow(1, 60, clock=Ticks(), max_keys=100)
    for i in range(1000):
        w.hit(f"10.0.{i // 250}.{i % 250}")
    assert len(w._hits) == 100  # noqa: SLF001


def test_zero_disables_and_bad_settings_are_refused(monkeypatch):
    assert SlidingWindow(0, 60).hit("a") is None and not SlidingWindow(0, 60).enabled
    with pytest.raises(ConfigurationError):
        SlidingWindow(5, 0)
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "ten")
    with pytest.raises(ConfigurationError, match="LOGIN_RATE_LIMIT must be a whole number"):
        ThrottleSettings.from_env()
    monkeypatch.setenv("LOGIN_RATE_LIMIT", "7")
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.0/8, ::1")
    got = ThrottleSettings.from_env()
    assert got.login_attempts == 7 and len(got.trusted_proxies) == 2
    monkeypatch.setenv("TRUSTED_PROXIES", "load-balancer")
    with pytest.raises(ConfigurationError, match="TRUSTED_PROXIES: 'load-balancer'"):
        ThrottleSettings.from_env()


def test_forwarded_for_is_believed_only_from_a_trusted_proxy():
    proxies = parse_trusted_proxies("10.0.0.0/8,192.0.2.7")
    assert client_address("203.0.113.9", "1.2.3.4", proxies) == "203.0.113.9"  # not from a proxy: ignored
    assert client_address("10.0.0.5", "198.51.100.20", proxies) == "198.51.100.20"
    # The client may write anything on the left; the rightmost untrusted hop is who connected to us.
    assert client_address("10.0.0.5", "6.6.6.6, 198.51.100.20, 192.0.2.7", proxies) == "198.51.100.20"
    assert client_address("10.0.0.5", "198.51.100.20", ()) == "10.0.0.5"  # no trusted proxies configured
    assert client_address("10.0.0.5", None, proxies) == "10.0.0.5"
    assert client_address(None, None, proxies) == "unknown"


def test_login_throttle_refuses_before_touching_any_account(sqlite_storage, clock):
    storage = sqlite_storage
    storage.create_user(username="asha", role="admin", password_hash=hash_password("correct horse battery"),
                        actor=ADMIN)
    auth = AuthService(storage, now=clock, login_throttle=SlidingWindow(2, 300, clock=Ticks()))
    for _ in range(2):
        with pytest.raises(AuthenticationError):
            auth.login("asha", "wrong wrong wrong", "198.51.100.20 test", client_ip="198.51.100.20")
    with pytest.raises(RateLimitedError) as exc:
        auth.login("asha", "correct horse battery", "198.51.100.20 test", client_ip="198.51.100.20")
    assert exc.value.retry_after == 300 and "Wait 5 minutes" in str(exc.value)
    assert storage.get_user(username="asha").failed_login_count == 2
    assert auth.login("asha", "correct horse battery", "x", client_ip="198.51.100.21").actor.username == "asha"
