"""The JSON API under /api/v1: one NinjaAPI, one router per bounded context, one error shape.

Errors are always ``{"error": {"code", "message", "details"}}``: 400 malformed, 401, 403, 404,
409 conflict, 413 too large, 422 validation. No input yields a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from mendian.core.errors import MendianError
from mendian.platform.auth import user_from_access_token

log = logging.getLogger(__name__)


class BearerAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = user_from_access_token(token)
        if user is not None:
            request.user = user
        return user


class ConsoleSession(SessionAuth):
    """The console's signed-in session also works for the API (CSRF-checked)."""


api = NinjaAPI(
    title="mendian API",
    version="1",
    urls_namespace="api-v1",
    auth=[BearerAuth(), ConsoleSession()],
    description="mendian (门店) — one truth for stock, orders and members across every store and channel.",
)


def error_response(request: HttpRequest, status: int, code: str, message: str, details: Any = None) -> HttpResponse:
    return api.create_response(
        request, {"error": {"code": code, "message": message, "details": details if details is not None else {}}},
        status=status,
    )


def _validation_details(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for e in errors:
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "payload")]
        out.append({"field": ".".join(loc), "message": e.get("msg", ""), "type": e.get("type", "")})
    return out


@api.exception_handler(MendianError)
def _mendian_error(request: HttpRequest, exc: MendianError) -> HttpResponse:
    return error_response(request, exc.status, exc.code, exc.message, exc.details)


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = list(exc.errors)
    if any(e.get("type") == "json_invalid" or "JSON" in str(e.get("msg", "")) and e.get("loc", ("",))[0] == "body"
           for e in errors):
        return error_response(request, 400, "malformed_json", "the request body is not valid JSON")
    return error_response(request, 422, "validation_error", "the request is not valid", _validation_details(errors))


@api.exception_handler(AuthenticationError)
def _auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(request, 401, "unauthorized", "sign in first: send Authorization: Bearer <access_token>")


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        return error_response(request, 400, "malformed_json", "the request body is not valid JSON")
    code = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
            409: "conflict", 413: "payload_too_large"}.get(exc.status_code, "error")
    return error_response(request, exc.status_code, code, str(exc))


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    from django.core.exceptions import RequestDataTooBig
    from django.http import Http404

    if isinstance(exc, Http404):
        return error_response(request, 404, "not_found", str(exc) or "not found")
    if isinstance(exc, RequestDataTooBig):
        return error_response(request, 413, "payload_too_large", "request body too large")
    log.exception("unexpected error on %s %s", request.method, request.path)
    return error_response(request, 500, "internal_error", "an unexpected error occurred; it has been logged")


def _register_routers() -> None:
    from mendian.catalog.api import router as catalog_router
    from mendian.inventory.api import router as inventory_router
    from mendian.org.api import router as org_router
    from mendian.platform.api import router as platform_router
    from mendian.sales.api import router as sales_router

    api.add_router("/", platform_router)
    api.add_router("/", org_router)
    api.add_router("/", catalog_router)
    api.add_router("/", inventory_router)
    api.add_router("/", sales_router)
    from mendian.sales.history_api import router as sales_history_router

    api.add_router("/", sales_history_router)
    from mendian.analytics.api import router as analytics_router
    from mendian.members.api import router as members_router
    from mendian.planning.api import router as planning_router
    from mendian.promotions.api import router as promotions_router
    from mendian.purchasing.api import router as purchasing_router
    from mendian.transfers.api import router as transfers_router

    api.add_router("/", members_router)
    api.add_router("/", promotions_router)
    api.add_router("/", purchasing_router)
    api.add_router("/", planning_router)
    api.add_router("/", transfers_router)
    api.add_router("/", analytics_router)


_register_routers()
