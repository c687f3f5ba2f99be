"""Field engineer: submit a meter reading with a photo.

Built for a phone in a corridor: one column, a search box instead of a 300,000-row dropdown,
and a form that a double tap cannot submit twice (the service is idempotent on meter + date +
value; this page also remembers the last submission and starts a fresh form after success).
"""
from __future__ import annotations

import hashlib

import streamlit as st

from services.errors import MeterlineError
from services.integrations.cloudinary_photos import store_photo_remotely
from services.integrations.openai_advisor import annotate_reading
from services.accounts.roles import Permission
from ui import widgets as w
from ui.common import billing_source, page_guard, service_icon, services, show_error

MATCH_LIMIT = 50
LAST = "fe_last_submission"
NONCE = "fe_form_nonce"

actor = page_guard(Permission.SUBMIT_READING)
svc = services()
db = svc.db
today = db.today()

st.title(f"{service_icon()} Submit a reading")
if billing_source() == "usage":  # water: a CCF meter value or a day's usage, as daily usage (ui/water_capture.py)
    from ui.water_capture import render

    render(db, actor, MATCH_LIMIT)
    st.stop()


def _show_outcome(last: dict) -> None:
    o = last["outcome"]
    rd = o.reading
    where = f"{w.esc(rd.account_code or '')} · meter {w.esc(rd.meter_number or '')}"
    unit = rd.unit
    what = f"{where}, **{w.qty(rd.reading_value, unit)}** on {rd.reading_date}"
    if o.created:
        lines = [f"Saved reading #{rd.id}: {what}."]
    else:  # a second tap, or a retry after a dropped connection: the first row stands
        lines = [f"Reading #{rd.id} is stored: {what}. It had already arrived, so the repeat was not saved again."]
    if o.previous_value is not None:
        lines.append(f"Consumption since the previous reading ({w.qty(o.previous_value, unit)} on {o.previous_date}): "
                     f"**{w.qty(rd.consumption, unit)}**.")
    elif rd.consumption is not None:
        lines.append(f"Consumption since the previous reading: **{w.qty(rd.consumption, unit)}**.")
    else:
        lines.append("This is the meter's first reading: no consumption yet.")
    lines.append("Photo saved." if rd.photo_ref else "No photo attached.")
    st.success("  \n".join(lines), icon=":material/check_circle:")
    for flag in o.flags:
        st.warning(f"Flagged for the reviewer: {w.esc(flag.reason)}", icon=":material/flag:")
    for note in last.get("notes", []):
        st.caption(note)


def _submit(choice, value, motor_value, motor_share, date, photo) -> dict:
    """Save the photo, store the reading, then add the remote copy and the advice. A refused or
    duplicate reading leaves no photo behind (and uploads nothing), so nothing partial is stored."""
    notes: list[str] = []
    stored = None
    if photo is not None:
        stored = svc.photos.save(photo.getvalue(), photo.name or "camera.jpg", meter_number=choice.meter_number,
                                 today=today)
    try:
        outcome = db.insert_meter_reading(
            meter_id=choice.meter_id, reading_value=value, reading_date=date, motor_reading_value=motor_value or None,
            motor_share=motor_share or None, photo_ref=stored.ref if stored else None, source="ui", actor=actor)
    except Exception:
        if stored:
            stored.path.unlink(missing_ok=True)
        raise
    if stored and not outcome.created:
        stored.path.unlink(missing_ok=True)  # the first submission keeps its own photo
    elif stored:
        try:  # its perceptual hash and EXIF time: the reviewer sees a reused or stale photo (docs/trust.md)
            db.record_photo_print(outcome.reading, stored, actor=actor)
            notes += [f"Flagged for the reviewer: {f.reason}." for f in db.photo_findings(outcome.reading.id, actor=actor)]
        except Exception as exc:  # a failed check must not lose a stored reading
            notes.append(f"The photo could not be checked against earlier photos ({exc.__class__.__name__}).")
        try:  # the Cloudinary copy (when configured), recorded on the reading
            store_photo_remotely(svc, outcome.reading.id, stored.ref, actor)
        except Exception as exc:  # a failed upload must not lose a stored reading
            notes.append(f"The photo is saved on the server; the cloud copy failed ({exc.__class__.__name__}).")
    if outcome.created:
        annotate_reading(svc, outcome.reading, actor)  # the AI's advice for the reviewer, when configured
    return {"outcome": outcome, "notes": notes}


