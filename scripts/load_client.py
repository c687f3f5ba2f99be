"""A Streamlit client that speaks the browser's own protocol, for the load test.

It does what the web frontend does, over `/_stcore/stream` with the BackMsg/ForwardMsg protobufs
of the installed streamlit package: fetch `/`, then `/_stcore/health` (which sets the XSRF cookie), open the websocket (subprotocol
"streamlit", the XSRF token second, as the frontend sends them), send `rerun_script` with the
query string, page and widget states, and read ForwardMsgs until the run's `script_finished`.
Widget ids are read from the elements the server delivered (a text input labelled "Username"
has the id the server generated), so the client clicks what a person would see. File uploads
go the frontend's way too: `file_urls_request`, then a multipart PUT to the URL the server gave.

One run counts as done when `script_finished` arrives with a final status: every delta of the
run has been delivered by then (the server sends them in order on one socket). A run that ends
early for a rerun (`st.rerun()`, a callback) is followed by the rerun, as in the browser.
"""
from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from dataclasses import dataclass, field

import httpx
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

XSRF_COOKIE = "_streamlit_xsrf"
FINAL = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR,
         ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY}


class ProtocolError(Exception):
    """The app or the server did something a browser would show as an error."""


@dataclass
class Widget:
    kind: str  # text_input, button, selectbox, ...
    id: str
    label: str
    form_id: str = ""
    proto: object = None


@dataclass
class RunResult:
    seconds: float
    elements: list  # Element protos delivered by the run, in order
    widgets: list[Widget]
    errors: list[str]  # exceptions shown, st.error alerts
    texts: list[str] = field(default_factory=list)  # markdown/headings/alerts, for checks

    def widget(self, kind: str, label_start: str) -> Widget:
        for w in self.widgets:
            if w.kind == kind and w.label.startswith(label_start):
                return w
        raise ProtocolError(f"no {kind} labelled {label_start!r} on the page "
                            f"(have: {[(w.kind, w.label) for w in self.widgets][:20]})")

    def widget_by_id(self, widget_id: str) -> Widget:
        return next(w for w in self.widgets if w.id == widget_id)

    def has_text(self, part: str) -> bool:
        return any(part in t for t in self.texts)


def _text_of(el) -> str | None:
    kind = el.WhichOneof("type")
    if kind in ("markdown", "heading", "alert", "text", "caption"):
        return getattr(el, kind).body
    if kind == "metric":
        return f"{el.metric.label} {el.metric.body}"
    return None


