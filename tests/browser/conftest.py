"""Browser tests: a real `streamlit run` server on a seeded temporary database, driven by
Debian's chromium through Playwright (never `playwright install`). Screenshots go to
test-output/<test name>/ (call `shot(page, "name")`)."""
from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import ROOT, TODAY

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic", "--disable-dev-shm-usage"]
OUTPUT = ROOT / "test-output"


def _chromium() -> str:
    for c in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if c and Path(c).exists():
            return c
    pytest.fail("Debian chromium is not installed: run ./test.sh (it installs it) or apt-get install chromium")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class StreamlitServer:
    def __init__(self, url: str, db_url: str, photo_dir: Path, proc: subprocess.Popen, log: Path):
        self.url, self.db_url, self.photo_dir, self.proc, self.log = url, db_url, photo_dir, proc, log

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def start_streamlit(db_url: str, workdir: Path, extra_env: dict | None = None) -> StreamlitServer:
    port = _free_port()
    photo_dir = workdir / "photos"
    log = workdir / "streamlit.log"
    env = {**os.environ, "DATABASE_URL": db_url, "PHOTO_DIR": str(photo_dir), "METERLINE_DOTENV": "0",
           **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "streamlit_app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
         "--server.fileWatcherType", "none"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return StreamlitServer(base, db_url, photo_dir, proc, log)
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"streamlit did not answer /_stcore/health:\n{log.read_text()}")


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=_chromium(), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """A streamlit server on a freshly seeded 32-flat demo database (one per test module)."""
    from scripts import seed_demo
    from services.storage.sql_backend import SqlStorage

    work = tmp_path_factory.mktemp("browser")
    db_url = f"sqlite:///{work / 'demo.db'}"
    seed_demo.seed(SqlStorage(db_url), 32, TODAY, quiet=True)
    server = start_streamlit(db_url, work)
    yield server
    server.stop()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(20000)
    out = OUTPUT / re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    shutil.rmtree(out, ignore_errors=True)
    pg._shot_dir = out  # noqa: SLF001 - used by shot()
    pg._shot_n = 0
    yield pg
    context.close()


def shot(page, name: str) -> Path:
    """Save a full-page screenshot under test-output/<test>/NN-name.png."""
    page._shot_dir.mkdir(parents=True, exist_ok=True)
    page._shot_n += 1
    path = page._shot_dir / f"{page._shot_n:02d}-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_app(page):
    """Wait until Streamlit has finished running the script."""
    page.wait_for_selector("[data-testid='stApp']")
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=30000)
    page.wait_for_timeout(300)


def sign_in(page, base_url: str, username: str, password: str):
    page.goto(base_url)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_for_app(page)


def full_shot(page, name: str):
    """A screenshot of the whole page. Streamlit scrolls inside its main element, so a
    full-page screenshot would show only the window: grow the window to the content first."""
    wait_for_app(page)
    size = page.viewport_size
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(height, 8000))})
    page.wait_for_timeout(500)  # charts and images lay out again
    path = shot(page, name)
    page.set_viewport_size(size)
    return path


def nav(page, title: str) -> None:
    """Click a page in the sidebar navigation (opening the sidebar first on a phone-sized screen)."""
    link = page.get_by_test_id("stSidebarNav").get_by_text(title, exact=True)
    expand = page.get_by_test_id("stExpandSidebarButton")
    phone = page.viewport_size["width"] < 640  # Streamlit's breakpoint: the sidebar starts closed, over the page
    # Closed (on a phone, or closed earlier: Streamlit remembers): open it. A closed sidebar's links
    # still count as visible to Playwright, only moved off the screen, so ask the sidebar itself.
    if page.get_by_test_id("stSidebar").get_attribute("data-collapsed") == "true":
        expand.click()
        link.wait_for()
        page.wait_for_timeout(400)  # the sidebar slides in
    link.click()
    wait_for_app(page)
    if phone:  # on a phone the sidebar covers the page until closed, as a user would
        page.get_by_test_id("stSidebarCollapseButton").locator("button").click()
        page.wait_for_timeout(400)
