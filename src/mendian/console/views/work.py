"""Pages for the daily work: locations and stock, the ledger of one SKU, orders, POS sale, pickup
verification, shifts, stock counts and jobs. Writes go through the owning app's services."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F, Q, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mendian.catalog.models import Barcode, Sku
from mendian.core.errors import MendianError
from mendian.inventory.models import CountTask, StockCount, StockLevel, StockMovement
from mendian.org.models import Location
from mendian.platform.models import Job
from mendian.sales import selectors as sales_selectors
from mendian.sales import services as sales_services
from mendian.sales.domain import LineRequest, TenderRequest
from mendian.sales.models import Order, Shift, TenderMethod

from ..access import console_view, location_or_404, visible_locations
from ..render import page


def _page_of(request: HttpRequest, qs, per: int = 50):
    return Paginator(qs, per).get_page(request.GET.get("page") or 1)


def _store_for(request: HttpRequest) -> Location | None:
    """The store a store page works on: ``?store=`` (in scope, else 404) or the user's own."""
    code = request.GET.get("store") or request.POST.get("store")
    if code:
        return location_or_404(request, code)
    p = request.persona
    if p.home_store is not None:
        return p.home_store
    return visible_locations(request, kind=Location.Kind.STORE).first()


# --- locations and stock ----------------------------------------------------------------------------

@console_view
def locations(request: HttpRequest) -> HttpResponse:
    qs = visible_locations(request)
    sku = None
    stock_by_loc: dict[int, dict] = {}
    if request.GET.get("sku"):
        sku = Sku.objects.filter(code=request.GET["sku"]).first()
        if sku is None:
            raise Http404("no such SKU")
        rows = (StockLevel.objects.filter(sku=sku, location__in=qs).values("location_id")
                .annotate(oh=Sum("on_hand"), rs=Sum("reserved")))
        stock_by_loc = {r["location_id"]: {"on_hand": r["oh"], "reserved": r["rs"], "available": r["oh"] - r["rs"]}
                        for r in rows}
    items = [(loc, stock_by_loc.get(loc.pk)) for loc in qs]
    return page(request, "console/work/locations.html", {"items": items, "sku": sku}, nav="locations")


@console_view
def location_stock(request: HttpRequest, code: str) -> HttpResponse:
    loc = location_or_404(request, code)
    q = (request.GET.get("q") or "").strip()
    qs = (StockLevel.objects.filter(location=loc).values("sku_id", "sku__code", "sku__name", "sku__unit")
          .annotate(oh=Sum("on_hand"), rs=Sum("reserved"), av=Sum(F("on_hand") - F("reserved")))
          .order_by("sku__code"))
    if q:
        qs = qs.filter(Q(sku__code__icontains=q) | Q(sku__name__icontains=q))
    if request.GET.get("short"):
        qs = qs.filter(av__lte=0)
    return page(request, "console/work/location_stock.html", {"loc": loc, "page_obj": _page_of(request, qs), "q": q},
                nav="locations")


@console_view
def stock_ledger(request: HttpRequest, code: str, sku: str) -> HttpResponse:
    loc = location_or_404(request, code)
    item = Sku.objects.filter(code=sku).first()
    if item is None:
        raise Http404("no such SKU")
    levels = list(StockLevel.objects.filter(location=loc, sku=item).select_related("lot").order_by("lot__expiry", "id"))
    moves = StockMovement.objects.filter(location=loc, sku=item).select_related("lot", "user").order_by("-created_at", "-id")
    return page(request, "console/work/ledger.html", {
        "loc": loc, "sku": item, "levels": levels, "page_obj": _page_of(request, moves),
        "totals": {"on_hand": sum(lv.on_hand for lv in levels), "reserved": sum(lv.reserved for lv in levels)},
    }, nav="locations")


# --- orders -----------------------------------------------------------------------------------------

