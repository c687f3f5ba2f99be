"""What each simulated person does in the load test (scripts/load_test.py).

Three kinds of staff, as the issue mixes them: field engineers search a meter, attach a photo and
submit a reading (40%); reviewers open the review inbox, filter it and approve a reading (30%);
admins open the bills list, filter and search it, open an account page and the dashboard (30%).
Every action is one rerun of the real app over the websocket (scripts/load_client.py); it counts
as an error when the run raises, shows an exception or an error alert, or lacks what the page
must show (a saved reading says "Saved reading"). A reading two reviewers approve at once is
refused for the second: that is the app being right, counted as a `conflict`, not an error.
"""
from __future__ import annotations

import asyncio
import io
import random
import time
from dataclasses import dataclass, field

from scripts.load_client import ProtocolError, RunResult, StreamlitSession

ROLE_MIX = (("engineer", 0.4), ("reviewer", 0.3), ("admin", 0.3))
LABELLED = {"text_input", "selectbox", "multiselect", "date_input", "number_input", "text_area", "checkbox", "radio"}
PAGE_OF_KIND = {"admin_bills_list": "bills", "admin_dashboard": ""}  # pages the browsers check too
CONFLICT_WORDS = ("only pending readings can be reviewed",)  # a reading another reviewer decided first
ROLE_OF_KIND = {"engineer": "field_engineer", "reviewer": "operations", "admin": "admin"}


@dataclass
class Recorder:
    """Latencies and errors per action kind, shared by every session of a run."""
    samples: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)
    conflicts: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    seen_labels: dict[str, set] = field(default_factory=dict)  # page -> widget labels the protocol saw
    client_lag_ms: float = 0.0  # the longest the load test's own event loop was late

    def ok(self, kind: str, seconds: float) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.samples.setdefault(kind, []).append(seconds)
        self.errors.setdefault(kind, [])

    def error(self, kind: str, what: str, seconds: float | None = None) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.errors.setdefault(kind, []).append(what)
        self.samples.setdefault(kind, [])
        if seconds is not None:
            self.samples[kind].append(seconds)

    def conflict(self, kind: str, seconds: float) -> None:
        self.conflicts[kind] = self.conflicts.get(kind, 0) + 1
        self.ok(kind, seconds)

    def saw(self, page: str, result: RunResult) -> None:
        skip = ("Current password", "New password")  # the account box: in a popover the browser renders on demand
        self.seen_labels.setdefault(page, set()).update(
            w.label for w in result.widgets if w.kind in LABELLED and w.label and not w.label.startswith(skip))


def photo_bytes() -> bytes:
    """A small real JPEG (the server decodes every photo with Pillow)."""
    from PIL import Image

    img = Image.new("RGB", (640, 480), (40, 90, 160))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=70)
    return buf.getvalue()


@dataclass
class Plan:
    """What one session may touch: its meters (engineers never share one), account codes, months."""
    kind: str
    username: str
    password: str
    address: str
    meters: list[tuple[str, float]] = field(default_factory=list)  # (meter number, next value to read)
    codes: list[str] = field(default_factory=list)
    months: list[str] = field(default_factory=list)


def escaped(text: str) -> str:
    """How ui.widgets.esc shows user data inside Markdown (A1-GF is A1\\-GF)."""
    from ui.widgets import esc

    return esc(text)


