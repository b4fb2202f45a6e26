from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from .access import persona
from .nav import nav_for


def page(request: HttpRequest, template: str, context: dict[str, Any] | None = None, *, nav: str = "",
         status: int = 200) -> HttpResponse:
    """Render a console page with the navigation of the user's role."""
    ctx = dict(context or {})
    if request.user.is_authenticated:
        p = persona(request)
        ctx.setdefault("persona", p)
        roles = p.scope.roles
        if not roles and hasattr(request.user, "supplier_link"):
            roles = frozenset({"supplier"})
        ctx["nav_items"] = nav_for(p.kind, roles)
    ctx["nav_active"] = nav
    return render(request, template, ctx, status=status)
