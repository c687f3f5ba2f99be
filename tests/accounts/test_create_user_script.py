"""python -m scripts.create_user: bootstrap an admin from a prompt or stdin, reset a password."""
import io
import os
import subprocess
import sys

import pytest

from scripts import create_user
from services.accounts.auth import AuthService
from services.storage.sql_backend import SqlStorage
from tests.conftest import ROOT

PW = "first admin passphrase"


@pytest.fixture
def db(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'boot.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    return url


def run(args, stdin="", env_url=None):
    env = {**os.environ, "METERLINE_DOTENV": "0", **({"DATABASE_URL": env_url} if env_url else {})}
    return subprocess.run([sys.executable, "-m", "scripts.create_user", *args], input=stdin, text=True,
                          capture_output=True, cwd=ROOT, env=env, timeout=120)


def test_help():
    out = run(["--help"])
    assert out.returncode == 0 and "--password-stdin" in out.stdout and "--role" in out.stdout


def test_bootstrap_admin_from_stdin(db):
    out = run(["--role", "admin", "--username", "asha", "--password-stdin"], stdin=PW + "\n", env_url=db)
    assert out.returncode == 0, out.stderr
    assert "Created user 'asha' (Administrator" in out.stdout and PW not in out.stdout + out.stderr
    storage = SqlStorage(db)
    assert AuthService(storage).login("asha", PW).actor.role == "admin"
    assert storage.list_audit(action_prefix="user.create").items[0].actor_name == "create_user"


def test_prompts_twice(db, monkeypatch, capsys):
    answers = iter([PW, PW])
    monkeypatch.setattr(create_user.getpass, "getpass", lambda prompt="": next(answers))
    assert create_user.main(["--role", "field_engineer", "--username", "ravi"]) == 0
    assert AuthService(SqlStorage(db)).login("ravi", PW).actor.role == "field_engineer"


def test_prompt_mismatch_changes_nothing(db, monkeypatch):
    answers = iter([PW, PW + "x"])
    monkeypatch.setattr(create_user.getpass, "getpass", lambda prompt="": next(answers))
    with pytest.raises(SystemExit, match="differ"):
        create_user.main(["--role", "admin", "--username", "ravi"])
    assert SqlStorage(db).get_user(username="ravi") is None


def test_weak_password_is_refused(db, monkeypatch, capsys):
    monkeypatch.setattr(sys, "stdin", io.StringIO("password1234\n"))
    assert create_user.main(["--role", "admin", "--username", "asha", "--password-stdin"]) == 1
    assert "most common passwords" in capsys.readouterr().err
    assert SqlStorage(db).get_user(username="asha") is None


def test_auth0_user_and_reset_password(db, monkeypatch, capsys):
    assert create_user.main(["--role", "admin", "--username", "auth0|64f1", "--auth0", "--email", "a@example.com"]) == 0
    u = SqlStorage(db).get_user(username="auth0|64f1")
    assert u.auth_provider == "auth0" and u.password_hash is None
    monkeypatch.setattr(sys, "stdin", io.StringIO(PW + "\n"))
    assert create_user.main(["--role", "admin", "--username", "asha", "--password-stdin"]) == 0
    auth = AuthService(SqlStorage(db))
    for _ in range(5):
        with pytest.raises(Exception):
            auth.login("asha", "wrong password here")
    monkeypatch.setattr(sys, "stdin", io.StringIO("a brand new passphrase\n"))
    assert create_user.main(["--username", "asha", "--reset-password", "--password-stdin"]) == 0
    assert auth.login("asha", "a brand new passphrase").actor.username == "asha"
    assert create_user.main(["--username", "nobody", "--reset-password", "--password-stdin"]) == 1


def test_role_is_required_for_a_new_user(db):
    with pytest.raises(SystemExit):
        create_user.main(["--username", "asha"])
