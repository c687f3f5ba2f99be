"""System status: backend in use, whether it answers, row counts, locked months."""
import streamlit as st

from services.accounts.roles import Permission
from ui.common import page_guard, services

page_guard(Permission.VIEW_REPORTS)
svc = services()
st.title(":material/monitor_heart: System status")
st.caption(f"Backend: **{svc.settings.backend}**" + (" (embedded SQLite, data/meterline.db)"
                                                       if svc.settings.is_embedded_default else ""))
try:
    svc.db.storage.ping()
    counts = svc.db.storage.table_counts(["accounts", "meters", "readings", "bills", "payments", "users"])
except Exception as exc:  # show the failure instead of a traceback
    st.error(f"The database does not answer: {exc}")
    st.stop()
st.success("Database OK")
for col, (name, n) in zip(st.columns(len(counts)), counts.items()):
    col.metric(name.capitalize(), f"{n:,}")
st.write("Locked months:", ", ".join(svc.db.locked_months()) or "none")