@console_view
def orders(request: HttpRequest) -> HttpResponse:
    scope = request.persona.scope
    store = location_or_404(request, request.GET["store"]) if request.GET.get("store") else None
    status = request.GET.get("status") or None
    channel = request.GET.get("channel") or None
    page_no = max(int(request.GET.get("page") or 1) if (request.GET.get("page") or "1").isdigit() else 1, 1)
    results, count = sales_selectors.order_list(scope=scope, store_id=store.pk if store else None, status=status,
                                                channel=channel, limit=50, offset=(page_no - 1) * 50)
    from mendian.sales.models import Channel, OrderStatus

    return page(request, "console/work/orders.html", {
        "results": results, "count": count, "store": store, "status": status or "", "channel": channel or "",
        "statuses": OrderStatus.choices, "channels": Channel.choices, "page_no": page_no,
        "has_next": page_no * 50 < count, "stores": visible_locations(request, kind=Location.Kind.STORE),
    }, nav="orders")


@console_view
def order_detail(request: HttpRequest, number: str) -> HttpResponse:
    ref = sales_selectors.order_ref(number=number)
    if ref is None or not request.persona.scope.sees(ref[1]):
        raise Http404("no such order")
    result = sales_selectors.order_detail(order_id=ref[0])
    return page(request, "console/work/order.html", {"r": result, "o": result.order}, nav="orders")


# --- POS --------------------------------------------------------------------------------------------

CART_KEY = "mendian_pos_cart"


def _cart(request: HttpRequest, store: Location) -> dict[str, int]:
    carts = request.session.get(CART_KEY) or {}
    return {k: int(v) for k, v in (carts.get(store.code) or {}).items()}


def _save_cart(request: HttpRequest, store: Location, cart: dict[str, int]) -> None:
    carts = request.session.get(CART_KEY) or {}
    carts[store.code] = cart
    request.session[CART_KEY] = carts


def _cart_lines(store: Location, cart: dict[str, int]) -> tuple[list[dict], Decimal]:
    from django.utils import timezone

    from mendian.catalog.pricing import price_lookup

    if not cart:
        return [], Decimal("0.00")
    prices = price_lookup(location_id=store.pk, sku_codes=list(cart), at=timezone.now())
    lines, total = [], Decimal("0.00")
    for code, qty in cart.items():
        p = prices.get(code)
        if p is None:
            continue
        unit = Decimal(p.price)
        amount = (unit * qty / (p.price_unit_qty or 1)).quantize(Decimal("0.01"))
        total += amount
        lines.append({"sku": code, "name": getattr(p, "name", code), "quantity": qty, "unit_price": unit,
                      "amount": amount})
    return lines, total


def _can_sell(request: HttpRequest, store: Location) -> bool:
    return request.persona.scope.has_role("hq", "region", "store_manager", "cashier", location_id=store.pk)


CUSTOMER_KEY = "mendian_pos_customer"


def _customer(request: HttpRequest, store: Location) -> dict:
    """The member, wallet coupons and points the cashier set for this store's current sale."""
    got = (request.session.get(CUSTOMER_KEY) or {}).get(store.code) or {}
    return {"member": str(got.get("member") or ""), "coupons": [str(c) for c in got.get("coupons") or []],
            "points": int(got.get("points") or 0)}


def _save_customer(request: HttpRequest, store: Location, customer: dict | None) -> None:
    all_ = request.session.get(CUSTOMER_KEY) or {}
    if customer:
        all_[store.code] = customer
    else:
        all_.pop(store.code, None)
    request.session[CUSTOMER_KEY] = all_


def _member_code(request: HttpRequest, text: str) -> str | None:
    """A member code from what the cashier typed: the member code or the mobile number (a lookup by
    mobile is recorded, as on the members page)."""
    from django.db import transaction

    from mendian.members import selectors as msel
    from mendian.members import services as msvc

    text = (text or "").strip()
    if not text:
        return None
    m = msel.member_get(code=text.upper())
    if m is None:
        try:
            with transaction.atomic():
                m = msel.member_by_mobile(mobile=text)
                msvc.member_lookup_record(actor=request.user, mobile=text, found=m.code if m else None)
        except MendianError:
            m = None
    return m.code if m is not None else None


