"""Sign-in with throttling, short-lived JWT access tokens and rotating refresh tokens.

Throttling is counted in the database (``LoginAttempt``) so that every worker process agrees: once a
username has ``LOGIN_MAX_FAILURES_PER_USER`` failures (since its last success) within
``LOGIN_LOCKOUT_SECONDS``, or an address ``LOGIN_MAX_FAILURES_PER_IP`` failures within that window,
sign-in is refused for ``LOGIN_LOCKOUT_SECONDS`` counted from the failure that reached the limit.
Refused attempts are not recorded, so hammering a locked account does not extend its lock forever.

Refresh tokens are random strings stored only as their SHA-256. Each refresh revokes the token used
and issues a new pair in the same family; a revoked token presented again (a stolen copy being
replayed, or the legitimate client after the thief used it) is refused and revokes the whole family.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

import jwt
from django.conf import settings
from django.contrib.auth import authenticate, get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from mendian.core.errors import MendianError

from .models import LoginAttempt, RefreshToken

ALGORITHM = "HS256"


class InvalidCredentials(MendianError):
    """Wrong username or password."""

    status = 401
    code = "invalid_credentials"


class TooManyAttempts(MendianError):
    """Too many failed sign-ins; try again later."""

    status = 429
    code = "too_many_attempts"


class InvalidToken(MendianError):
    """The token is invalid or expired."""

    status = 401
    code = "invalid_token"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: str = "bearer"


def _lock_end(failures: Sequence[dt.datetime], limit: int, window: dt.timedelta,
              lockout: dt.timedelta) -> dt.datetime | None:
    """The latest end of a lock: ``limit`` failures within ``window`` lock until the last one + ``lockout``."""
    end = None
    for i in range(limit - 1, len(failures)):
        if failures[i] - failures[i - limit + 1] <= window:
            candidate = failures[i] + lockout
            end = candidate if end is None or candidate > end else end
    return end


def login_locked_until(*, username: str, ip: str, now: dt.datetime | None = None) -> dt.datetime | None:
    """When the sign-in lock of this username or address ends, or None when it is not locked."""
    now = now or timezone.now()
    lockout = window = dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    since = now - window - lockout
    ends: list[dt.datetime] = []
    if username:
        failures: list[dt.datetime] = []
        for at, success in (LoginAttempt.objects.filter(username=username, at__gte=since)
                            .order_by("at", "id").values_list("at", "success")):
            if success:
                failures = []  # a success starts the count again
            else:
                failures.append(at)
        end = _lock_end(failures, settings.LOGIN_MAX_FAILURES_PER_USER, window, lockout)
        if end is not None:
            ends.append(end)
    if ip:
        failures = list(LoginAttempt.objects.filter(ip=ip, success=False, at__gte=since)
                        .order_by("at", "id").values_list("at", flat=True))
        end = _lock_end(failures, settings.LOGIN_MAX_FAILURES_PER_IP, window, lockout)
        if end is not None:
            ends.append(end)
    live = [e for e in ends if e > now]
    return max(live) if live else None


def login_is_locked(*, username: str, ip: str, now: dt.datetime | None = None) -> bool:
    return login_locked_until(username=username, ip=ip, now=now) is not None


def user_sign_in(*, username: str, password: str, ip: str) -> AbstractBaseUser:
    """Check credentials, refusing for 15 minutes after 5 failures per username or 20 per address."""
    username = (username or "")[:150]
    ip = (ip or "")[:64]
    now = timezone.now()
    until = login_locked_until(username=username, ip=ip, now=now)
    if until is not None:
        raise TooManyAttempts(details={"retry_after_seconds": max(1, int((until - now).total_seconds()) + 1)})
    user = authenticate(username=username, password=password or "")
    ok = user is not None and user.is_active
    LoginAttempt.objects.create(username=username, ip=ip, success=ok, at=now)
    if not ok:
        raise InvalidCredentials()
    return user


def _access_token(user: AbstractBaseUser, now: dt.datetime) -> str:
    claims = {"sub": str(user.pk), "typ": "access", "iat": int(now.timestamp()),
              "exp": int(now.timestamp()) + settings.ACCESS_TOKEN_SECONDS}
    return jwt.encode(claims, settings.SECRET_KEY, algorithm=ALGORITHM)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def token_pair_issue(*, user: AbstractBaseUser, family: str | None = None) -> TokenPair:
    now = timezone.now()
    token = secrets.token_urlsafe(32)
    RefreshToken.objects.create(jti=_digest(token), family=family or secrets.token_hex(16), user=user,
                                expires_at=now + dt.timedelta(seconds=settings.REFRESH_TOKEN_SECONDS))
    return TokenPair(access_token=_access_token(user, now), refresh_token=token,
                     expires_in=settings.ACCESS_TOKEN_SECONDS)


def token_pair_refresh(*, refresh_token: str) -> TokenPair:
    """Rotate: the refresh token used is revoked and a new pair issued. Reuse revokes the family."""
    now = timezone.now()
    reused_family = None
    with transaction.atomic():
        rt = (RefreshToken.objects.select_for_update().select_related("user")
              .filter(jti=_digest(refresh_token or "")).first())
        if rt is None or rt.expires_at <= now or not rt.user.is_active:
            raise InvalidToken()
        if rt.revoked_at is not None:
            reused_family = rt.family
        else:
            rt.revoked_at = now
            rt.save(update_fields=["revoked_at"])
            return token_pair_issue(user=rt.user, family=rt.family)
    # Outside the refused transaction: revoke every live token of the family, then refuse.
    if reused_family:
        RefreshToken.objects.filter(family=reused_family, revoked_at__isnull=True).update(revoked_at=now)
    raise InvalidToken("this refresh token was already used; sign in again", code="refresh_token_reused")


def user_from_access_token(token: str) -> AbstractBaseUser | None:
    try:
        claims = jwt.decode(token, settings.SECRET_KEY, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access":
        return None
    try:
        pk = int(claims["sub"])
    except (TypeError, ValueError):
        return None
    return get_user_model().objects.filter(pk=pk, is_active=True).first()
