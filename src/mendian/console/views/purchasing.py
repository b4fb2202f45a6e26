"""Console pages for purchasing (采购): the buyer's purchase orders (filter, suggest, approve, send,
cancel), the supplier's view of their own orders (confirm, ship notice, dock slot, QC report), receiving
against an order or ship notice, and a lot recall page. Writes go through ``mendian.purchasing.services``,
reads through ``mendian.purchasing.selectors``; an order outside the caller's view is a 404."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mendian.core.errors import InvalidInput, MendianError
from mendian.purchasing import selectors as psel
from mendian.purchasing import services as psvc
from mendian.purchasing.models import DockSlot, PurchaseOrder, QcReport, ShipNotice, Supplier

from ..access import console_view
from ..render import page

S = PurchaseOrder.Status
PER_PAGE = 50


def _access(request: HttpRequest) -> psel.PurchasingAccess:
    access = psel.purchasing_access(request.user)
    if not access.any_access:
        raise Http404("no such page")
    return access


def _int(raw, field: str, default: int | None = None) -> int:
    raw = (raw or "").strip()
    if not raw and default is not None:
        return default
    try:
        v = int(raw)
    except ValueError:
        raise InvalidInput(_("%(f)s must be a whole number") % {"f": field}, code="invalid_quantity") from None
    if v < 0:
        raise InvalidInput(_("%(f)s must not be negative") % {"f": field}, code="invalid_quantity")
    return v


def _date(raw, field: str) -> dt.date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(_("%(f)s must be a date (YYYY-MM-DD)") % {"f": field}, code="invalid_date") from None


@console_view
def order_list(request: HttpRequest) -> HttpResponse:
    access = _access(request)
    f = {k: (request.GET.get(k) or "").strip() for k in ("status", "supplier", "location")}
    rows, count = psel.purchase_order_list(access=access, status=f["status"] or None, supplier=f["supplier"] or None,
                                           location=f["location"] or None, limit=PER_PAGE)
    for o in rows:
        o.total = psel.order_total(o)
    suppliers = Supplier.objects.order_by("code")
    if access.is_supplier:
        suppliers = suppliers.filter(pk=access.supplier_id)
    return page(request, "console/purchasing/list.html", {
        "rows": rows, "count": count, "f": f, "statuses": S.choices, "suppliers": suppliers,
        "counts": psel.purchase_order_status_counts(access=access), "access": access,
    }, nav="purchase_orders")


@console_view
@require_POST
def order_suggest(request: HttpRequest) -> HttpResponse:
    access = _access(request)
    try:
        result = psvc.purchase_order_suggest(actor=request.user, access=access,
                                             supplier_code=(request.POST.get("supplier") or "").strip() or None)
    except MendianError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("%(n)s draft orders suggested, total %(t)s.")
                         % {"n": len(result.orders), "t": result.total})
    return redirect(reverse("console:purchase_orders"))


def _order_or_404(request: HttpRequest, number: str) -> tuple[psel.PurchasingAccess, PurchaseOrder]:
    access = _access(request)
    order = psel.purchase_order_get(access=access, number=number)
    if order is None:
        raise Http404("no such order")
    return access, order


@console_view
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    access, order = _order_or_404(request, number)
    lines = list(order.lines.all())
    notices = list(ShipNotice.objects.filter(order=order).prefetch_related("lines__sku", "appointments__slot",
                                                                           "qc_reports").order_by("created_at", "id"))
    open_notices = [n for n in notices if n.status == ShipNotice.Status.SHIPPED]
    for n in notices:
        n.booked = [a for a in n.appointments.all() if a.status == "booked"]
    for ln in lines:
        ln.explain = sorted((ln.suggestion or {}).items())
    supplier_side = access.is_supplier or access.is_buyer
    now = timezone.now()
    slots = psel.dock_slots_free(location_id=order.location_id, start=now, end=now + dt.timedelta(days=14)) \
        if supplier_side and open_notices else []
    actions = {
        "approve": access.is_buyer and order.status == S.DRAFT,
        "send": access.is_buyer and order.status == S.APPROVED,
        "cancel": access.is_buyer and order.status in (S.DRAFT, S.APPROVED, S.SENT, S.CONFIRMED),
        "confirm": supplier_side and order.status in (S.SENT, S.CONFIRMED) and not open_notices,
        "notice": supplier_side and order.status in (S.CONFIRMED, S.PARTIALLY_RECEIVED),
        "receive": access.may_receive_at(order.location_id) and order.status in (S.CONFIRMED, S.PARTIALLY_RECEIVED),
    }
    receipts = list(order.receipts.prefetch_related("lines__sku").order_by("received_at", "id"))
    return page(request, "console/purchasing/detail.html", {
        "o": order, "lines": lines, "notices": notices, "open_notices": open_notices, "slots": slots,
        "actions": actions, "total": psel.order_total(order), "receipts": receipts, "results": QcReport.Result.choices,
    }, nav="purchase_orders")


def _confirm(request, access, order):
    post = request.POST
    lines = [psvc.ConfirmLine(ln.sku_id, _int(post.get(f"qty_{ln.sku_id}"), ln.sku.code, ln.quantity),
                              _date(post.get(f"date_{ln.sku_id}"), ln.sku.code)) for ln in order.lines.all()]
    psvc.purchase_order_confirm(actor=request.user, access=access, number=order.number, lines=lines,
                                note=(post.get("note") or "")[:500])
    return _("Order %(n)s confirmed.")


def _notice(request, access, order):
    post = request.POST
    lines = []
    for ln in order.lines.all():
        qty = _int(post.get(f"asn_qty_{ln.sku_id}"), ln.sku.code, 0)
        if qty:
            lines.append(psvc.NoticeLine(ln.sku_id, qty, (post.get(f"asn_lot_{ln.sku_id}") or "").strip(),
                                         _date(post.get(f"asn_expiry_{ln.sku_id}"), ln.sku.code)))
    notice = psvc.ship_notice_create(actor=request.user, access=access, order_number=order.number, lines=lines,
                                     carrier=(post.get("carrier") or "").strip()[:100])
    return _("Ship notice %(a)s created.").replace("%(a)s", notice.number)


def _book(request, access, order):
    slot = DockSlot.objects.filter(pk=_int(request.POST.get("slot"), "slot"), location_id=order.location_id).first()
    if slot is None:
        raise InvalidInput(_("Choose a free slot."), code="invalid_slot")
    appt = psvc.appointment_book(actor=request.user, access=access, notice_number=request.POST.get("notice", ""),
                                 slot_start=slot.starts_at)
    return _("Delivery slot booked: %(a)s.").replace("%(a)s", appt.number)


def _qc(request, access, order):
    f = request.FILES.get("file")
    if f is None:
        raise InvalidInput(_("Choose a file."), code="empty_file")
    psvc.qc_report_upload(actor=request.user, access=access, notice_number=request.POST.get("notice", ""),
                          content=f.read(), filename=f.name, content_type=f.content_type or "",
                          result=request.POST.get("result") or QcReport.Result.PASS,
                          note=(request.POST.get("note") or "")[:500])
    return _("QC report uploaded.")


def _receive(request, access, order):
    post = request.POST
    lines = []
    for ln in order.lines.all():
        received = _int(post.get(f"rcv_{ln.sku_id}"), ln.sku.code, 0)
        rejected = _int(post.get(f"rej_{ln.sku_id}"), ln.sku.code, 0)
        if received or rejected:
            lines.append(psvc.ReceiveLine(ln.sku_id, received, rejected, (post.get(f"reason_{ln.sku_id}") or "")[:200],
                                          (post.get(f"lot_{ln.sku_id}") or "").strip(),
                                          _date(post.get(f"exp_{ln.sku_id}"), ln.sku.code)))
    notice = (post.get("notice") or "").strip() or None
    receipt = psvc.receipt_create(actor=request.user, access=access, lines=lines,
                                  order_number=None if notice else order.number, notice_number=notice,
                                  close=bool(post.get("close")))
    return _("Receipt %(a)s posted.").replace("%(a)s", receipt.number)


ACTIONS = {
    "approve": lambda r, a, o: (psvc.purchase_order_approve(actor=r.user, access=a, number=o.number),
                                _("Order %(n)s approved."))[1],
    "send": lambda r, a, o: (psvc.purchase_order_send(actor=r.user, access=a, number=o.number),
                             _("Order %(n)s sent to the supplier."))[1],
    "cancel": lambda r, a, o: (psvc.purchase_order_cancel(actor=r.user, access=a, number=o.number,
                                                          reason=(r.POST.get("reason") or "")[:200]),
                               _("Order %(n)s cancelled."))[1],
    "confirm": _confirm, "notice": _notice, "book": _book, "qc": _qc, "receive": _receive,
}


@console_view
@require_POST
def order_action(request: HttpRequest, number: str, action: str) -> HttpResponse:
    access, order = _order_or_404(request, number)
    if action not in ACTIONS:
        raise Http404("no such action")
    try:
        done = ACTIONS[action](request, access, order)
    except MendianError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done.replace("%(n)s", order.number))
    return redirect(reverse("console:purchase_order", args=[order.number]))


@console_view
def lot_recall(request: HttpRequest, code: str) -> HttpResponse:
    access = _access(request)
    if not access.reads_locations:
        raise Http404("no such page")
    traces = psel.lot_trace(access=access, code=code, sku_code=(request.GET.get("sku") or "").strip() or None)
    return page(request, "console/purchasing/lot.html", {"code": code, "traces": traces}, nav="purchase_orders")


urlpatterns = [
    path("purchasing/orders/", order_list, name="purchase_orders"),
    path("purchasing/orders/suggest/", order_suggest, name="purchase_orders_suggest"),
    path("purchasing/orders/<str:number>/", order_detail, name="purchase_order"),
    path("purchasing/orders/<str:number>/<str:action>/", order_action, name="purchase_order_action"),
    path("purchasing/lots/<str:code>/", lot_recall, name="purchase_lot"),
]