last = st.session_state.get(LAST)

label = w.word()
search = st.text_input(f"Find the {label}", key="fe_search", placeholder=f"{w.word(capital=True)} code, meter number "
                       "or name", type="search", live="500ms", icon=":material/search:")
matches = db.list_active_meters(search, limit=MATCH_LIMIT)
if not matches.items:
    st.warning(f"No active meter matches that search. Check the {label} code or meter number.")
    st.stop()
# Nothing is chosen until the engineer picks: a pre-selected first match lets a reading land on the wrong meter.
choice = st.selectbox(f"{w.word(capital=True)} and meter", matches.items, format_func=lambda c: c.label,
                      key="fe_choice", index=None, placeholder=f"Pick the {label} you are standing at")
if matches.has_next:
    st.caption(f"Showing the first {MATCH_LIMIT} matches: type more of the {label} code, meter number or name.")
if choice is None or choice not in matches.items:  # not picked yet, or picked under another search
    st.info(f"Search, then pick the {label} and meter from the list.", icon=":material/touch_app:")
    if last:
        _show_outcome(last)
    st.stop()
unit = choice.unit
per = f" ({unit})" if unit else ""

if choice.motor_meter_number:
    st.caption(f":material/water_pump: Shared water motor {w.esc(choice.motor_code)}: "
               f"motor meter **{w.esc(choice.motor_meter_number)}**")
previous = db.meter_history(choice.meter_id, limit=1)
if previous:
    p = previous[0]
    st.caption(f"Last reading: {w.qty(p.reading_value, unit)} on {p.reading_date} ({p.status})")

photo_source = st.segmented_control("Photo", ["Upload a photo", "Take a photo"], default="Upload a photo",
                                    key="fe_photo_source")
nonce = st.session_state.setdefault(NONCE, 0)
with st.form(f"reading_form_{nonce}"):
    value = st.text_input(f"Reading value{per}", placeholder="e.g. 12345.6", key=f"fe_value_{nonce}")
    motor_value = motor_share = None
    if choice.motor_meter_number:
        c1, c2 = st.columns(2)
        motor_value = c1.text_input(f"Motor meter reading ({unit + ', ' if unit else ''}optional)",
                                    key=f"fe_motor_value_{nonce}")
        motor_share = c2.text_input(f"Motor share for this {label} ({unit + ', ' if unit else ''}optional)",
                                    key=f"fe_motor_share_{nonce}")
    # No max_value: the browser would show "outside allowed range" and still send today's date. A future
    # date is sent as typed and refused by the service with the field named (services/readings/rules.py).
    date = st.date_input("Reading date", value=today, format="YYYY-MM-DD", key=f"fe_date_{nonce}",
                         help="The day the meter was read: today or earlier.")
    if photo_source == "Take a photo":
        photo = st.camera_input("Meter photo", key=f"fe_camera_{nonce}")
    else:
        photo = st.file_uploader("Meter photo", type=list(svc.photos.accepted_extensions), key=f"fe_upload_{nonce}",
                                 max_upload_size=svc.photos.max_upload_mb,
                                 help=f"A photo of the meter display, up to {svc.photos.limits_text} "
                                      "(a phone's normal photo is 12 megapixels).")
    submitted = st.form_submit_button("Submit reading", type="primary", icon=":material/send:", width="stretch")

if submitted:
    digest = hashlib.sha256(photo.getvalue()).hexdigest() if photo is not None else None
    key = (choice.meter_id, str(date), (value or "").strip(), (motor_value or "").strip(), (motor_share or "").strip(),
           digest)
    if last and last.get("key") == key:
        st.info("That reading was just submitted; it was not sent again.", icon=":material/content_copy:")
    else:
        try:
            result = _submit(choice, value, motor_value, motor_share, date, photo)
        except MeterlineError as exc:
            show_error(exc)
        else:
            st.session_state[LAST] = {**result, "key": key}
            st.session_state[NONCE] = nonce + 1  # a fresh, empty form: the old one cannot be sent again
            st.rerun()
elif last:
    _show_outcome(last)  # below the form: on a phone that is where the thumb just tapped
