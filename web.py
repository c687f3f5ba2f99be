"""Meterline's web server: the Streamlit app (streamlit_app.py) plus the two routes that set and clear
the HttpOnly session cookie (ui/web_routes.py). Run it with `streamlit run web.py` (start.sh does):
Streamlit finds `app` below and serves both on one port."""
import streamlit as st

from ui.web_routes import ROUTES

app = st.App("streamlit_app.py", routes=ROUTES)
