"""Sign-in and sign-out: the same users, passwords and throttling as the API (``user_sign_in``)."""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mendian.platform.auth import InvalidCredentials, TooManyAttempts, user_sign_in

from ..render import page


def _client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "") or ""


def login_view(request: HttpRequest) -> HttpResponse:
    nxt = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = "/"
    error = ""
    status = 200
    username = ""
    if request.method == "POST":
        username = request.POST.get("username", "").strip()
        try:
            user = user_sign_in(username=username, password=request.POST.get("password", ""), ip=_client_ip(request))
        except TooManyAttempts:
            error, status = _("Too many failed sign-ins. Try again in 15 minutes."), 429
        except InvalidCredentials:
            error, status = _("Wrong username or password."), 401
        else:
            login(request, user)
            return redirect(nxt)
    return page(request, "console/login.html", {"error": error, "next": nxt, "username": username}, status=status)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("console:login")
