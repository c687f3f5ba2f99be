"""Meterline: Streamlit entry point.

Until the UI issue lands this is the status page: which backend is in use, whether it answers,
and the row counts of the main tables.
"""
from __future__ import annotations

import streamlit as st

from services.container import build_services


@st.cache_resource(show_spinner="Opening the database ...")
def services():
    return build_services()


st.set_page_config(page_title="Meterline", page_icon="⚡", layout="wide")
st.title("⚡ Meterline")
svc = services()
st.caption(f"Backend: **{svc.settings.backend}**" + (" (embedded SQLite, data/meterline.db)"
                                                       if svc.settings.is_embedded_default else ""))
try:
    svc.db.storage.ping()
    counts = svc.db.storage.table_counts(["flats", "meters", "readings", "bills", "payments", "users"])
except Exception as exc:  # show the failure instead of a traceback
    st.error(f"The database does not answer: {exc}")
    st.stop()
st.success("Database OK")
cols = st.columns(len(counts))
for col, (name, n) in zip(cols, counts.items()):
    col.metric(name.capitalize(), f"{n:,}")
st.write("Locked months:", ", ".join(svc.db.locked_months()) or "none")
