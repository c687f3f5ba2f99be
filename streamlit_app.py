"""Meterline: entry point. Builds the role-based navigation and the shared frame (the utility's
name and service icon), nothing else."""
from __future__ import annotations

import streamlit as st

import ui.warmup  # noqa: F401 - first: the heavy libraries, imported whole before any page runs

from services.errors import MeterlineError
from ui.auth import render_account_box, require_actor
from ui.phone import close_sidebar_after_navigation
from ui.common import billing_source, name_logo, service_icon, show_error, utility
from ui.registry import PAGES, SERVICE_ICON

u = utility()
icon = service_icon()
st.set_page_config(page_title=f"{u.name} · Meterline", page_icon=icon, layout="wide")
st.logo(name_logo(u.name), size="large")  # the name stays in view on a phone, sidebar closed
actor = require_actor()
metered, source = u.quantity_unit is not None, billing_source()
allowed: dict[str, list] = {}
for spec in PAGES:
    if spec.opens_for(actor) and spec.available(metered, source):
        allowed.setdefault(spec.section, []).append(
            st.Page(spec.path, title=spec.title, icon=icon if spec.icon == SERVICE_ICON else spec.icon,
                    url_path=spec.url_path))
if not allowed:
    st.error(f"Your account has no pages at {u.name}" + ("" if metered else " (a fixed fee: there are no meter "
             "readings to submit)") + ". Ask an administrator to check your role.")
    st.stop()
nav = st.navigation(allowed, expanded=True)  # every page of the role in view, no "View more"
render_account_box(actor)
close_sidebar_after_navigation()  # on a phone-sized screen the sidebar closes once a page is chosen
try:
    nav.run()
except MeterlineError as exc:  # bad input a page did not catch (e.g. a search with \x00): say so, no traceback
    show_error(exc)