def _priced(store: Location, ctx, cart: dict[str, int], customer: dict) -> tuple[dict | None, str]:
    """The engine's price of the cart for the customer (what the sale will charge), or an error."""
    from mendian.sales.schemas import cart_out

    if not cart or ctx is None:
        return None, ""
    try:
        pricing, lines = sales_services.cart_price(
            ctx=ctx, channel="pos", lines=[LineRequest(sku=c, quantity=q) for c, q in cart.items()],
            member=customer["member"], coupons=customer["coupons"], points=customer["points"])
    except MendianError as exc:
        return None, exc.message
    return cart_out(store=store.code, channel="pos", lines=lines, pricing=pricing), ""


def _pos_context(request: HttpRequest, store: Location, **extra) -> dict:
    from mendian.members.models import Member
    from mendian.members.selectors import shown_mobile, wallet_coupons_for_pricing

    ctx = sales_selectors.sale_context_get(store_code=store.code, user_id=request.user.pk)
    cart = _cart(request, store)
    lines, total = _cart_lines(store, cart)
    customer = _customer(request, store)
    priced, price_error = _priced(store, ctx, cart, customer)
    member = wallet = None
    if customer["member"]:
        member = Member.objects.select_related("tier", "store").filter(code=customer["member"]).first()
        if member is not None:
            member.shown_mobile = shown_mobile(member.mobile, can_view_pii=request.persona.scope.can_view_pii)
            wallet = wallet_coupons_for_pricing(member=member, store=store.code, channel="pos")
    names = {ln["sku"]: ln["name"] for ln in lines}
    # one shape for the table: the engine's lines when it priced the cart, else the list-price lines
    rows = priced["lines"] if priced is not None else [
        {**ln, "discount": "0.00", "gift_of": None} for ln in lines]
    for ln in rows:
        ln["name"] = names.get(ln["sku"], ln["sku"])
    return {"store": store, "shift_id": ctx.open_shift_id if ctx else None, "lines": lines, "rows": rows, "total": total,
            "priced": priced, "price_error": price_error, "customer": customer, "member": member,
            "wallet": wallet or [], "methods": TenderMethod.choices,
            "stores": visible_locations(request, kind=Location.Kind.STORE), **extra}


def _resolve_sku(code: str) -> str | None:
    code = (code or "").strip()
    if not code:
        return None
    if Sku.objects.filter(code=code).exists():
        return code
    bc = Barcode.objects.filter(code=code).select_related("sku").first()
    return bc.sku.code if bc else None


@console_view
def pos(request: HttpRequest) -> HttpResponse:
    store = _store_for(request)
    if store is None:
        return page(request, "console/empty.html", {"message": _("No store in your scope.")}, nav="pos")
    if request.method == "POST":
        if not _can_sell(request, store):
            raise Http404("no such store")
        action = request.POST.get("action")
        cart = _cart(request, store)
        error = ""
        if action == "add":
            code = _resolve_sku(request.POST.get("code", ""))
            try:
                qty = int(request.POST.get("quantity") or 1)
            except ValueError:
                qty = 0
            if code is None:
                error = _("Unknown SKU or barcode.")
            elif qty <= 0 or qty > 100000:
                error = _("Quantity must be a whole number above zero.")
            else:
                cart[code] = cart.get(code, 0) + qty
        elif action == "remove":
            cart.pop(request.POST.get("code", ""), None)
        elif action == "clear":
            cart = {}
            _save_customer(request, store, None)
        elif action == "customer":
            error = _set_customer(request, store)
        elif action == "no_customer":
            _save_customer(request, store, None)
        _save_cart(request, store, cart)
        tmpl = "console/partials/pos_cart.html" if request.headers.get("HX-Request") else "console/work/pos.html"
        return page(request, tmpl, _pos_context(request, store, error=error), nav="pos")
    return page(request, "console/work/pos.html", _pos_context(request, store), nav="pos")


