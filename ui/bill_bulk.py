"""The bills list's bulk actions on the current filter: print every bill that stands (not
superseded or cancelled) to one merged PDF or a zip of one PDF per bill, streamed to a temporary
file with a progress bar, then offered for download; or email each bill's PDF to its owner
(once per bill: a bill already emailed is counted, not sent again). The CLI
`python -m scripts.print_bills` prints without a browser and without a size limit."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import streamlit as st

from services.accounts.roles import Actor
from services.documents.bulk import print_bills
from services.errors import MeterlineError
from services.models import BillFilter
from ui import widgets as w
from ui.common import services, show_error

PRINTED = "bl_printed"
UI_PRINT_LIMIT = 10_000  # the download is held by the browser session; larger prints: the CLI
UI_EMAIL_LIMIT = 2_000  # one press; pressing again continues (the ones sent are not sent twice)


def _print(db, flt: BillFilter, fmt: str, actor: Actor, stamp: str) -> None:
    old = st.session_state.pop(PRINTED, None)
    if old:
        shutil.rmtree(Path(old["path"]).parent, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix="meterline-print-"))
    bar = st.progress(0.0, text="Printing ...")

    def progress(done: int, total: int) -> None:
        bar.progress(min(done / total, 1.0) if total else 1.0, text=f"Printed {w.count(done)} of {w.count(total)} bills")

    try:
        result = print_bills(db, flt, folder / f"bills-{flt.period_month or stamp}.{fmt}", fmt=fmt, actor=actor,
                             progress=progress)
    except MeterlineError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        show_error(exc)
        return
    st.session_state[PRINTED] = {"path": str(result.path), "bills": result.bills, "seconds": result.seconds,
                                 "fmt": fmt, "bytes": result.bytes, "paperless": result.paperless}


def _email(flt: BillFilter, total: int, actor: Actor) -> None:
    svc = services()
    bar = st.progress(0.0, text="Emailing ...")
    n = min(total, UI_EMAIL_LIMIT)

    def bills():
        for i, bill in enumerate(svc.db.iter_bills(flt, actor=actor)):
            if i >= n:
                return
            yield bill

    try:
        counts = svc.sender().send_many(bills(), actor=actor,
                                        progress=lambda i: bar.progress(min(i / n, 1.0), text=f"{w.count(i)} of {w.count(n)} bills"))
    except MeterlineError as exc:
        show_error(exc)
        return
    words = {"sent": "emailed", "already_sent": "already emailed before", "skipped": "skipped (no address)",
             "failed": "failed (see Notifications)", "not_sent": "not sent (cancelled or superseded)"}
    st.success("; ".join(f"{w.count(v)} {words.get(k, k)}" for k, v in counts.items()) or "Nothing to email.",
               icon=":material/mail:")
    if total > n:
        st.info(f"Emailed the first {w.count(n)} of {w.count(total)}; press again for the rest (the ones sent are not sent twice).")


def render(db, flt: BillFilter, total: int, actor: Actor, stamp: str) -> None:
    with st.expander("Print or email these bills", icon=":material/print:"):
        st.caption(f"The bills of the filter above ({w.plural(total, 'bill')}); printing leaves out superseded and "
                   "cancelled bills. The command line prints any number: python -m scripts.print_bills.")
        c1, c2 = st.columns([2, 1], vertical_alignment="bottom")
        fmt = c1.radio("Print as", ["pdf", "zip"], horizontal=True, key="bl_print_fmt",
                       format_func=lambda f: "one PDF" if f == "pdf" else "a zip, one PDF per bill")
        if c2.button("Print", icon=":material/print:", key="bl_print", width="stretch", disabled=not total):
            if total > UI_PRINT_LIMIT:
                st.warning(f"{w.count(total)} bills is more than {w.count(UI_PRINT_LIMIT)} to print here: narrow the filter, or use "
                           "python -m scripts.print_bills.")
            else:
                _print(db, flt, fmt, actor, stamp)
        printed = st.session_state.get(PRINTED)
        if printed and Path(printed["path"]).exists():
            path = Path(printed["path"])
            st.download_button(f"Download {path.name} ({w.plural(printed['bills'], 'bill')}, "
                               f"{printed['bytes'] / 1e6:.1f} MB)", data=lambda: path.read_bytes(), file_name=path.name,
                               mime="application/pdf" if printed["fmt"] == "pdf" else "application/zip",
                               icon=":material/download:", on_click="ignore", key="bl_print_download")
            if printed.get("paperless"):
                st.caption(f"{w.plural(printed['paperless'], 'bill')} left out: the customer chose paperless billing.")
        reason = services().sender().missing()
        if reason:
            st.caption(f"Email: {w.esc(reason)}")
        elif st.button("Email each bill to its owner", icon=":material/send:", key="bl_email", disabled=not total):
            _email(flt, total, actor)