class Person:
    def __init__(self, base_url: str, plan: Plan, rec: Recorder, think: tuple[float, float], photo: bytes,
                 rng: random.Random):
        self.s = StreamlitSession(base_url, plan.address)
        self.plan, self.rec, self.think, self.photo, self.rng = plan, rec, think, photo, rng
        self.page: RunResult | None = None

    async def act(self, kind: str, changes=(), *, page=None, query="", triggers=(), expect: str | None = None,
                  conflict_words: tuple[str, ...] = ()) -> RunResult | None:
        t0 = time.perf_counter()
        try:
            r = await self.s.rerun(list(changes), page=page, query=query, triggers=list(triggers))
        except (TimeoutError, ProtocolError, OSError) as exc:
            self.rec.error(kind, f"{type(exc).__name__}: {exc}"[:300], time.perf_counter() - t0)
            self.page = None
            return None
        self.page = r
        if kind in PAGE_OF_KIND and not r.errors:
            self.rec.saw(PAGE_OF_KIND[kind], r)
        shown = [e.replace("\\", "") for e in r.errors]  # Markdown escapes: "Reading \\#12" is "Reading #12"
        if shown and conflict_words and all(any(w in e for w in conflict_words) for e in shown):
            self.rec.conflict(kind, r.seconds)
        elif r.errors:
            self.rec.error(kind, "; ".join(r.errors)[:300], r.seconds)
        elif expect and not r.has_text(expect) and not r.has_text(escaped(expect)):
            near = [t.replace("\\", "")[:80] for t in r.texts if "#" in t or "eading" in t][:3]  # what it showed instead
            self.rec.error(kind, f"the page did not show {expect!r} (it showed {near})", r.seconds)
        else:
            self.rec.ok(kind, r.seconds)
        return r

    async def pause(self) -> None:
        await asyncio.sleep(self.rng.uniform(*self.think))

    async def sign_in(self) -> bool:
        await self.s.connect()
        r = await self.act("open_app")
        if r is None:
            return False
        try:
            u, p, b = r.widget("text_input", "Username"), r.widget("text_input", "Password"), r.widget("button", "Sign in")
        except ProtocolError as exc:
            self.rec.error("first_page_load", str(exc))
            return False
        await self.pause()
        r = await self.act("first_page_load", [StreamlitSession.text(u, self.plan.username),
                                               StreamlitSession.text(p, self.plan.password)],
                           triggers=[StreamlitSession.click(b)], expect="Signed in as")
        return r is not None and r.has_text("Signed in as")

    async def run_until(self, deadline: float) -> None:
        step = {"engineer": self.engineer, "reviewer": self.reviewer, "admin": self.admin}[self.plan.kind]
        while time.monotonic() < deadline:
            await self.pause()
            if time.monotonic() >= deadline:
                break
            await step()

    # -- the three kinds of staff ---------------------------------------------------------------
    async def engineer(self) -> None:
        if not self.plan.meters:
            return
        number, value = self.plan.meters.pop()
        r = await self.act("engineer_open_submit", page="Submit a reading")
        if r is None:
            return
        await self.pause()
        try:
            search = r.widget("text_input", "Find the")
        except ProtocolError as exc:
            self.rec.error("engineer_search", str(exc))
            return
        r = await self.act("engineer_search", [StreamlitSession.text(search, number)])
        if r is None:
            return
        # Nothing is picked until the engineer picks (issue 18): choose the meter searched for.
        try:
            choice = next(w for w in r.widgets if w.kind == "selectbox" and w.label.endswith("and meter"))
            option = next(o for o in choice.proto.options if number in o)
        except StopIteration:
            self.rec.error("engineer_pick", f"no meter choice for {number} on the page")
            return
        r = await self.act("engineer_pick", [StreamlitSession.text(search, number), StreamlitSession.text(choice, option)])
        if r is None:
            return
        await self.pause()
        try:
            val, upl, sub = (r.widget("text_input", "Reading value"), r.widget("file_uploader", "Meter photo"),
                             r.widget("button", "Submit reading"))
        except ProtocolError as exc:
            self.rec.error("engineer_submit", str(exc))
            return
        t0 = time.perf_counter()
        try:
            photo_state = await self.s.upload(upl, f"meter-{number}.jpg", self.photo)
        except (TimeoutError, ProtocolError, OSError) as exc:
            self.rec.error("photo_upload", str(exc)[:300], time.perf_counter() - t0)
            return
        self.rec.ok("photo_upload", time.perf_counter() - t0)
        await self.pause()
        await self.act("engineer_submit", [StreamlitSession.text(val, f"{value:.1f}"), photo_state],
                       triggers=[StreamlitSession.click(sub)], expect="eading #")  # "Saved reading #12" or "Reading #12 is stored"

    async def reviewer(self) -> None:
        # A conflict's message stays on its row until the filter or page changes, so reopening the
        # inbox, or setting the filter to the value it has, may show the last one again: the same
        # conflict, not a new error.
        r = await self.act("review_open", page="Review readings", conflict_words=CONFLICT_WORDS)
        if r is None:
            return
        choice = self.rng.random()
        if choice < 0.3:
            await self.pause()
            try:
                flagged = r.widget("checkbox", "Flagged only")
            except ProtocolError as exc:
                self.rec.error("review_filter", str(exc))
                return
            from streamlit.proto.WidgetStates_pb2 import WidgetState

            r = await self.act("review_filter", [WidgetState(id=flagged.id, bool_value=self.rng.random() < 0.5)],
                               conflict_words=CONFLICT_WORDS)
            if r is None:
                return
        approve = [w for w in r.widgets if w.kind == "button" and w.label == "Approve"]
        if not approve:
            return  # an empty inbox is an answer, not an error
        await self.pause()
        await self.act("review_approve", triggers=[StreamlitSession.click(self.rng.choice(approve))],
                       expect="Approved reading", conflict_words=CONFLICT_WORDS)

    async def admin(self) -> None:
        what = self.rng.random()
        if what < 0.25:
            await self.act("admin_dashboard", page="Dashboard")
        elif what < 0.5:
            r = await self.act("admin_bills_list", page="Bills and payments")
            if r is None:
                return
            await self.pause()
            try:
                period = r.widget("selectbox", "Period")
            except ProtocolError as exc:
                self.rec.error("admin_bills_filter", str(exc))
                return
            await self.act("admin_bills_filter", [StreamlitSession.text(period, self.rng.choice(self.plan.months))])
        elif what < 0.75:
            r = await self.act("admin_bills_list", page="Bills and payments")
            if r is None:
                return
            await self.pause()
            search = next((w for w in r.widgets if w.kind == "text_input" and "bill number" in w.label), None)
            if search is None:
                self.rec.error("admin_bills_search", "no search box on the bills page")
                return
            code = self.rng.choice(self.plan.codes)
            await self.act("admin_bills_search", [StreamlitSession.text(search, code[: max(3, len(code) - 2)])])
        else:
            code = self.rng.choice(self.plan.codes)
            await self.act("admin_account_page", page="Accounts", query=f"account={code}", expect=code)

    async def close(self) -> None:
        await self.s.close()
