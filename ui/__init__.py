"""Streamlit pages (one module per page) and the shared frame. Pages collect input, call
services and render results: no SQL, no business rules."""
