"""Heavy libraries imported once, before any page runs.

Streamlit runs each session's script in its own thread. When the first sessions of a fresh server
open pages at the same moment, two threads can import pandas (through plotly) at once and one of
them sees a partially initialised module ("partially initialized module 'pandas' has no attribute
'Series'", found by scripts.load_test). Importing this module first serialises that: Python's
per-module import lock makes a second thread wait until this module, and everything it imports,
is complete.
"""
import pandas  # noqa: F401
import plotly.graph_objects  # noqa: F401
import pyarrow  # noqa: F401
