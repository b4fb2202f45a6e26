from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse


class BodySizeLimitMiddleware:
    """Refuse request bodies over MENDIAN_MAX_BODY_BYTES with a JSON 413 before anything reads them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.MENDIAN_MAX_BODY_BYTES
        if length > limit and not request.path.startswith("/admin/"):
            return JsonResponse(
                {"error": {"code": "payload_too_large", "message": f"request body over {limit} bytes",
                           "details": {"limit": limit, "length": length}}},
                status=413,
            )
        return self.get_response(request)
