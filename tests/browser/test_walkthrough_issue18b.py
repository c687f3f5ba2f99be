"""Issue 18: every page a role opens, at desktop (1280x800) and phone (390x844) size, in a real
Chromium, saved under test-output/issue18b/<role>-<size>/NN-<page>.png for a person to look at (the
role guides in docs/ show a few of them, copied to docs/img/). Each page must draw without an
exception box and without a developer word (an environment variable name, raw JSON, flat_rate)."""
import re

import pytest

from tests.browser.conftest import OUTPUT, nav, sign_in, wait_for_app
from tests.ui.harness import DEMO_PASSWORDS

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
DEVELOPER_WORDS = re.compile(r"\b(?:[A-Z]{2,}_[A-Z_]{2,}|flat_rate|Traceback)\b|\{\"")


def _pages(page) -> list[str]:
    sidebar = page.get_by_test_id("stSidebar")
    if sidebar.get_attribute("data-collapsed") == "true":
        page.get_by_test_id("stExpandSidebarButton").click()
        page.wait_for_timeout(400)
    page.get_by_test_id("stSidebarNav").locator("a").first.wait_for()
    titles = [t.strip() for t in page.get_by_test_id("stSidebarNav").locator("a").all_inner_texts()]
    return [t.splitlines()[-1].strip() for t in titles if t]  # the link's text after its icon's name


@pytest.mark.parametrize("role", ["engineer", "admin"])
@pytest.mark.parametrize("size", list(SIZES))
def test_every_page_of_a_role(demo_server, page, role, size):
    out = OUTPUT / "issue18b" / f"{role}-{size}"
    out.mkdir(parents=True, exist_ok=True)
    page.set_default_timeout(60000)  # a busy machine: screenshots of long pages take a while
    page.set_viewport_size(SIZES[size])
    sign_in(page, demo_server.url, role, DEMO_PASSWORDS[role])
    titles = _pages(page)
    assert titles, "no pages in the navigation"
    if size == "phone":
        page.get_by_test_id("stSidebarCollapseButton").locator("button").click()
        page.wait_for_timeout(400)
    problems = []
    for n, title in enumerate(titles, 1):
        nav(page, title)
        wait_for_app(page)
        page.wait_for_timeout(500)
        page.screenshot(path=str(out / f"{n:02d}-{re.sub(r'[^a-z0-9]+', '-', title.lower()).strip('-')}.png"))
        main = page.get_by_test_id("stMain").inner_text()
        if page.get_by_test_id("stException").count():
            problems.append(f"{title}: an exception box")
        if title not in ("System status", "Notifications") and DEVELOPER_WORDS.search(main):
            problems.append(f"{title}: developer words: {DEVELOPER_WORDS.search(main).group(0)}")
    assert not problems, problems
