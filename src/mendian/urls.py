from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.urls import include, path

from mendian.api import api


def favicon(request: HttpRequest) -> HttpResponse:
    """No icon, said without a 404: browsers ask for /favicon.ico on pages that name none (error pages,
    JSON), and a 404 there is noise in logs and in the browser tests' console-error checks."""
    resp = HttpResponse(status=204)
    resp["Cache-Control"] = "public, max-age=86400"
    return resp


urlpatterns = [
    path("favicon.ico", favicon),
    path("admin/", admin.site.urls),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("mendian.console.urls")),
]
