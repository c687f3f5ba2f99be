import pytest

from services.storage.sql_backend import SqlStorage


@pytest.fixture
def storage(tmp_path):
    st = SqlStorage(f"sqlite:///{tmp_path / 'docs.db'}")
    yield st
    st.dispose()
