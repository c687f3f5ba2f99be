"""Fixtures for page tests that change data: the 320-flat demo society (it has seed 002's B17-FF) seeded once per session
(dated by the app's own clock, so "today" in the pages and in the data agree) and copied per
test, so every test starts from the same state without reseeding.

Import the fixtures into a test module: `from tests.ui.seeded import seeded_url, seeded_template  # noqa: F401`.
"""
from __future__ import annotations

import io
import sqlite3

import pytest

from services.clock import today as app_today
from services.storage.sql_backend import SqlStorage
from tests.ui.harness import app, sign_in


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory):
    from scripts import seed_demo

    path = tmp_path_factory.mktemp("ui_template") / "template.db"
    storage = SqlStorage(f"sqlite:///{path}")
    seed_demo.seed(storage, 320, app_today(), quiet=True)
    storage.dispose()
    return path


@pytest.fixture
def seeded_url(seeded_template, tmp_path) -> str:
    """A private copy of the seeded database (sqlite backup API: consistent even in WAL mode)."""
    target = tmp_path / "pages.db"
    src, dst = sqlite3.connect(seeded_template), sqlite3.connect(target)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    return f"sqlite:///{target}"


def signed_in(url: str, monkeypatch, tmp_path, username: str, page: str | None = None):
    at = sign_in(app(url, monkeypatch, tmp_path, timeout=60), username)
    assert not at.exception, at.exception
    if page:
        at.switch_page(page).run()
        assert not at.exception, at.exception
    return at


def storage_for(url: str) -> SqlStorage:
    return SqlStorage(url)


def png_bytes(colour=(200, 30, 30), size=(40, 30)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, format="PNG")
    return buf.getvalue()


def plain(text: str) -> str:
    """Markdown shown by the pages escapes user data; compare without the backslashes."""
    return text.replace("\\", "")
