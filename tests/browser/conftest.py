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


def start_streamlit(db_url: str, workdir: Path, extra_env: dict | None = None, script: str = "web.py") -> StreamlitServer:
    """`streamlit run web.py`, as start.sh: the app plus the session-cookie routes (ui/web_routes.py)."""
    port = _free_port()
    photo_dir = workdir / "photos"
    log = workdir / "streamlit.log"
    env = {**os.environ, "DATABASE_URL": db_url, "PHOTO_DIR": str(photo_dir), "METERLINE_DOTENV": "0",
           **(extra_env or {})}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
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


def signed_in_or_form(page) -> None:
    """Wait until the page shows either the sign-in form or a signed-in sidebar (the cookie's session)."""
    page.get_by_label("Username").or_(page.get_by_role("button", name="Sign out", exact=True)).first.wait_for(
        state="attached", timeout=60000)


def sign_out(page) -> None:
    """Press "Sign out" in the sidebar (opening it first on a phone) and wait for the sign-in form."""
    if page.get_by_test_id("stSidebar").get_attribute("data-collapsed") == "true":
        page.get_by_test_id("stExpandSidebarButton").click()
        page.wait_for_timeout(400)
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.get_by_label("Username").wait_for()
    wait_for_app(page)


def sign_in(page, base_url: str, username: str, password: str):
    page.goto(base_url)
    wait_for_app(page)
    signed_in_or_form(page)
    if page.get_by_label("Username").count() == 0:  # still signed in (the session cookie): sign out first,
        sign_out(page)                                # then start again at the root (the next user's own first page)
        page.goto(base_url)
        wait_for_app(page)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    wait_for_app(page)


def open_signed_in(page, url: str, username: str, password: str) -> None:
    """Open a deep link as `username`: the session cookie keeps a signed-in user signed in across the
    load; otherwise the sign-in form comes first and the link's parameters survive it."""
    page.goto(url)
    wait_for_app(page)
    signed_in_or_form(page)
    if page.get_by_label("Username").count():
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
    if phone:  # ui/phone.py's listener is added when the page's first run draws it: a click before is not seen
        page.wait_for_function("() => window.__meterlineCloseSidebar === true", timeout=30000)
    link.click()
    wait_for_app(page)
    if phone:  # on a phone the sidebar closes by itself once a page is chosen (ui/phone.py, issue 18)
        page.wait_for_function("() => document.querySelector('[data-testid=\"stSidebar\"]')"
                               ".getAttribute('data-collapsed') === 'true'", timeout=30000)  # slow when loaded
        page.wait_for_timeout(400)


def click_row(page, key: str, row: int = 0) -> None:
    """Click a row of the st.dataframe with widget key `key` (row selection opens it): the grid is
    drawn on a canvas, so click the row's marker cell (the first, narrow column) by position."""
    grid = page.locator(f"[class*='st-key-{key}'] [data-testid='stDataFrame']").first  # keys may end in a counter
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 15, box["y"] + 35 * (row + 1) + 17)  # a header row, then rows of 35 px
    wait_for_app(page)
