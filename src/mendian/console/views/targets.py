"""Targets per store and month (form and CSV import), staff hours and foot traffic (CSV import)."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from mendian.analytics.models import SalesTarget
from mendian.analytics.services import IMPORT_KINDS, inputs_import_csv, sales_target_set
from mendian.core.errors import MendianError
from mendian.core.timeutil import local_date
from mendian.org.models import Location
from mendian.platform.models import Job

from ..access import console_view, visible_locations
from ..render import page


def _may_edit(request: HttpRequest) -> bool:
    return bool(request.persona.scope.roles & {"hq", "region"}) or request.user.is_superuser


@console_view
def targets(request: HttpRequest) -> HttpResponse:
    month_raw = request.GET.get("month") or request.POST.get("month") or local_date().strftime("%Y-%m")
    try:
        month = dt.date.fromisoformat(month_raw[:7] + "-01")
    except ValueError:
        month = local_date().replace(day=1)
    stores = list(visible_locations(request, kind=Location.Kind.STORE))
    error = ""
    if request.method == "POST" and _may_edit(request):
        scope = request.persona.scope
        try:
            if request.FILES.get("file"):
                kind = request.POST.get("kind", "")
                job = Job.objects.create(kind=f"analytics.import.{kind}", status="running", created_by=request.user,
                                         started_at=timezone.now(), params={"file": request.FILES["file"].name})
                try:
                    res = inputs_import_csv(kind=kind, data=request.FILES["file"].read(), actor=request.user,
                                            scope=scope)
                except MendianError as exc:
                    Job.objects.filter(pk=job.pk).update(status="failed", error=exc.message, finished_at=timezone.now())
                    raise
                Job.objects.filter(pk=job.pk).update(status="done", progress_done=res.rows, progress_total=res.rows,
                                                     result={"created": res.created, "updated": res.updated},
                                                     finished_at=timezone.now())
                messages.success(request, _("Imported %(rows)s rows (%(created)s new, %(updated)s changed).") % {
                    "rows": res.rows, "created": res.created, "updated": res.updated})
            else:
                n = 0
                for st in stores:
                    raw = (request.POST.get(f"t_{st.code}") or "").strip()
                    if raw == "":
                        continue
                    sales_target_set(location_code=st.code, month=month, amount=raw, actor=request.user, scope=scope)
                    n += 1
                messages.success(request, _("Saved %(n)s targets.") % {"n": n})
            return redirect(reverse("console:targets") + f"?month={month:%Y-%m}")
        except MendianError as exc:
            error = exc.message
    current = dict(SalesTarget.objects.filter(month=month, location__in=stores).values_list("location_id", "amount"))
    rows = [(st, current.get(st.pk)) for st in stores]
    return page(request, "console/work/targets.html", {
        "month": month, "rows": rows, "error": error, "may_edit": _may_edit(request),
        "kinds": [(k, ",".join(v.columns)) for k, v in IMPORT_KINDS.items()],
    }, nav="targets")
