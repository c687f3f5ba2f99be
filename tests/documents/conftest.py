import pytest

from services.storage.sql_backend import SqlStorage


@pytest.fixture
def storage(tmp_path):
    st = SqlStorage(f"sqlite:///{tmp_path / 'docs.db'}")
    yield st
    st.dispose()


@pytest.fixture
def smtp():
    from tests.documents.smtp_server import SmtpServer

    server = SmtpServer().start()
    yield server
    server.stop()
