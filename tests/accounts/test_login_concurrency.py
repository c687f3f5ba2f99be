"""The lockout holds under concurrency, on SQLite, PostgreSQL and the Supabase REST backend.

Each sign-in is checked and counted in the database before its password is verified, so however
many attempts arrive at once, at most `max_failures` of one account are ever verified, every one
of them is counted, and no sign-in succeeds once the account is locked. The password check is
wrapped so a test can hold wrong passwords inside it: that is the window in which today's race
let a right password through.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from services.accounts import auth as accounts
from services.accounts.auth import AuthService
from services.errors import AuthenticationError
from services.accounts.passwords import hash_password
from services.accounts.passwords import verify_password as real_verify
from tests.accounts.conftest import Clock
from tests.backends import FACTORIES, load_optional_backends
from tests.factories import ADMIN

load_optional_backends()

PW = "correct horse battery staple"
WRONG = "not the password at all"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres),
                        pytest.param("supabase", marks=pytest.mark.postgres)])
def storage(request, tmp_path):
    st = FACTORIES[request.param](request, tmp_path)
    yield st
    getattr(st, "dispose", lambda: None)()


class GatedVerify:
    """verify_password that counts real hash checks and holds wrong passwords until released."""

    def __init__(self):
        self.checked = 0
        self.held = 0
        self.release = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, password_hash, password):
        if password_hash is not None:
            with self._lock:
                self.checked += 1
                if password != PW:
                    self.held += 1
            if password != PW:
                self.release.wait(timeout=120)
        return real_verify(password_hash, password)


def attempt(auth, password) -> str:
    try:
        auth.login("asha", password, "10.0.0.9")
    except AuthenticationError:
        return "refused"
    return "signed_in"


def wait_until(condition, what: str):
    for _ in range(12_000):  # a generous bound so a broken test fails instead of hanging
        if condition():
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"timed out waiting until {what}")


def login_rows(storage):
    rows = storage.list_audit(action_prefix="login.", limit=500).items
    return list(reversed(rows))  # oldest first


def test_parallel_wrong_and_right_after_the_limit(storage, monkeypatch):
    """4 failures counted, then 19 wrong and 1 right at once: one attempt may be verified; while it
    is, every other one is refused unverified; it fails and locks; the right password never gets in."""
    clock = Clock()
    user = storage.create_user(username="asha", role="field_engineer", password_hash=hash_password(PW), actor=ADMIN)
    auth = AuthService(storage, now=clock)
    for _ in range(4):
        assert attempt(auth, WRONG) == "refused"
    gate = GatedVerify()
    monkeypatch.setattr(accounts, "verify_password", gate)

    with ThreadPoolExecutor(max_workers=20) as pool:
        wrong = [pool.submit(attempt, auth, WRONG) for _ in range(19)]
        wait_until(lambda: gate.held + sum(f.done() for f in wrong) == 19,
                   "every wrong attempt is being verified or was refused")
        right = pool.submit(attempt, auth, PW)
        wait_until(right.done, "the right password has an answer")
        gate.release.set()
        answers = [f.result() for f in wrong]

    assert right.result() == "refused"
    assert answers == ["refused"] * 19
    assert gate.checked == 1  # 4 failures + 1 in flight = the limit: nothing else reached the hash
    after = storage.get_user(user_id=user.id)
    assert after.locked_until == clock.now + auth.lockout and after.login_attempts_in_flight == 0
    rows = login_rows(storage)
    failed = [r.details["reason"] for r in rows if r.action == "login.failed"]
    assert len(failed) == 4 + 20  # every attempt is on record
    assert failed.count("bad_password") == 5 and failed.count("too_many_attempts") == 19
    assert [r.action for r in rows].count("login.lockout") == 1
    assert not [r for r in rows if r.action == "login.success"]
    # Locked now: the right password is refused without being verified.
    assert attempt(auth, PW) == "refused" and gate.checked == 1


def test_burst_of_wrong_passwords_is_counted_and_locks(storage, monkeypatch):
    """20 wrong at once on a fresh account: exactly 5 are verified and counted, the account locks
    once, and a right password right after is refused."""
    clock = Clock()
    user = storage.create_user(username="asha", role="field_engineer", password_hash=hash_password(PW), actor=ADMIN)
    auth = AuthService(storage, now=clock)
    gate = GatedVerify()
    monkeypatch.setattr(accounts, "verify_password", gate)
    with ThreadPoolExecutor(max_workers=20) as pool:
        futures = [pool.submit(attempt, auth, WRONG) for _ in range(20)]
        wait_until(lambda: gate.held + sum(f.done() for f in futures) == 20, "every attempt has started")
        gate.release.set()
        assert [f.result() for f in futures] == ["refused"] * 20
    assert gate.checked == 5
    assert storage.get_user(user_id=user.id).locked_until == clock.now + auth.lockout
    failed = [r.details["reason"] for r in login_rows(storage) if r.action == "login.failed"]
    assert failed.count("bad_password") == 5 and failed.count("too_many_attempts") == 15
    assert attempt(auth, PW) == "refused"


def test_free_race_never_signs_in_after_a_lockout(storage):
    """No gate: 19 wrong and 1 right released together, 4 failures already counted. Whatever the
    order, at most one attempt is verified before the account locks or the right one signs in, and
    a sign-in never comes after the lockout."""
    clock = Clock()
    storage.create_user(username="asha", role="field_engineer", password_hash=hash_password(PW), actor=ADMIN)
    auth = AuthService(storage, now=clock)
    for _ in range(4):
        attempt(auth, WRONG)
    start = threading.Barrier(20)

    def go(password):
        start.wait()
        return attempt(auth, password)

    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(go, [WRONG] * 10 + [PW] + [WRONG] * 9))
    rows = login_rows(storage)
    actions = [r.action for r in rows]
    assert len([a for a in actions if a in ("login.failed", "login.success")]) == 4 + 20
    assert answers.count("signed_in") == actions.count("login.success") <= 1
    if "login.lockout" in actions and "login.success" in actions:
        assert actions.index("login.success") < actions.index("login.lockout")
    assert storage.get_user(username="asha").login_attempts_in_flight == 0
