"""Bank payment files (issue 14): import a CSV of payments banks collected against PSIDs (1Link-style
layout, services/payments/bank_files.py); see what matched, what was a duplicate and what was refused
and why; and the files imported before, row by row."""
from __future__ import annotations

import streamlit as st

from services.accounts.roles import Permission
from services.errors import MasterDataError, MeterlineError
from services.payments.bank_files import COLUMNS, REFUSED, import_file
from ui import widgets as w
from ui.common import page_guard, services, show_error, utility

actor = page_guard(Permission.IMPORT_BANK_FILE)
db = services().db
st.title(":material/account_balance: Bank payment files")
st.caption("A CSV of the payments banks collected against bills' PSIDs. Each row is matched to its bill and "
           "recorded as a payment when its amount is the bill's open balance; a payment already recorded, and "
           "the same file imported again, change nothing; unknown PSIDs, PSIDs of replaced bills, paid bills and "
           "other amounts are listed and not applied.")
with st.expander("File layout", icon=":material/description:"):
    st.markdown(
        "UTF-8 CSV with a header row; columns in any order: " + ", ".join(f"`{c}`" for c in COLUMNS) + ".\n\n"
        "Required: `psid` (17 digits; spaces or dashes allowed), `transaction_id`, `amount` (the bill amount, "
        "2 decimals at most), `date` (YYYY-MM-DD), `time` (HH:MM:SS). Optional: `consumer_number` (must be the "
        "bill's unit when given), `bank`, `channel`, `fine` (a late surcharge the bank collected; recorded on the "
        "row, not applied to the bill). A file with any malformed row is refused whole, naming each row and column.")
    st.download_button("Download an empty template", data=",".join(COLUMNS) + "\n", file_name="bank-file-template.csv",
                       mime="text/csv", icon=":material/download:", on_click="ignore")


def _summary(out) -> None:
    if out.already_imported:
        st.info(f"This file was imported already (file #{out.file_id}, {w.esc(out.file_name)}): nothing changed. "
                "Its summary:", icon=":material/content_copy:")
    else:
        st.success(f"Imported file #{out.file_id}.", icon=":material/check_circle:")
    cols = st.columns(3)
    for col, kind, label in zip(cols, ("matched", "duplicate", "refused"),
                                ("Matched and recorded", "Duplicates (no change)", "Refused (not applied)")):
        col.metric(label, f"{w.count(out.counts[kind])}", w.money(out.amounts[kind]), delta_color="off", delta_arrow="off")


with st.form("bank_upload", clear_on_submit=True):
    upload = st.file_uploader("Bank file (CSV)", type=["csv"], key="bank_file")
    go = st.form_submit_button("Import payments", icon=":material/upload:")
if go:
    if upload is None:
        st.error("**Bank file**: choose a CSV file first.")
    else:
        try:
            with st.spinner("Matching payments ..."):
                out = import_file(db, upload.getvalue(), upload.name, actor)
        except MasterDataError as exc:
            st.error(f"Nothing was imported: {len(exc.problems)} problem(s) in the file. Fix them and import it again.")
            st.dataframe([{"row": p.row or "header", "column": p.column or "", "problem": p.message}
                          for p in exc.problems], hide_index=True, width="stretch")
        except MeterlineError as exc:
            show_error(exc)
        else:
            st.session_state["bank_last"] = out.file_id
            _summary(out)

st.subheader("Imported files")
key = "bank_files"
size = w.page_size(key)
files = db.storage.list_bank_files(w.offset_for(key, (size,)), size)
if not files.items:
    st.info("No bank files imported yet.")
    st.stop()
zone = utility().zone
st.dataframe([{"file": f"#{f.id}", "name": f.file_name, "rows": f.row_count, "matched": f.matched_count,
               "matched amount": w.money(f.matched_amount), "duplicates": f.duplicate_count,
               "refused": f.refused_count, "refused amount": w.money(f.refused_amount),
               "imported": f.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M") if f.created_at else "",
               "by": f.imported_by_name} for f in files.items], hide_index=True, width="stretch")
w.pager(key, files, "files")

by_id = {f.id: f for f in files.items}
last = st.session_state.get("bank_last")
chosen = st.selectbox("Rows of file", list(by_id), index=list(by_id).index(last) if last in by_id else 0,
                      format_func=lambda i: f"#{i} · {by_id[i].file_name}", key="bank_rows_file")
which = st.segmented_control("Show", ["Refused", "Duplicates", "Matched", "All"], default="Refused",
                             key="bank_rows_kind") or "Refused"
outcomes = {"Refused": REFUSED, "Duplicates": ("duplicate",), "Matched": ("matched",), "All": ()}[which]
rkey = "bank_rows"
rsize = w.page_size(rkey)
rows = db.storage.list_bank_payments(chosen, tuple(outcomes), w.offset_for(rkey, (chosen, which, rsize)), rsize)
if not rows.items:
    st.info(f"No {which.lower()} rows in this file.")
else:
    st.dataframe([{"row": r.row_no, "outcome": r.outcome.replace("refused_", "refused: ").replace("_", " "),
                   "PSID": r.psid or "", "amount": w.money(r.amount), "date": r.paid_on.isoformat(),
                   "time": r.paid_time, "transaction": r.transaction_id, "bank": r.bank or "",
                   "bill": f"#{r.bill_id}" if r.bill_id else "", "reason": r.reason or ""} for r in rows.items],
                 hide_index=True, width="stretch")
    w.pager(rkey, rows, "rows")
