"""Survey import (issue 14): the head office loads the field survey of consumer units (seed 003's
survey_units, CSV or xlsx). Check first (nothing is written: what would be new, changed, unchanged),
then import: all rows in one transaction or none; every problem listed by row and column. A unit's
billing name / mobile / address changes are kept in its history (shown on its page, Accounts)."""
from __future__ import annotations

import streamlit as st

from services.accounts.roles import Permission
from services.errors import MasterDataError, MeterlineError
from services.municipal.survey import REQUIRED, SURVEY_COLUMNS
from services.municipal.survey_import import import_survey
from ui import widgets as w
from ui.common import page_guard, services, show_error, utility

actor = page_guard(Permission.IMPORT_SURVEY)
db = services().db
u = utility()
units = u.label(plural=True)
st.title(":material/upload_file: Survey import")
st.caption(f"Load the field survey of {units}: new {units} are added (billed from their survey month), changed ones "
           "updated, and each change of a billing name, mobile or address is kept in the unit's history. A file with "
           "any problem is refused whole, naming each row and column.")
with st.expander("File layout", icon=":material/description:"):
    st.markdown(
        "CSV (UTF-8) or Excel (.xlsx, first sheet) with a header row; seed 003's survey columns, in any order: "
        + ", ".join(f"`{c}`" for c in SURVEY_COLUMNS) + ".\n\n"
        "Required: " + ", ".join(f"`{c}`" for c in REQUIRED) + ". `city_district` and `uc_name` must name a "
        "city/tehsil and one of its union councils as on the Accounts page; `survey_category` is Small, Medium or "
        "Large; mobiles are Pakistani mobiles (03001234567 or +923001234567); `gps_lat`/`gps_long` in degrees "
        "inside Pakistan; a house needs `size_marla`; `survey_timestamp` like 2026-03-14 10:32:00 (local time).")
    st.download_button("Download an empty template", data=",".join(SURVEY_COLUMNS) + "\n",
                       file_name="survey-template.csv", mime="text/csv", icon=":material/download:", on_click="ignore")

upload = st.file_uploader("Survey file (CSV or xlsx)", type=["csv", "xlsx"], key="survey_file")
c1, c2 = st.columns(2)
check = c1.button("Check the file", icon=":material/rule:", key="survey_check", width="stretch",
                  help="Reads and checks every row and says what would change. Writes nothing.")
go = c2.button("Import", icon=":material/upload:", type="primary", key="survey_import", width="stretch")


def _problems(exc: MasterDataError) -> None:
    st.error(f"Nothing was imported: {w.count(exc.total)} problem(s) in the file. Fix them and try again.",
             icon=":material/error:")
    st.dataframe([{"row": p.row or "file", "column": p.column or "", "problem": p.message} for p in exc.problems],
                 hide_index=True, width="stretch")


if check or go:
    if upload is None:
        st.error("**Survey file**: choose a CSV or xlsx file first.")
    else:
        try:
            with st.spinner("Checking the survey ..." if check else "Importing the survey ..."):
                out = import_survey(db.storage, upload.getvalue(), upload.name, actor, dry_run=bool(check))
        except MasterDataError as exc:
            _problems(exc)
        except MeterlineError as exc:
            show_error(exc)
        else:
            if out.dry_run:
                st.info(f"{w.esc(out.source)}: the file is good. Nothing was written yet.", icon=":material/rule:")
            else:
                st.success(f"Imported {w.esc(out.source)}.", icon=":material/check_circle:")
            cols = st.columns(4)
            for col, label, n in zip(cols, ("New", "Updated", "Unchanged", "History entries"),
                                     (out.created, out.updated, out.unchanged, out.history)):
                col.metric(label, f"{w.count(n)}")
            if out.plan.history:
                st.markdown("**Name, mobile and address changes**" + (" (to be kept)" if out.dry_run else ""))
                codes = {x["account_id"]: x["code"] for x in out.plan.updates}
                st.dataframe([{u.account_label: codes.get(h["account_id"], ""), "field": h["field"].replace("_", " "),
                               "was": h["old_value"] or "", "now": h["new_value"] or ""}
                              for h in out.plan.history[:500]], hide_index=True, width="stretch")
