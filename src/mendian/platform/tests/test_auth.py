import datetime as dt

import pytest
from django.contrib.auth.hashers import check_password, make_password
from django.test import Client
from django.utils import timezone

from mendian.org.tests.factories import UserFactory
from mendian.platform.auth import login_locked_until, token_pair_issue, user_from_access_token
from mendian.platform.models import LoginAttempt, RefreshToken

pytestmark = pytest.mark.django_db


_client = None


def client() -> Client:
    """One client for the module: building a handler (middleware, static finders) is slow."""
    global _client
    if _client is None:
        _client = Client()
    return _client


def _token(username, password, ip="10.0.0.1"):
    return client().post("/api/v1/auth/token", {"username": username, "password": password},
                         content_type="application/json", REMOTE_ADDR=ip)


def _refresh(token):
    return client().post("/api/v1/auth/refresh", {"refresh_token": token}, content_type="application/json")


def test_token_returns_a_bearer_pair_whose_access_token_signs_in():
    user = UserFactory(username="ann")
    resp = _token("ann", "demo")
    assert resp.status_code == 200
    body = resp.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token"}
    assert body["token_type"] == "bearer" and body["expires_in"] == 900
    assert user_from_access_token(body["access_token"]) == user
    me = client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}")
    assert me.status_code == 200 and me.json()["username"] == "ann"


def test_wrong_password_is_401_and_recorded():
    UserFactory(username="ann")
    resp = _token("ann", "nope")
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_credentials"
    assert list(LoginAttempt.objects.values_list("username", "ip", "success")) == [("ann", "10.0.0.1", False)]


def test_refresh_rotates_and_a_reused_refresh_token_is_refused_with_its_family():
    UserFactory(username="ann")
    first = _token("ann", "demo").json()
    second = _refresh(first["refresh_token"])
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"] and pair["access_token"]
    # the old one is revoked: presenting it again is a 401 ...
    again = _refresh(first["refresh_token"])
    assert again.status_code == 401 and again.json()["error"]["code"] == "refresh_token_reused"
    # ... and revokes the family, so the thief's (or owner's) newer token dies too
    assert _refresh(pair["refresh_token"]).status_code == 401
    assert RefreshToken.objects.filter(revoked_at__isnull=True).count() == 0


def test_refresh_tokens_are_stored_only_as_digests():
    user = UserFactory(username="ann")
    pair = token_pair_issue(user=user)
    assert not RefreshToken.objects.filter(jti=pair.refresh_token).exists()
    assert RefreshToken.objects.count() == 1


def test_expired_refresh_token_and_garbage_are_401():
    UserFactory(username="ann")
    first = _token("ann", "demo").json()
    RefreshToken.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert _refresh(first["refresh_token"]).status_code == 401
    assert _refresh("garbage").status_code == 401
    assert _refresh("").status_code == 401


def test_an_expired_access_token_is_refused(settings):
    UserFactory(username="ann")
    settings.ACCESS_TOKEN_SECONDS = -5
    token = _token("ann", "demo").json()["access_token"]
    assert user_from_access_token(token) is None
    resp = client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"


def test_an_access_token_of_a_deactivated_user_or_a_refresh_token_used_as_access_is_refused():
    user = UserFactory(username="ann")
    pair = token_pair_issue(user=user)
    assert user_from_access_token(pair.refresh_token) is None
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert user_from_access_token(pair.access_token) is None


def test_five_failures_lock_a_username_for_fifteen_minutes():
    UserFactory(username="ann")
    for _ in range(5):
        assert _token("ann", "wrong").status_code == 401
    locked = _token("ann", "demo")
    assert locked.status_code == 429
    assert locked.json()["error"]["code"] == "too_many_attempts"
    assert 890 <= locked.json()["error"]["details"]["retry_after_seconds"] <= 901
    # refused attempts are not counted: still exactly 5 failures and no success
    assert LoginAttempt.objects.filter(success=False).count() == 5
    assert not LoginAttempt.objects.filter(success=True).exists()
    # another user from the same address is not affected
    UserFactory(username="bob")
    assert _token("bob", "demo").status_code == 200
    # 15 minutes later the lock is over
    LoginAttempt.objects.update(at=timezone.now() - dt.timedelta(minutes=15, seconds=1))
    assert _token("ann", "demo").status_code == 200


def test_the_lock_runs_fifteen_minutes_from_the_failure_that_reached_the_limit():
    now = timezone.now()
    for minutes in (14, 14, 14, 14, 1):
        LoginAttempt.objects.create(username="ann", ip="", success=False, at=now - dt.timedelta(minutes=minutes))
    assert login_locked_until(username="ann", ip="", now=now) == now - dt.timedelta(minutes=1) + dt.timedelta(minutes=15)
    # two minutes later the first four are out of the window, but the lock still holds
    assert login_locked_until(username="ann", ip="", now=now + dt.timedelta(minutes=2)) is not None
    assert login_locked_until(username="ann", ip="", now=now + dt.timedelta(minutes=14, seconds=1)) is None


def test_five_failures_spread_over_more_than_fifteen_minutes_do_not_lock():
    now = timezone.now()
    for minutes in (20, 16, 10, 5, 1):
        LoginAttempt.objects.create(username="ann", ip="", success=False, at=now - dt.timedelta(minutes=minutes))
    assert login_locked_until(username="ann", ip="", now=now) is None


def test_a_success_starts_the_username_count_again():
    UserFactory(username="ann")
    for _ in range(4):
        _token("ann", "wrong")
    assert _token("ann", "demo").status_code == 200
    for _ in range(4):
        _token("ann", "wrong")
    assert _token("ann", "demo").status_code == 200


def test_twenty_failures_from_one_address_lock_that_address():
    UserFactory(username="ann")
    for i in range(20):
        assert _token(f"nobody{i}", "wrong", ip="10.9.9.9").status_code == 401
    assert _token("ann", "demo", ip="10.9.9.9").status_code == 429
    assert _token("ann", "demo", ip="10.9.9.8").status_code == 200
    assert not LoginAttempt.objects.filter(ip="10.9.9.9", success=True).exists()


def test_production_settings_hash_passwords_with_argon2(settings):
    import mendian.settings as production

    assert production.PASSWORD_HASHERS[0] == "django.contrib.auth.hashers.Argon2PasswordHasher"
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS  # the test settings use MD5 for speed
    encoded = make_password("s3cret")
    assert encoded.startswith("argon2$argon2id$")
    assert check_password("s3cret", encoded) and not check_password("other", encoded)
