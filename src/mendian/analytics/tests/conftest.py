import pytest

from .chain import make_chain


@pytest.fixture
def chain(db):
    return make_chain()
