"""The Streamlit server settings Meterline ships in .streamlit/config.toml (read by `streamlit run`
from the project folder, which ./start.sh and the load test use)."""
import tomllib
from pathlib import Path

CONFIG = tomllib.loads((Path(__file__).resolve().parents[2] / ".streamlit" / "config.toml").read_text())


def test_no_full_garbage_collection_after_every_script_run():
    # Streamlit's default gc.collect() after each run was 63% of the server's CPU with ten staff
    # working (docs/scale-and-benchmarks.md, "Where the time went"); Python's own collector stays on.
    assert CONFIG["runner"]["postScriptGC"] is False


def test_uploads_are_checked_against_cross_site_requests_and_errors_show_no_details():
    assert CONFIG["server"]["enableXsrfProtection"] is True
    assert CONFIG["client"]["showErrorDetails"] == "none"