def _set_customer(request: HttpRequest, store: Location) -> str:
    """Take the member (code or mobile), the ticked wallet coupons and the points to redeem; an
    error message for the cashier, or ""."""
    typed = request.POST.get("member", "")
    code = _member_code(request, typed)
    if code is None:
        return _("No member with code or mobile %(text)s.") % {"text": typed.strip() or "-"}
    try:
        points = int(request.POST.get("points") or 0)
    except ValueError:
        points = -1
    if points < 0:
        return _("Points must be a whole number, zero or more.")
    keep = code == _customer(request, store)["member"]
    coupons = [c for c in request.POST.getlist("coupons") if c] if keep else []
    _save_customer(request, store, {"member": code, "coupons": coupons, "points": points if keep else 0})
    return ""


@require_POST
@console_view
def pos_checkout(request: HttpRequest) -> HttpResponse:
    store = _store_for(request)
    if store is None or not _can_sell(request, store):
        raise Http404("no such store")
    cart = _cart(request, store)
    ctx = sales_selectors.sale_context_get(store_code=store.code, user_id=request.user.pk)
    method = request.POST.get("method") or "cash"
    try:
        amount = Decimal(request.POST.get("amount") or "0")
    except InvalidOperation:
        amount = Decimal("-1")
    error = ""
    result = None
    if not cart:
        error = _("The cart is empty.")
    else:
        customer = _customer(request, store)
        priced, error = _priced(store, ctx, cart, customer)
        if not error:
            due = Decimal(priced["payable"]) if priced is not None else _cart_lines(store, cart)[1]
            if method != "cash" or amount <= 0:
                amount = due
            try:
                result = sales_services.order_create(
                    actor=request.user, ctx=ctx, channel="pos", fulfilment="in_store",
                    lines=[LineRequest(sku=c, quantity=q) for c, q in cart.items()],
                    tenders=[TenderRequest(method=method, amount=amount, reference=request.POST.get("reference", ""))],
                    member=customer["member"], coupons=customer["coupons"], points=customer["points"])
            except MendianError as exc:
                error = exc.message
    if result is not None:
        _save_cart(request, store, {})
        _save_customer(request, store, None)
        messages.success(request, _("Sale %(number)s: total ¥%(total)s, change ¥%(change)s") % {
            "number": result.order.number, "total": result.order.total, "change": result.order.change})
        return redirect(reverse("console:order", args=[result.order.number]))
    return page(request, "console/work/pos.html", _pos_context(request, store, error=error), nav="pos", status=409)


@console_view
def pickups(request: HttpRequest) -> HttpResponse:
    store = _store_for(request)
    if store is None:
        return page(request, "console/empty.html", {"message": _("No store in your scope.")}, nav="pickups")
    done = error = None
    if request.method == "POST":
        if not _can_sell(request, store):
            raise Http404("no such store")
        try:
            result = sales_services.pickup_verify(actor=request.user, store_id=store.pk, code=request.POST.get("code", ""))
        except MendianError as exc:
            error = exc.message
        else:
            done = result.order
    pending = Order.objects.filter(store=store, fulfilment="pickup", status="paid").order_by("created_at")[:100]
    return page(request, "console/work/pickups.html", {"store": store, "done": done, "error": error,
                                                        "pending": pending,
                                                        "stores": visible_locations(request, kind=Location.Kind.STORE)},
                nav="pickups", status=409 if error else 200)


# --- shifts -----------------------------------------------------------------------------------------

