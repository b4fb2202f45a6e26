"""Console pages for members, coupons and promotions (issues 3 and 6): member search (mobile masked
without PII permission), a member's page, registration; coupon templates, batches (HQ); promotions
with activate / pause / end and their usage (HQ), each promotion's effect dashboard and the threshold at
which it pauses itself; a price preview through the pricing engine.
Every write goes through ``mendian.members.services`` / ``mendian.promotions.services``."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.http import require_POST

from mendian.core.errors import InvalidInput, MendianError
from mendian.members import selectors as msel
from mendian.members import services as msvc
from mendian.members.errors import MemberExists
from mendian.members.models import CouponBatch, CouponTemplate, Member
from mendian.org.models import Location
from mendian.promotions import effect as peffect
from mendian.promotions import selectors as psel
from mendian.promotions import services as psvc
from mendian.promotions.models import Promotion, PromotionUsage
from mendian.sales.models import Channel

from ..access import console_view, location_or_404, visible_locations
from ..render import page
from ..tables import chart_spec

MEMBER_ROLES = ("hq", "region", "store_manager", "cashier")
PER_PAGE = 50


def _member_staff(request: HttpRequest) -> None:
    if not request.persona.scope.has_role(*MEMBER_ROLES):
        raise PermissionDenied("members are for HQ, regional directors, store managers and cashiers")


def _hq(request: HttpRequest) -> None:
    if not request.persona.scope.is_hq:
        raise PermissionDenied("coupons and promotions are HQ (marketing) work")


def _dec(value: str, field: str) -> Decimal | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return Decimal(value)
    except InvalidOperation:
        raise InvalidInput(_("%(f)s: not a number") % {"f": field}, details={"field": field}) from None


def _int(value: str, field: str) -> int | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidInput(_("%(f)s: not a whole number") % {"f": field}, details={"field": field}) from None


def _list(value: str) -> list[str]:
    return [v.strip() for v in (value or "").replace("\n", ",").split(",") if v.strip()]


def _json(value: str, field: str) -> dict:
    value = (value or "").strip()
    if not value:
        return {}
    try:
        data = json.loads(value)
    except ValueError as e:
        raise InvalidInput(_("%(f)s: invalid JSON (%(e)s)") % {"f": field, "e": e}, details={"field": field}) from None
    if not isinstance(data, dict):
        raise InvalidInput(_("%(f)s: a JSON object is needed") % {"f": field}, details={"field": field})
    return data


def _day_end(value: str, field: str) -> dt.datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        d = dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(_("%(f)s: a date like 2026-12-31") % {"f": field}, details={"field": field}) from None
    return timezone.make_aware(dt.datetime.combine(d + dt.timedelta(days=1), dt.time()))


# --- members ------------------------------------------------------------------------------------------

@console_view
def member_search(request: HttpRequest) -> HttpResponse:
    _member_staff(request)
    scope = request.persona.scope
    q = (request.GET.get("q") or "").strip()
    rows: list[Member] = []
    if q:
        m = msel.member_get(code=q.upper())
        if m is None:
            with transaction.atomic():
                m = msel.member_by_mobile(mobile=q)
                msvc.member_lookup_record(actor=request.user, mobile=q, found=m.code if m else None)
        rows = [m] if m else []
    elif scope.is_hq:
        rows = list(Member.objects.select_related("tier", "store").order_by("-created_at", "-id")[:PER_PAGE])
    for m in rows:
        m.shown_mobile = msel.shown_mobile(m.mobile, can_view_pii=scope.can_view_pii)
    return page(request, "console/marketing/members.html", {"q": q, "rows": rows}, nav="members")


@console_view
def member_detail(request: HttpRequest, code: str) -> HttpResponse:
    _member_staff(request)
    scope = request.persona.scope
    m = msel.member_get(code=code)
    if m is None:
        raise Http404("no such member")
    m.shown_mobile = msel.shown_mobile(m.mobile, can_view_pii=scope.can_view_pii)
    ledger, ledger_count = msel.points_history(member=m, limit=PER_PAGE)
    wallet, wallet_count = msel.wallet_list(member=m, limit=PER_PAGE)
    return page(request, "console/marketing/member.html", {
        "m": m, "ledger": ledger, "ledger_count": ledger_count, "wallet": wallet, "wallet_count": wallet_count,
    }, nav="members")


@console_view
def member_register(request: HttpRequest) -> HttpResponse:
    _member_staff(request)
    scope = request.persona.scope
    stores = visible_locations(request, kind=Location.Kind.STORE)
    form = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        store_code = request.POST.get("store") or ""
        store = location_or_404(request, store_code) if store_code else None
        if store is None and not scope.chain_wide:
            store = request.persona.home_store
        try:
            m = msvc.member_register(actor=request.user, mobile=request.POST.get("mobile", ""),
                                     name=request.POST.get("name", ""), channel="pos", store=store,
                                     consent_marketing=bool(request.POST.get("consent_marketing")),
                                     consent_data=bool(request.POST.get("consent_data")))
        except MemberExists as e:
            messages.error(request, _("This mobile number is already a member: %(c)s.") % {"c": e.member_code})
            return redirect(reverse("console:member", args=[e.member_code]))
        except MendianError as e:
            messages.error(request, str(e))
        else:
            messages.success(request, _("Member %(c)s registered.") % {"c": m.code})
            return redirect(reverse("console:member", args=[m.code]))
    return page(request, "console/marketing/member_register.html", {"stores": stores, "form": form}, nav="members")


# --- coupons (HQ) ------------------------------------------------------------------------------------

@console_view
def coupon_templates(request: HttpRequest) -> HttpResponse:
    _hq(request)
    form = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        p = request.POST
        try:
            t = msvc.coupon_template_create(
                actor=request.user, code=p.get("code", "").strip(), name=p.get("name", "").strip(),
                kind=p.get("kind", ""), amount=_dec(p.get("amount"), "amount"),
                threshold=_dec(p.get("threshold"), "threshold"), rate=_dec(p.get("rate"), "rate"),
                cap=_dec(p.get("cap"), "cap"), item_sku=p.get("item_sku", "").strip(),
                skus=_list(p.get("skus")), categories=_list(p.get("categories")), stores=_list(p.get("stores")),
                regions=_list(p.get("regions")), channels=_list(p.get("channels")),
                valid_to=_day_end(p.get("valid_to"), "valid_to"), valid_days=_int(p.get("valid_days"), "valid_days"),
                total_quota=_int(p.get("total_quota"), "total_quota"),
                per_member_limit=_int(p.get("per_member_limit"), "per_member_limit"),
                claimable=bool(p.get("claimable")))
        except MendianError as e:
            messages.error(request, str(e))
        else:
            messages.success(request, _("Coupon template %(c)s created.") % {"c": t.code})
            return redirect(reverse("console:coupon_templates"))
    rows = list(CouponTemplate.objects.order_by("-created_at", "-id")[:PER_PAGE])
    batches = list(CouponBatch.objects.select_related("template").order_by("-created_at", "-id")[:20])
    return page(request, "console/marketing/coupons.html", {
        "rows": rows, "batches": batches, "kinds": CouponTemplate.Kind.choices, "form": form,
    }, nav="coupons")


@console_view
@require_POST
def coupon_batch_create(request: HttpRequest) -> HttpResponse:
    _hq(request)
    try:
        b = msvc.coupon_batch_create(actor=request.user, template_code=request.POST.get("template", ""),
                                     member_codes=[c.upper() for c in _list(request.POST.get("members"))])
    except MendianError as e:
        messages.error(request, str(e))
        return redirect(reverse("console:coupon_templates"))
    messages.success(request, _("Batch %(n)s: %(i)s of %(t)s issued.") % {"n": b.number, "i": b.issued, "t": b.total})
    return redirect(reverse("console:coupon_batch", args=[b.number]))


@console_view
def coupon_batch(request: HttpRequest, number: str) -> HttpResponse:
    _hq(request)
    b = CouponBatch.objects.select_related("template").filter(number=number).first()
    if b is None:
        raise Http404("no such batch")
    pct = round(100 * b.processed / b.total) if b.total else 100
    return page(request, "console/marketing/batch.html", {"b": b, "pct": pct}, nav="coupons")


# --- promotions (HQ) ---------------------------------------------------------------------------------

@console_view
def promotions(request: HttpRequest) -> HttpResponse:
    _hq(request)
    form = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        p = request.POST
        try:
            promo = psvc.promotion_create(
                actor=request.user, code=p.get("code", "").strip(), name=p.get("name", "").strip(),
                kind=p.get("kind", ""), condition=_json(p.get("condition"), "condition"),
                benefit=_json(p.get("benefit"), "benefit"), priority=_int(p.get("priority"), "priority") or 0,
                exclusive_group=p.get("exclusive_group", "").strip(),
                combines_with_coupons=bool(p.get("combines_with_coupons")),
                starts_at=None, ends_at=_day_end(p.get("ends_on"), "ends_on"),
                budget=_dec(p.get("budget"), "budget"), quota_total=_int(p.get("quota_total"), "quota_total"),
                **_auto_pause_fields(p))
        except MendianError as e:
            messages.error(request, str(e))
        else:
            messages.success(request, _("Promotion %(c)s created as a draft.") % {"c": promo.code})
            return redirect(reverse("console:promotion", args=[promo.code]))
    status = request.GET.get("status") or ""
    rows, count = psel.promotion_list(status=status or None, limit=PER_PAGE, offset=0)
    return page(request, "console/marketing/promotions.html", {
        "rows": rows, "count": count, "status": status, "statuses": Promotion.Status.choices,
        "kinds": Promotion.KindChoice.choices, "form": form,
    }, nav="promotions")


@console_view
def promotion_detail(request: HttpRequest, code: str) -> HttpResponse:
    _hq(request)
    promo = Promotion.objects.filter(code=code).first()
    if promo is None:
        raise Http404("no such promotion")
    usage = PromotionUsage.objects.filter(promotion=promo).aggregate(
        orders=Count("id"), units=Sum("units"), cost=Sum("discount"))
    recent = list(PromotionUsage.objects.filter(promotion=promo).order_by("-created_at", "-id")[:20])
    S = Promotion.Status
    actions = [(s, label) for s, label in ((S.ACTIVE, _("Activate")), (S.PAUSED, _("Pause")), (S.ENDED, _("End")))
               if promo.status in psvc._TRANSITIONS[s]]
    return page(request, "console/marketing/promotion.html", {
        "p": promo, "orders": usage["orders"], "units": usage["units"] or 0,
        "cost": usage["cost"] or Decimal("0.00"), "recent": recent, "actions": actions,
        "condition": json.dumps(promo.condition, ensure_ascii=False, indent=1),
        "benefit": json.dumps(promo.benefit, ensure_ascii=False, indent=1),
    }, nav="promotions")


@console_view
@require_POST
def promotion_status(request: HttpRequest, code: str) -> HttpResponse:
    _hq(request)
    if not Promotion.objects.filter(code=code).exists():
        raise Http404("no such promotion")
    try:
        promo = psvc.promotion_set_status(actor=request.user, code=code, status=request.POST.get("status", ""),
                                          reason=request.POST.get("reason", ""))
    except MendianError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, _("Promotion %(c)s is now %(s)s.") % {"c": code, "s": promo.get_status_display()})
    return redirect(reverse("console:promotion", args=[code]))


# --- promotion effect (issue 3, effect monitoring) -----------------------------------------------------

def _auto_pause_fields(p: Any) -> dict[str, Any]:
    """The auto-pause threshold of a promotion form: empty minimums mean the defaults (3 days, 20 orders)."""
    days = _int(p.get("pause_min_days"), "pause_min_days")
    orders = _int(p.get("pause_min_orders"), "pause_min_orders")
    return {"max_cost_per_incremental": _dec(p.get("max_cost_per_incremental"), "max_cost_per_incremental"),
            "pause_min_days": 3 if days is None else days, "pause_min_orders": 20 if orders is None else orders}


def _day(value: str | None, field: str) -> dt.date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(_("%(f)s: a date like 2026-12-31") % {"f": field}, details={"field": field}) from None


_VERDICTS = {
    "no_threshold": gettext_noop("No threshold: it never pauses itself."),
    "too_early": gettext_noop("Waiting for the minimum days and orders."),
    "no_discount": gettext_noop("No discount spent yet."),
    "under_threshold": gettext_noop("Under the threshold: it keeps running."),
    "over_threshold": gettext_noop("Past the threshold: the hourly check pauses it."),
    "no_incremental": gettext_noop("Discount without incremental sales: the hourly check pauses it."),
}


_COVERED = {
    "skus": gettext_noop("SKUs"), "categories": gettext_noop("Categories"), "brands": gettext_noop("Brands"),
    "exclude_skus": gettext_noop("Except SKUs"), "exclude_categories": gettext_noop("Except categories"),
    "exclude_brands": gettext_noop("Except brands"), "stores": gettext_noop("Stores"),
    "regions": gettext_noop("Regions"),
}


@console_view
def promotion_effect(request: HttpRequest, code: str) -> HttpResponse:
    _hq(request)
    promo = Promotion.objects.filter(code=code).first()
    if promo is None:
        raise Http404("no such promotion")
    default = peffect.promotion_default_window(promo)
    window = None
    try:
        start, end = _day(request.GET.get("from"), "from"), _day(request.GET.get("to"), "to")
        if start or end:
            window = peffect.effect_window_checked(start or default.start, end or default.end)
    except MendianError as e:
        messages.error(request, str(e))
    e = peffect.promotion_effect_get(promotion=promo, window=window or default)
    f = e.figures
    chart = chart_spec([d.day.strftime("%m-%d") for d in f.series],
                       [(_("During the promotion"), [d.sales for d in f.series]),
                        (_("Same weekdays before"), [d.baseline for d in f.series])], kind="line")
    recent = list(PromotionUsage.objects.filter(promotion=promo).order_by("-created_at", "-id")[:20])
    return page(request, "console/marketing/promotion_effect.html", {
        "p": promo, "e": e, "f": f, "w": f.window, "chart": chart, "recent": recent,
        "uplift_pct": None if f.uplift is None else (f.uplift * 100).quantize(Decimal("0.1")),
        "budget_pct": (None if not promo.budget else (100 * promo.budget_used / promo.budget).quantize(Decimal("0.1"))),
        "verdict": _(_VERDICTS[e.verdict.code]),
        "covered": [(_(_COVERED[k]), ", ".join(v)) for k, v in e.coverage.description.items()],
    }, nav="promotions")


@console_view
@require_POST
def promotion_auto_pause(request: HttpRequest, code: str) -> HttpResponse:
    _hq(request)
    if not Promotion.objects.filter(code=code).exists():
        raise Http404("no such promotion")
    try:
        psvc.promotion_auto_pause_set(actor=request.user, code=code, **_auto_pause_fields(request.POST))
    except MendianError as e:
        messages.error(request, str(e))
    else:
        messages.success(request, _("Auto-pause threshold of %(c)s saved.") % {"c": code})
    return redirect(reverse("console:promotion_effect", args=[code]))


# --- price preview -------------------------------------------------------------------------------------

def _lines(text: str) -> list[psvc.QuoteLine]:
    out = []
    for raw in (text or "").splitlines():
        parts = raw.replace(",", " ").replace("×", " ").split()
        if not parts:
            continue
        qty = _int(parts[1], "quantity") if len(parts) > 1 else 1
        out.append(psvc.QuoteLine(parts[0], qty or 0))
    return out


@console_view
def price_preview(request: HttpRequest) -> HttpResponse:
    stores = visible_locations(request, kind=Location.Kind.STORE)
    q = request.GET
    result = error = None
    member_code = (q.get("member") or "").strip().upper()
    if q.get("store"):
        store = location_or_404(request, q["store"])
        channel = q.get("channel") or Channel.POS
        try:
            member = None
            coupons = []
            if member_code:
                member = msel.member_pricing_context(member_code)
                if member is None:
                    raise InvalidInput(_("No member %(c)s.") % {"c": member_code}, details={"field": "member"})
                coupons = msel.wallet_coupons_for_pricing(member=member_code, store=store.code, channel=channel)
            result = psvc.pricing_quote(store=store, channel=channel, lines=_lines(q.get("lines")), member=member,
                                        coupons=coupons, points_policy=msel.points_policy())
        except MendianError as e:
            error = str(e)
    return page(request, "console/marketing/preview.html", {
        "stores": stores, "channels": Channel.choices, "q": q, "result": result, "error": error,
    }, nav="price_preview")


urlpatterns = [
    path("members/", member_search, name="members"),
    path("members/register/", member_register, name="member_register"),
    path("members/<str:code>/", member_detail, name="member"),
    path("coupons/", coupon_templates, name="coupon_templates"),
    path("coupons/batches/", coupon_batch_create, name="coupon_batch_create"),
    path("coupons/batches/<str:number>/", coupon_batch, name="coupon_batch"),
    path("promotions/", promotions, name="promotions"),
    path("promotions/<str:code>/", promotion_detail, name="promotion"),
    path("promotions/<str:code>/status/", promotion_status, name="promotion_status"),
    path("promotions/<str:code>/effect/", promotion_effect, name="promotion_effect"),
    path("promotions/<str:code>/auto-pause/", promotion_auto_pause, name="promotion_auto_pause"),
    path("price-preview/", price_preview, name="price_preview"),
]
