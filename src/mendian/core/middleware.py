from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


def _error(status: int, code: str, message: str, details: dict | None = None) -> JsonResponse:
    return JsonResponse({"error": {"code": code, "message": message, "details": details or {}}}, status=status)


class BodySizeLimitMiddleware:
    """The API's guard at the door, before anything reads the request:

    - bodies over MENDIAN_MAX_BODY_BYTES are a JSON 413;
    - NUL characters in an API path, query or JSON body are a JSON 400 (PostgreSQL text cannot hold
      them, so they would otherwise surface as a 500 deep in a query);
    - an unknown path under /api/ is a JSON 404 in the API's error shape, not Django's HTML page.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.MENDIAN_MAX_BODY_BYTES
        if length > limit and not request.path.startswith("/admin/"):
            return _error(413, "payload_too_large", f"request body over {limit} bytes",
                          {"limit": limit, "length": length})
        is_api = request.path.startswith("/api/")
        if is_api:
            if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
                return _error(400, "bad_request", "NUL characters are not allowed in a request")
            if length and request.content_type == "application/json" and b"\\u0000" in request.body:
                return _error(400, "bad_request", "NUL characters are not allowed in a request")
        response = self.get_response(request)
        if is_api and response.status_code == 404 and not response.get("Content-Type", "").startswith(
                "application/json"):
            return _error(404, "not_found", f"no such endpoint: {request.method} {request.path}")
        return response
