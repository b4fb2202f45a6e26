"""URLs for the sales-history API tests: the project's URLs, plus the history router under /api/v1/
until the project's API registers it (then the project's URLs alone)."""

from __future__ import annotations

from django.urls import Resolver404, path, resolve
from ninja import NinjaAPI

from mendian.urls import urlpatterns as project_urlpatterns

try:
    resolve("/api/v1/sales-history/import", urlconf="mendian.urls")
    urlpatterns = list(project_urlpatterns)
except Resolver404:
    from mendian.api import BearerAuth, ConsoleSession, _auth_error, _mendian_error, _validation_error
    from mendian.core.errors import MendianError
    from mendian.sales.history_api import router

    _api = NinjaAPI(urls_namespace="api-v1-sales-history", auth=[BearerAuth(), ConsoleSession()], docs_url=None,
                    openapi_url=None)
    from ninja.errors import AuthenticationError, ValidationError

    _api.add_exception_handler(MendianError, _mendian_error)
    _api.add_exception_handler(ValidationError, _validation_error)
    _api.add_exception_handler(AuthenticationError, _auth_error)
    _api.add_router("/", router)
    urlpatterns = [*project_urlpatterns, path("api/v1/", _api.urls)]