@console_view
def shifts(request: HttpRequest) -> HttpResponse:
    store = _store_for(request)
    if store is None:
        return page(request, "console/empty.html", {"message": _("No store in your scope.")}, nav="shifts")
    error = ""
    if request.method == "POST":
        if not _can_sell(request, store):
            raise Http404("no such store")
        try:
            if request.POST.get("action") == "open":
                sales_services.shift_open(actor=request.user, store_id=store.pk, store_kind=store.kind,
                                          opening_float=Decimal(request.POST.get("opening_float") or "0"))
                messages.success(request, _("Shift opened."))
            else:
                shift = Shift.objects.filter(pk=request.POST.get("shift") or 0, store=store).first()
                if shift is None:
                    raise Http404("no such shift")
                may = request.persona.scope.has_role("hq", "region", "store_manager", location_id=store.pk)
                closed = sales_services.shift_close(actor=request.user, shift_id=shift.pk,
                                                    counted_cash=Decimal(request.POST.get("counted_cash") or "0"),
                                                    may_close_others=may)
                messages.success(request, _("Shift closed; variance ¥%(v)s.") % {"v": closed.variance})
            return redirect(reverse("console:shifts") + f"?store={store.code}")
        except (MendianError, InvalidOperation) as exc:
            error = getattr(exc, "message", str(exc))
    items, count = sales_selectors.shift_list(scope=request.persona.scope, store_id=store.pk, limit=50)
    mine = Shift.objects.filter(store=store, user=request.user, status="open").first()
    return page(request, "console/work/shifts.html", {"store": store, "items": items, "count": count, "mine": mine,
                                                       "error": error,
                                                       "stores": visible_locations(request, kind=Location.Kind.STORE)},
                nav="shifts")


# --- stock counts -----------------------------------------------------------------------------------

@console_view
def counts(request: HttpRequest) -> HttpResponse:
    store = _store_for(request)
    if store is None:
        return page(request, "console/empty.html", {"message": _("No store in your scope.")}, nav="counts")
    error = ""
    if request.method == "POST":
        if not request.persona.scope.has_role("hq", "region", "store_manager", location_id=store.pk):
            raise Http404("no such store")
        error = _count_submit(request, store)
        if not error:
            return redirect(reverse("console:counts") + f"?store={store.code}")
    tasks = CountTask.objects.filter(location=store, status="open").select_related("sku").order_by("created_at")[:200]
    recent = StockCount.objects.filter(location=store).order_by("-created_at")[:20]
    return page(request, "console/work/counts.html", {"store": store, "tasks": tasks, "recent": recent, "error": error,
                                                       "stores": visible_locations(request, kind=Location.Kind.STORE)},
                nav="counts")


def _count_submit(request: HttpRequest, store: Location) -> str:
    """Lines ``SKU,counted`` one per line → ``inventory.services.stock_count_record``."""
    from mendian.inventory.services import stock_count_record

    lines = []
    for n, raw in enumerate((request.POST.get("lines") or "").splitlines(), start=1):
        raw = raw.strip()
        if not raw:
            continue
        parts = [p.strip() for p in raw.replace("\t", ",").split(",")]
        code = _resolve_sku(parts[0])
        if code is None or len(parts) < 2 or not parts[1].isdigit():
            return _("Line %(n)s: write SKU code or barcode, then the counted quantity.") % {"n": n}
        lines.append((Sku.objects.filter(code=code).values_list("pk", flat=True).get(), int(parts[1])))
    if not lines:
        return _("Write at least one line.")
    try:
        count = stock_count_record(location_id=store.pk, lines=lines, user=request.user,
                                   note=request.POST.get("note", "")[:200])
    except MendianError as exc:
        return exc.message
    messages.success(request, _("Count %(number)s recorded.") % {"number": count.number})
    return ""


# --- jobs -------------------------------------------------------------------------------------------

def _jobs_qs(request: HttpRequest):
    qs = Job.objects.order_by("-created_at", "-id")
    if not request.persona.scope.chain_wide:
        qs = qs.filter(created_by=request.user)
    return qs


@console_view
def jobs(request: HttpRequest) -> HttpResponse:
    items = list(_jobs_qs(request)[:50])
    tmpl = "console/partials/jobs.html" if request.headers.get("HX-Request") else "console/work/jobs.html"
    running = any(j.status in ("queued", "running") for j in items)
    return page(request, tmpl, {"items": items, "running": running}, nav="jobs")


@require_POST
@console_view
def rollups_rebuild_start(request: HttpRequest) -> HttpResponse:
    if not request.persona.scope.is_hq:
        raise Http404("not found")
    Job.objects.create(kind="analytics.rollups_rebuild", created_by=request.user, params={})
    messages.success(request, _("Rebuild queued; the worker runs it."))
    return redirect("console:jobs")