class StreamlitSession:
    """One browser tab: a websocket to the app and the widget values it holds."""

    def __init__(self, base_url: str, forwarded_for: str | None = None, timeout: float = 60.0):
        self.base = base_url.rstrip("/")
        self.forwarded_for = forwarded_for
        self.timeout = timeout
        self.pages: dict[str, str] = {}  # url_pathname -> page_script_hash
        self.page_hash = ""
        self.query = ""  # the query string of the address the browser would show now
        self.session_id = ""
        self.states: dict[str, WidgetState] = {}  # values the page holds (sent with every rerun)
        self._ws = None
        self._xsrf = ""
        self._http: httpx.AsyncClient | None = None
        self._reader: asyncio.Task | None = None
        self._run_done: asyncio.Future | None = None
        self._run: list = []
        self._file_urls: dict[str, asyncio.Future] = {}
        self._ids = itertools.count(1)
        self.bytes_received = 0

    # -- connection -------------------------------------------------------------------------
    async def connect(self) -> None:
        headers = {"X-Forwarded-For": self.forwarded_for} if self.forwarded_for else {}
        self._http = httpx.AsyncClient(base_url=self.base, headers=headers, timeout=self.timeout)
        r = await self._http.get("/")
        r.raise_for_status()
        r = await self._http.get("/_stcore/health")  # as the frontend does first: it sets the XSRF cookie
        r.raise_for_status()
        self._xsrf = self._http.cookies.get(XSRF_COOKIE) or ""
        ws_url = "ws" + self.base[4:] + "/_stcore/stream"
        cookie = "; ".join(f"{k}={v}" for k, v in self._http.cookies.items())
        protocols = ["streamlit", self._xsrf] if self._xsrf else ["streamlit"]
        self._ws = await websockets.connect(
            # no websocket pings: a browser sends none, so a busy server must not fail us where it would not fail it
            ws_url, subprotocols=protocols, max_size=None, open_timeout=self.timeout, ping_interval=None,
            additional_headers={**headers, "Origin": self.base, **({"Cookie": cookie} if cookie else {})})
        self._reader = asyncio.create_task(self._read())

    async def close(self) -> None:
        if self._ws is not None:
            await self._ws.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, ProtocolError, OSError, websockets.WebSocketException):
                await self._reader
        if self._http is not None:
            await self._http.aclose()

    async def _read(self) -> None:
        try:
            async for data in self._ws:
                self.bytes_received += len(data)
                msg = ForwardMsg()
                msg.ParseFromString(data)
                self._handle(msg)
        except Exception as exc:  # noqa: BLE001 - the socket died, whatever the cause: fail the run in flight
            if self._run_done is not None and not self._run_done.done():
                self._run_done.set_exception(ProtocolError(f"connection lost: {exc!r}"))
            return
        if self._run_done is not None and not self._run_done.done():
            self._run_done.set_exception(ProtocolError("connection closed by the server"))

    def _handle(self, msg: ForwardMsg) -> None:
        kind = msg.WhichOneof("type")
        if kind == "new_session":
            ns = msg.new_session
            self.session_id = ns.initialize.session_id or self.session_id
            self.page_hash = ns.page_script_hash
            self._pages(ns.app_pages)
        elif kind == "navigation":
            self._pages(msg.navigation.app_pages)
            self.page_hash = msg.navigation.page_script_hash or self.page_hash
        elif kind == "delta":
            d = msg.delta
            if d.WhichOneof("type") == "new_element":
                self._run.append(d.new_element)
        elif kind == "page_info_changed":  # the page wrote st.query_params: the browser's address now has them
            self.query = msg.page_info_changed.query_string
        elif kind == "page_not_found":
            self._run.append(("error", f"page not found: {msg.page_not_found.page_name}"))
        elif kind == "session_event" and msg.session_event.WhichOneof("type") == "script_compilation_exception":
            self._run.append(("error", "script compilation error: " + msg.session_event.script_compilation_exception.message))
        elif kind == "file_urls_response":
            fut = self._file_urls.pop(msg.file_urls_response.response_id, None)
            if fut is not None and not fut.done():
                fut.set_result(msg.file_urls_response)
        elif (kind == "script_finished" and msg.script_finished in FINAL and self._run_done is not None
              and not self._run_done.done()):
            self._run_done.set_result(msg.script_finished)

    def _pages(self, app_pages) -> None:
        for p in app_pages:  # by url path ("" is the role's default page) and by title
            self.pages[p.url_pathname] = p.page_script_hash
            if p.page_name:
                self.pages[p.page_name] = p.page_script_hash

    # -- runs -------------------------------------------------------------------------------
    async def rerun(self, changes: list[WidgetState] = (), *, page: str | None = None, query: str = "",
                    triggers: list[WidgetState] = ()) -> RunResult:
        """Send a rerun as the frontend does after a widget change or a navigation, and wait for the
        run to finish. `changes` update the widget values the page holds; `triggers` (button clicks)
        are sent once. `page` is a page's title or url path in the navigation ("" for the role's default page)."""
        for ws in changes:
            self.states[ws.id] = ws
        if page is not None or query:
            self.query = query  # a navigation opens the address it names
        query = self.query  # a rerun on the same page keeps the address the page wrote, as the browser does
        back = BackMsg()
        cs = back.rerun_script
        cs.query_string = query
        if page is not None:
            cs.page_script_hash = self.pages.get(page, "")
            cs.page_name = page
            if page not in self.pages:
                raise ProtocolError(f"no page {page!r} in the navigation (have {sorted(self.pages)})")
            if self.pages[page] != self.page_hash:
                self.states.clear()  # a new page: its widgets start fresh, as in the browser
        else:
            cs.page_script_hash = self.page_hash
        cs.widget_states.widgets.extend([*self.states.values(), *triggers])
        cs.context_info.timezone = "Asia/Karachi"
        cs.context_info.locale = "en-US"
        cs.context_info.url = f"{self.base}/{page or ''}" + (f"?{query}" if query else "")
        self._run = []
        self._run_done = asyncio.get_running_loop().create_future()
        t0 = time.perf_counter()
        await self._ws.send(back.SerializeToString())
        status = await asyncio.wait_for(self._run_done, self.timeout)
        seconds = time.perf_counter() - t0
        result = self._result(seconds)
        shown = {w.id for w in result.widgets}
        # Gone from the page: forgotten. Set by the page (a restored filter, a cleared field): the
        # browser takes the page's value, so the value this client held is dropped and the server's kept.
        self.states = {k: v for k, v in self.states.items()
                       if k in shown and not getattr(result.widget_by_id(k).proto, "set_value", False)}
        if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
            result.errors.append("script compile error")
        return result

    def _result(self, seconds: float) -> RunResult:
        elements, widgets, errors, texts = [], [], [], []
        for el in self._run:
            if isinstance(el, tuple):
                errors.append(el[1])
                continue
            elements.append(el)
            kind = el.WhichOneof("type")
            inner = getattr(el, kind) if kind else None
            if kind == "exception":
                errors.append(f"exception: {el.exception.type}: {el.exception.message}")
            elif kind == "alert" and el.alert.format == el.alert.ERROR:
                errors.append(f"error shown: {el.alert.body[:200]}")
            if inner is not None and hasattr(inner, "id") and isinstance(inner.id, str) and inner.id:
                widgets.append(Widget(kind, inner.id, getattr(inner, "label", ""), getattr(inner, "form_id", ""),
                                      inner))
            text = _text_of(el)
            if text:
                texts.append(text)
        return RunResult(seconds, elements, widgets, errors, texts)

    # -- widget values ----------------------------------------------------------------------
    @staticmethod
    def text(widget: Widget, value: str) -> WidgetState:
        return WidgetState(id=widget.id, string_value=value)

    @staticmethod
    def click(widget: Widget) -> WidgetState:
        return WidgetState(id=widget.id, trigger_value=True)

    async def upload(self, widget: Widget, name: str, data: bytes, content_type: str = "image/jpeg") -> WidgetState:
        """Upload a file the frontend's way and return the uploader's new value."""
        request_id = str(next(self._ids))
        fut = asyncio.get_running_loop().create_future()
        self._file_urls[request_id] = fut
        back = BackMsg()
        back.file_urls_request.request_id = request_id
        back.file_urls_request.file_names.append(name)
        back.file_urls_request.session_id = self.session_id
        await self._ws.send(back.SerializeToString())
        resp = await asyncio.wait_for(fut, self.timeout)
        if resp.error_msg or not resp.file_urls:
            raise ProtocolError(f"upload refused: {resp.error_msg or 'no URL'}")
        urls = resp.file_urls[0]
        upload_url = urls.upload_url if urls.upload_url.startswith("http") else self.base + "/" + urls.upload_url.lstrip("/")
        r = await self._http.put(upload_url, files={"file": (name, data, content_type)},
                                 headers={"X-Xsrftoken": self._xsrf} if self._xsrf else {})
        if r.status_code >= 300:
            raise ProtocolError(f"upload PUT answered {r.status_code}: {r.text[:200]}")
        state = WidgetState(id=widget.id)
        info = state.file_uploader_state_value.uploaded_file_info.add()
        info.name, info.size, info.file_id = name, len(data), urls.file_id
        info.file_urls.CopyFrom(urls)
        return state


def new_forwarded_address(n: int) -> str:
    """A distinct client address per session (10.x.y.z), passed as X-Forwarded-For to a server that
    trusts the loopback proxy: fifty staff sign in from fifty phones, not one."""
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255 or 1}"


def session_tag() -> str:
    return uuid.uuid4().hex[:8]
