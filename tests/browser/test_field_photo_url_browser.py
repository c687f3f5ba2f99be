"""A visit photo kept only remotely (Cloudinary URL on the visit and on the ticket's attachment, the
local copy gone: another server, a cleaned photo directory) is shown in a real headless Chromium on the
Visits page, the Ticket manager and the unit's timeline, at phone and desktop size (issue 15). The
Cloudinary host is answered by Playwright's router with a local image: no test reaches the internet.
Screenshots: test-output/issue15-photo-url/."""
from __future__ import annotations

import datetime as dt
import io
import shutil

import pytest

from services.accounts.passwords import hash_password
from services.accounts.roles import Actor
from services.field.models import NewTicket, NewVisit
from services.models import AccountFilter
from services.storage.sql_backend import SqlStorage
from tests.browser.conftest import OUTPUT, full_shot, nav, open_signed_in, sign_in, start_streamlit, wait_for_app
from tests.conftest import TODAY

PASSWORD = "violet-harbour-compass-91"
ADMIN = Actor(None, "pytest", "admin")
SHOTS = OUTPUT / "issue15-photo-url"
URL = "https://res.cloudinary.com/demo/image/upload/v1/meterline/meter_photos/2026-11/gone.jpg"


def _jpeg() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (96, 64), (200, 90, 30)).save(buf, format="JPEG")
    return buf.getvalue()


@pytest.fixture(scope="module")
def remote_photo_server(tmp_path_factory):
    from scripts import seed_demo

    work = tmp_path_factory.mktemp("browser_photo_url")
    db_url = f"sqlite:///{work / 'town.db'}"
    st = SqlStorage(db_url)
    seed_demo.seed(st, 120, TODAY, quiet=True, utility="municipal")
    mine = [a.path for a in st.list_user_areas(st.get_user(username="agent").id)]
    user = st.create_user(username="super_url", role="supervisor", password_hash=hash_password(PASSWORD), actor=ADMIN)
    st.set_user_areas(user.id, [st.get_area(path=p).id for p in mine], ADMIN)
    unit = st.list_accounts(AccountFilter(area_id=st.get_area(path=mine[0]).id, is_active=True), 0, 1).items[0]
    agent = st.get_user(username="agent")
    actor = Actor(agent.id, agent.username, agent.role)
    now = dt.datetime.combine(TODAY, dt.time(9), tzinfo=dt.timezone.utc)
    visit = st.create_visit(NewVisit(account_id=unit.id, outcome="refused", visited_at=now, visit_date=TODAY,
                                     notes="Owner refused", photo_ref="2026-11/gone.jpg", photo_url=URL), actor)
    st.create_ticket(NewTicket(account_id=unit.id, kind="other", description="Owner refused entry", raised_at=now,
                               source="visit", visit_id=visit.id, photo_refs=(visit.photo_ref,), photo_urls=(URL,)),
                     actor)
    st.dispose()
    server = start_streamlit(db_url, work)
    shutil.rmtree(SHOTS, ignore_errors=True)
    yield server, unit
    server.stop()


def _remote_images_loaded(page) -> int:
    """How many <img> show the remote URL, fully loaded by the browser."""
    return page.evaluate("(url) => [...document.images].filter(i => i.src === url && i.complete"
                         " && i.naturalWidth > 0).length", URL)


@pytest.mark.parametrize("viewport", [{"width": 390, "height": 844}, {"width": 1280, "height": 800}],
                         ids=["phone", "desktop"])
def test_a_remote_only_visit_photo_is_shown(browser, remote_photo_server, viewport):
    server, unit = remote_photo_server
    context = browser.new_context(viewport=viewport)
    asked = []

    def answer(route):
        asked.append(route.request.url)
        route.fulfill(status=200, body=_jpeg(), content_type="image/jpeg")

    context.route("https://res.cloudinary.com/**", answer)
    page = context.new_page()
    page.set_default_timeout(30000)
    page._shot_dir, page._shot_n = SHOTS, len(list(SHOTS.glob("*.png"))) if SHOTS.exists() else 0  # noqa: SLF001
    size = "phone" if viewport["width"] < 640 else "desktop"
    try:
        sign_in(page, server.url, "super_url", PASSWORD)
        nav(page, "Visits")
        page.get_by_role("button", name="Approve visit").wait_for()
        page.wait_for_function("(url) => [...document.images].some(i => i.src === url && i.naturalWidth > 0)", arg=URL)
        assert _remote_images_loaded(page) >= 1
        full_shot(page, f"visits-remote-photo-{size}")
        nav(page, "Ticket manager")
        page.wait_for_function("(url) => [...document.images].some(i => i.src === url && i.naturalWidth > 0)", arg=URL)
        full_shot(page, f"ticket-remote-photo-{size}")
        open_signed_in(page, f"{server.url}/accounts?account={unit.code}", "super_url", PASSWORD)
        wait_for_app(page)
        page.wait_for_function("(url) => [...document.images].some(i => i.src === url && i.naturalWidth > 0)", arg=URL)
        full_shot(page, f"unit-timeline-remote-photo-{size}")
        assert asked and all(u == URL for u in asked)
    finally:
        context.close()
