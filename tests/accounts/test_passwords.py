"""Password hashing parameters and the password policy (ASVS 2.1)."""
import pytest
from argon2 import Type
from argon2.low_level import ARGON2_VERSION
from argon2 import extract_parameters

from services.errors import ValidationError
from services.accounts.password_policy import MAX_LENGTH, check_password, common_passwords
from services.accounts.passwords import HASHER, hash_password, needs_rehash, verify_password


def test_hash_is_argon2id_with_owasp_parameters():
    h = hash_password("correct horse battery staple")
    assert h.startswith("$argon2id$")
    p = extract_parameters(h)
    assert p.type is Type.ID and p.version == ARGON2_VERSION
    assert p.memory_cost >= 19 * 1024 and p.time_cost >= 2 and p.parallelism == 1
    assert "correct horse" not in h


def test_same_password_hashes_differently_and_verifies():
    a, b = hash_password("correct horse battery staple"), hash_password("correct horse battery staple")
    assert a != b  # salted
    assert verify_password(a, "correct horse battery staple")
    assert not verify_password(a, "correct horse battery stapl")
    assert not verify_password(None, "anything")  # no hash (unknown user / SSO account) never verifies
    assert not verify_password("not-a-hash", "anything")


def test_weaker_hash_is_flagged_for_rehash():
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("correct horse battery staple")
    assert needs_rehash(weak) and not needs_rehash(hash_password("x" * 12))
    assert HASHER.time_cost == 2 and HASHER.memory_cost == 19456


@pytest.mark.parametrize("pw", ["correct horse battery staple", "abcdefghijkm", "x" * 11 + "y",
                                "ünïcödé pässwörd ✓", "a" * 63 + "b", "b" + "a" * (MAX_LENGTH - 1),
                                "  leading and trailing spaces  "])
def test_policy_accepts(pw):
    check_password(pw, "asha")


@pytest.mark.parametrize("pw, says", [
    ("", "is empty"),
    ("short-pw-11", "at least 12"),
    ("x" * (MAX_LENGTH + 1), "at most 128"),
    ("password1234", "most common"),
    ("Password2026!", "most common"),          # a common word padded with digits and symbols
    ("QWERTYUIOP123", "most common"),           # the list is case-insensitive
    ("zzzzzzzzzzzzzz", "most common"),
    ("asha-is-my-name-2026", "contains the username"),
    ("tab\there-and-more", "control character"),
])
def test_policy_refuses_with_field_and_fix(pw, says):
    with pytest.raises(ValidationError) as exc:
        check_password(pw, "asha")
    assert exc.value.field == "password" and says in exc.value.message and exc.value.fix


def test_no_composition_rules():
    check_password("all lower case words here", None)  # no digit, no capital, no symbol needed


def test_bundled_list_is_loaded():
    assert len(common_passwords()) > 100 and "qwertyuiop123" in common_passwords()


def test_demo_passwords_pass_the_policy_and_readme_lists_them():
    """The demo accounts follow the app's own rules, and README's Demo accounts table says them."""
    from pathlib import Path

    from scripts.seed_demo import DEMO_USERS

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for username, role, _, password in DEMO_USERS:
        check_password(password, username)
        assert f"| `{username}` | `{password}` |" in readme, username


def test_seed_demo_refuses_a_demo_password_the_policy_refuses(monkeypatch, tmp_path):
    from scripts import seed_demo
    from services.storage.sql_backend import SqlStorage

    monkeypatch.setattr(seed_demo, "DEMO_USERS", (("admin", "admin", "Demo Administrator", "demo-admin-2026"),))
    storage = SqlStorage(f"sqlite:///{tmp_path / 'demo.db'}")
    with pytest.raises(ValidationError, match="contains the username"):
        seed_demo.ensure_demo_users(storage, quiet=True)
    assert storage.get_user(username="admin") is None
    storage.dispose()
