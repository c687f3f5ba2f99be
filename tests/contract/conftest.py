import pytest

from tests.backends import FACTORIES, load_optional_backends
from tests.factories import make_service, make_society

load_optional_backends()


@pytest.fixture(params=sorted(FACTORIES))
def storage(request, tmp_path):
    st = FACTORIES[request.param](request, tmp_path)
    yield st
    dispose = getattr(st, "dispose", None)
    if dispose:
        dispose()


@pytest.fixture
def society(storage):
    return make_society(storage)


@pytest.fixture
def db(storage, society, today):
    return make_service(storage, today)
