"""AppTest helpers: a seeded temporary database and signed-in sessions.

`app(url)` returns an AppTest of streamlit_app.py on that database; `sign_in(at, username,
password)` signs in through the real login form. Keep these working when the sign-in internals
change: every UI test uses them.
"""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from scripts.seed_demo import MUNICIPAL_DEMO_USERS, demo_users

ROOT = Path(__file__).resolve().parents[2]
DEMO_PASSWORDS = {username: password for username, _, _, password in demo_users("water") + MUNICIPAL_DEMO_USERS}  # one source: seed_demo


def app(url: str, monkeypatch, tmp_path, timeout: float = 30) -> AppTest:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("PHOTO_DIR", str(tmp_path / "photos"))
    return AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=timeout)


def sign_in(at: AppTest, username: str, password: str | None = None) -> AppTest:
    at.run()
    inputs = at.text_input
    inputs[0].input(username)
    inputs[1].input(password if password is not None else DEMO_PASSWORDS[username])
    at.button[0].click()
    return at.run()
