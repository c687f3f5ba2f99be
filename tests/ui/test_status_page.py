from pathlib import Path

from streamlit.testing.v1 import AppTest

from scripts import seed_demo
from services.storage.sql_backend import SqlStorage

ROOT = Path(__file__).resolve().parents[2]


def test_status_page_shows_counts(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'ui.db'}"
    seed_demo.seed(SqlStorage(url), 16, quiet=True)
    monkeypatch.setenv("DATABASE_URL", url)
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=30).run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Flats"] == "16" and metrics["Bills"] != "0"
    assert any("Database OK" in s.value for s in at.success)
