import pytest
from django.test import Client

from mendian.analytics.tests.chain import make_chain


@pytest.fixture
def chain(db):
    return make_chain()


@pytest.fixture
def signed_in(db):
    """``signed_in(user)``: a test client (English) signed in through the console's form."""

    def _sign_in(user):
        client = Client(headers={"Accept-Language": "en"})
        resp = client.post("/login/", {"username": user.username, "password": "demo"})
        assert resp.status_code == 302, resp.content
        return client

    return _sign_in
