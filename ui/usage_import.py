"""Import usage (issue 13, Operations): a CSV or xlsx of daily usage or meter values, stored all or
nothing through the one usage importer (services/readings/usage_import.py); every problem is listed
with its row and column; a repeated file stores nothing and says so; anomaly detection runs for the
months the file touched."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import streamlit as st

from services.accounts.roles import Permission
from services.errors import MasterDataError, MeterlineError
from ui import widgets as w
from ui.common import page_guard, services, show_error, utility

TEMPLATE = "customer,date,usage_ccf\nHS0000001,2026-11-20,0.45\n"

actor = page_guard(Permission.IMPORT_USAGE)
db = services().db
st.title(":material/upload_file: Import usage")
st.caption("A file of daily usage (CCF a day per customer) or meter values (the register of a customer's meter). "
           "All rows are stored or none; rows already stored with the same values are skipped, so importing a "
           "file again stores nothing new. A different value for a day already stored is refused, naming the row.")
with st.expander("File layout", icon=":material/description:"):
    st.markdown(
        "CSV (UTF-8) or .xlsx, one header row, columns in any order:\n\n"
        "- `customer` (the customer code) or `meter` (the meter number), or both;\n"
        "- `date`: the day, YYYY-MM-DD;\n"
        "- `usage_ccf`: CCF used that day, or `meter_value`: the meter's register that day (its consumption "
        "since the meter's previous reading is spread evenly over the days it measured).")
    st.download_button("Download a template", data=TEMPLATE, file_name="usage-template.csv", mime="text/csv",
                       icon=":material/download:", on_click="ignore")

with st.form("usage_upload", clear_on_submit=True):
    upload = st.file_uploader("Usage file (CSV or xlsx)", type=["csv", "xlsx"], key="usage_file")
    go = st.form_submit_button("Import usage", icon=":material/upload:", type="primary")
if go:
    if upload is None:
        st.error("**Usage file**: choose a CSV or xlsx file first.")
    else:
        suffix = Path(upload.name).suffix.lower() or ".csv"
        fd, tmp = tempfile.mkstemp(suffix=suffix)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(upload.getvalue())
            with st.spinner("Checking and storing usage ..."):
                result = db.import_usage_file(tmp, label=upload.name, actor=actor)
        except MasterDataError as exc:
            st.error(f"Nothing was imported: {exc.total} problem(s) in {w.esc(upload.name)}. Fix them and import "
                     "the file again.", icon=":material/error:")
            st.dataframe([{"row": p.row or "header", "column": p.column or "", "problem": p.message}
                          for p in exc.problems], hide_index=True, width="stretch")
        except MeterlineError as exc:
            show_error(exc)
        else:
            if result.stored or result.readings:
                st.success(w.esc(result.message), icon=":material/check_circle:")
            else:
                st.info(w.esc(result.message), icon=":material/content_copy:")
            cols = st.columns(4)
            cols[0].metric("Days stored", f"{w.count(result.stored)}")
            cols[1].metric("Already stored (unchanged)", f"{w.count(result.unchanged)}")
            cols[2].metric("Meter readings", f"{w.count(result.readings)}")
            cols[3].metric("New anomalies", f"{w.count(sum(result.anomalies.values()))}")
        finally:
            os.unlink(tmp)

st.subheader("Recent usage imports")
entries = db.storage.list_audit(action_prefix="usage.store", offset=0, limit=10).items
if not entries:
    st.info("No usage stored yet.")
else:
    zone = utility().zone
    st.dataframe([{"when": e.occurred_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if e.occurred_at else "",
                   "by": e.actor_name, "what": (e.details or {}).get("label") or "",
                   "days": (e.details or {}).get("rows"), "customers": (e.details or {}).get("accounts"),
                   "from": str((e.details or {}).get("from") or "")[:10], "to": str((e.details or {}).get("to") or "")[:10]}
                  for e in entries], hide_index=True, width="stretch")
