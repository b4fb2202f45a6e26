"""Sign-in with throttling, short-lived JWT access tokens and rotating refresh tokens."""

from __future__ import annotations

import datetime as dt
import secrets
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


def login_is_locked(*, username: str, ip: str, now: dt.datetime | None = None) -> bool:
    """Counted in the database so that every worker process agrees."""
    now = now or timezone.now()
    since = now - dt.timedelta(seconds=settings.LOGIN_LOCKOUT_SECONDS)
    recent = LoginAttempt.objects.filter(at__gte=since, success=False)
    if recent.filter(username=username).count() >= settings.LOGIN_MAX_FAILURES_PER_USER:
        return True
    return bool(ip) and recent.filter(ip=ip).count() >= settings.LOGIN_MAX_FAILURES_PER_IP


def user_sign_in(*, username: str, password: str, ip: str) -> AbstractBaseUser:
    """Check credentials, refusing for 15 minutes after 5 failures per username or 20 per address."""
    username = (username or "")[:150]
    if login_is_locked(username=username, ip=ip):
        raise TooManyAttempts(details={"retry_after_seconds": settings.LOGIN_LOCKOUT_SECONDS})
    user = authenticate(username=username, password=password)
    LoginAttempt.objects.create(username=username, ip=ip or "", success=user is not None, at=timezone.now())
    if user is None or not user.is_active:
        raise InvalidCredentials()
    return user


def _access_token(user: AbstractBaseUser, now: dt.datetime) -> str:
    claims = {"sub": str(user.pk), "typ": "access", "iat": int(now.timestamp()),
              "exp": int(now.timestamp()) + settings.ACCESS_TOKEN_SECONDS}
    return jwt.encode(claims, settings.SECRET_KEY, algorithm=ALGORITHM)


def token_pair_issue(*, user: AbstractBaseUser) -> TokenPair:
    now = timezone.now()
    jti = secrets.token_urlsafe(32)
    RefreshToken.objects.create(jti=jti, user=user, expires_at=now + dt.timedelta(seconds=settings.REFRESH_TOKEN_SECONDS))
    return TokenPair(access_token=_access_token(user, now), refresh_token=jti, expires_in=settings.ACCESS_TOKEN_SECONDS)


def token_pair_refresh(*, refresh_token: str) -> TokenPair:
    """Rotate: the old refresh token is revoked and a new pair issued."""
    now = timezone.now()
    with transaction.atomic():
        rt = RefreshToken.objects.select_for_update().select_related("user").filter(jti=refresh_token or "").first()
        if rt is None or rt.revoked_at or rt.expires_at <= now or not rt.user.is_active:
            raise InvalidToken()
        rt.revoked_at = now
        rt.save(update_fields=["revoked_at"])
        return token_pair_issue(user=rt.user)


def user_from_access_token(token: str) -> AbstractBaseUser | None:
    try:
        claims = jwt.decode(token, settings.SECRET_KEY, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError:
        return None
    if claims.get("typ") != "access":
        return None
    user = get_user_model().objects.filter(pk=claims["sub"], is_active=True).first()
    return user
