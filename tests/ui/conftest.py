import pytest

from scripts import seed_demo
from services.storage.sql_backend import SqlStorage
from tests.conftest import TODAY


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory):
    """A small seeded demo database shared by a module's UI tests (read-mostly)."""
    path = tmp_path_factory.mktemp("uidb") / "demo.db"
    url = f"sqlite:///{path}"
    seed_demo.seed(SqlStorage(url), 32, TODAY, quiet=True)
    return url
