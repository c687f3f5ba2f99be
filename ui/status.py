"""System status: the utility, backend in use, whether it answers, row counts, locked months."""
import streamlit as st

from services.accounts.roles import Permission
from ui import widgets as w
from ui.common import page_guard, services, utility

actor = page_guard(Permission.VIEW_REPORTS)
if not actor.scope.is_everything:  # the whole utility's health: the head office's (ui/registry.py whole_utility)
    st.error("You do not have access to this page.")
    st.stop()
svc = services()
st.title(":material/monitor_heart: System status")
st.caption(f"Backend: **{svc.settings.backend}**" + (" (embedded SQLite, data/meterline.db)"
                                                       if svc.settings.is_embedded_default else ""))
try:
    svc.db.storage.ping()
    u = utility()
    tables = ["accounts", "meters", "readings", "bills", "payments", "users"] if u.quantity_unit else \
        ["accounts", "bills", "payments", "users"]  # a fixed-fee utility has no meters or readings
    counts = svc.db.storage.table_counts(tables)
except Exception as exc:  # show the failure instead of a traceback
    st.error(f"The database does not answer: {exc}")
    st.stop()
st.success(f"Database OK: {u.name} ({u.template} template)")
names = {"accounts": u.label(plural=True, capital=True)}
for col, (name, n) in zip(st.columns(len(counts)), counts.items()):
    col.metric(names.get(name, name.capitalize()), f"{w.count(n)}")
st.write("Locked months:", ", ".join(svc.db.locked_months()) or "none")
