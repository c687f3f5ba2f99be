"""Agent: log a compliance visit from a phone (issue 15), then raise a ticket from it.

One column for a phone: find the unit (code or name, in the agent's areas only), the outcome,
notes, a photo (camera or upload, stored like meter photos: services/photos.py, plus the remote
copy when Cloudinary is configured) and the phone's position from the browser's geolocation
(streamlit-js-eval). The distance to the unit's surveyed GPS is computed on save and a visit
farther than FIELD_VISIT_RADIUS_M is flagged for the supervisor. A refused location is said
plainly; the visit can still be logged without a position.
"""
from __future__ import annotations

import streamlit as st

from services.accounts.roles import Permission
from services.errors import MeterlineError
from services.field import geo
from services.field import service as field
from services.field.models import VISIT_OUTCOMES
from services.integrations.cloudinary_photos import remote_copy
from services.models import AccountFilter
from ui import field_work as fw
from ui import widgets as w
from ui.common import page_guard, services, show_error, utility

POSITION, ASKING, LAST, NONCE = "fv_position", "fv_asking", "fv_last_visit", "fv_nonce"

actor = page_guard(Permission.LOG_VISIT)
svc = services()
db = svc.db
view = db.for_actor(actor).storage
u = utility()
label = u.label(capital=True)
nonce = st.session_state.setdefault(NONCE, 0)

st.title(":material/add_location_alt: Log a visit")

last = st.session_state.get(LAST)
if last is not None:
    visit = view.get_visit(last)
    if visit is not None:
        st.success(f"Saved visit #{visit.id} to {w.esc(visit.account_code)} "
                   f"({VISIT_OUTCOMES[visit.outcome].lower()}); distance to the unit: {fw.distance_text(visit)}.",
                   icon=":material/check_circle:")
        if visit.photo_ref and not visit.photo_url and svc.remote_photos.name != "none":
            st.caption("The photo is saved on the server; its cloud copy failed (the server's copy is kept).")
        if visit.flagged:
            st.warning(f"Farther than {visit.radius_m} m from the unit's surveyed position: flagged for the "
                       "supervisor.", icon=":material/flag:")
        raised = st.session_state.get(f"fv_raised_{visit.id}")
        if raised is None:
            st.markdown("**Raise a ticket from this visit**")
            ticket = fw.ticket_form(f"fv_ticket_{visit.id}", visit.account_id, actor, visit=visit)
            if ticket is not None:
                st.session_state[f"fv_raised_{visit.id}"] = ticket.id
                st.rerun()
        else:
            st.success(f"Raised ticket #{raised} from this visit for the supervisor.",
                       icon=":material/confirmation_number:")
        if st.button("Log another visit", icon=":material/restart_alt:", key="fv_again"):
            for k in (LAST, POSITION, ASKING):
                st.session_state.pop(k, None)
            st.session_state[NONCE] = nonce + 1
            st.rerun()
        st.stop()

# ---- the unit ------------------------------------------------------------------------------------
wanted = st.query_params.get("account")
search = st.text_input(f"{label}", value=wanted or "", key=f"fv_search_{nonce}", icon=":material/search:",
                       placeholder=f"{label} code, or part of a name")
matches = view.list_accounts(AccountFilter(search=search.strip() or None), 0, 20, with_total=False).items \
    if search.strip() else []
if not matches:
    st.caption(f"Type a {u.account_label} code (or part of a name) in your areas." if not search.strip()
               else f"No {u.account_label} in your areas matches.")
    st.stop()
account = st.selectbox(f"Choose the {u.account_label}", matches, key=f"fv_account_{nonce}",
                       format_func=lambda a: f"{a.code} · {a.name or a.contact_name or ''} · {a.area_path or ''}")
if account.gps_lat is None:
    st.caption(f"This {u.account_label} has no surveyed GPS: the distance cannot be checked.")

outcome = st.radio("Outcome", list(VISIT_OUTCOMES), format_func=VISIT_OUTCOMES.get, key=f"fv_outcome_{nonce}",
                   horizontal=True)
notes = st.text_area("Notes", key=f"fv_notes_{nonce}", max_chars=field.MAX_TEXT)

source = st.segmented_control("Photo", ["Upload a photo", "Take a photo"], default="Upload a photo",
                              key=f"fv_photo_source_{nonce}")
if source == "Take a photo":
    photo = st.camera_input("Photo of the unit", key=f"fv_camera_{nonce}")
else:
    photo = st.file_uploader("Photo of the unit", type=list(svc.photos.accepted_extensions), key=f"fv_upload_{nonce}",
                             help=f"Up to {svc.photos.limits_text}.")

# ---- the phone's position -------------------------------------------------------------------------
position = st.session_state.get(POSITION)
if position is None:
    if st.button("Capture my position", icon=":material/my_location:", key=f"fv_locate_{nonce}"):
        st.session_state[ASKING] = st.session_state.get(ASKING, 0) + 1
    asking = st.session_state.get(ASKING)
    if asking:
        from streamlit_js_eval import get_geolocation

        answer = get_geolocation(component_key=f"fv_geo_{nonce}_{asking}")
        got, problem = field.position_from_browser(answer)
        if got is not None:
            st.session_state[POSITION] = got
            st.rerun()
        elif problem:
            st.error(problem, icon=":material/location_off:")
        else:
            st.caption("Asking the phone for its position...")
else:
    lat, lon, acc = position
    unit = (account.gps_lat, account.gps_lon) if account.gps_lat is not None else None
    dist = geo.distance_m((lat, lon), unit)
    radius = geo.visit_radius_m()
    where = f"Position {lat}, {lon}" + (f" (±{acc} m)" if acc is not None else "")
    if dist is None:
        st.info(where + ".", icon=":material/location_on:")
    elif geo.is_flagged(dist, radius):
        st.warning(f"{where}: {dist:,.0f} m from the unit, farther than {radius} m (the visit will be flagged).",
                   icon=":material/location_on:")
    else:
        st.info(f"{where}: {dist:,.0f} m from the unit.", icon=":material/location_on:")
    if st.button("Capture again", icon=":material/my_location:", key=f"fv_relocate_{nonce}"):
        st.session_state.pop(POSITION, None)
        st.session_state[ASKING] = st.session_state.get(ASKING, 0) + 1
        st.rerun()

if st.button("Save visit", type="primary", icon=":material/save:", key=f"fv_save_{nonce}", width="stretch"):
    stored = None
    try:
        if photo is not None:
            stored = svc.photos.save(photo.getvalue(), photo.name or "camera.jpg", meter_number=account.code,
                                     today=db.today())
        # The remote copy (Cloudinary/Drive, when configured) is made once the visit passed its checks;
        # its URL is stored on the visit, as a reading's. A failed upload keeps the local copy only.
        visit = field.log_visit(db, account.id, outcome, notes=notes, photo_ref=stored.ref if stored else None,
                                position=st.session_state.get(POSITION), actor=actor,
                                copy_photo=lambda ref: remote_copy(svc, ref))
    except MeterlineError as exc:
        if stored is not None:
            stored.path.unlink(missing_ok=True)  # nothing partial: no photo without its visit
        show_error(exc)
    else:
        st.session_state[LAST] = visit.id
        st.rerun()
