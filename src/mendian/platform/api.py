from __future__ import annotations

from django.http import HttpRequest
from ninja import Router

from .auth import token_pair_issue, token_pair_refresh, user_sign_in
from .schemas import ErrorOut, RefreshIn, TokenIn, TokenOut

router = Router(tags=["auth"])


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or ""


@router.post("/auth/token", auth=None, response={200: TokenOut, 401: ErrorOut, 429: ErrorOut})
def auth_token(request: HttpRequest, payload: TokenIn):
    user = user_sign_in(username=payload.username, password=payload.password, ip=client_ip(request))
    return token_pair_issue(user=user)


@router.post("/auth/refresh", auth=None, response={200: TokenOut, 401: ErrorOut})
def auth_refresh(request: HttpRequest, payload: RefreshIn):
    return token_pair_refresh(refresh_token=payload.refresh_token)
