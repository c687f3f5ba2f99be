"""Meterline: entry point. Builds the role-based navigation and the shared frame, nothing else."""
from __future__ import annotations

import streamlit as st

from services.errors import MeterlineError
from ui.auth import render_account_box, require_actor
from ui.common import show_error
from ui.registry import PAGES

st.set_page_config(page_title="Meterline", page_icon=":material/bolt:", layout="wide")
actor = require_actor()
allowed: dict[str, list] = {}
for spec in PAGES:
    if actor.can(spec.permission):
        allowed.setdefault(spec.section, []).append(
            st.Page(spec.path, title=spec.title, icon=spec.icon, url_path=spec.url_path))
if not allowed:
    st.error("Your account has no pages. Ask an administrator to check your role.")
    st.stop()
nav = st.navigation(allowed, expanded=True)  # every page of the role in view, no "View more"
render_account_box(actor)
try:
    nav.run()
except MeterlineError as exc:  # bad input a page did not catch (e.g. a search with \x00): say so, no traceback
    show_error(exc)
