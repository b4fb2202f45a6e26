"""Shared pytest fixtures. Per-app factories live in each app's tests/factories.py."""

from __future__ import annotations

import os

import pytest
from django.conf import settings
from django.test import Client


def pytest_collection_modifyitems(config, items):
    """Tests marked ``postgres`` need PostgreSQL: skipped on SQLite, except in CI where the
    PostgreSQL run (.ci/run) executes them; they fail there if the database is missing."""
    if settings.IS_POSTGRES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (DATABASE_URL=postgres://…); .ci/run runs these")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


class ApiClient:
    """A thin JSON client over Django's test client that signs in like a terminal would."""

    def __init__(self, user=None) -> None:
        self.client = Client()
        self.token: str | None = None
        if user is not None:
            resp = self.client.post("/api/v1/auth/token", {"username": user.username, "password": "demo"},
                                    content_type="application/json")
            assert resp.status_code == 200, resp.content
            self.token = resp.json()["access_token"]

    def _headers(self, idempotency_key: str | None) -> dict[str, str]:
        h: dict[str, str] = {}
        if self.token:
            h["HTTP_AUTHORIZATION"] = f"Bearer {self.token}"
        if idempotency_key:
            h["HTTP_IDEMPOTENCY_KEY"] = idempotency_key
        return h

    def get(self, path: str, **params):
        return self.client.get(path, params, **self._headers(None))

    def post(self, path: str, body=None, *, idempotency_key: str | None = None, raw: bytes | str | None = None):
        import json

        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(path, data, content_type="application/json", **self._headers(idempotency_key))


@pytest.fixture
def api_client():
    """``api_client(user)`` returns a signed-in JSON client; ``api_client()`` an anonymous one."""
    return ApiClient


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is the real hasher; tests use MD5 only to keep factories fast.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"
