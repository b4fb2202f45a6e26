"""Read use-cases of sales. Lists are scoped: a store outside the user's scope is never shown."""

from __future__ import annotations

from django.db.models import BooleanField, F, IntegerField, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from mendian.org.models import ChainSettings, Location
from mendian.org.scope import Scope

from .models import Order, OrderLine, Refund, Shift, Tender
from .services import OrderResult, SaleContext


def sale_context_get(*, store_code: str, user_id: int | None) -> SaleContext | None:
    """The store, the user's open shift there and the chain's sale settings, in one query."""
    shift = Shift.objects.filter(store_id=OuterRef("pk"), user_id=user_id, status=Shift.Status.OPEN).values("pk")[:1]
    settings = ChainSettings.objects.filter(pk=1)
    row = (
        Location.objects.filter(code=store_code)
        .annotate(
            open_shift_id=Subquery(shift, output_field=IntegerField()),
            refuse_negative=Coalesce(Subquery(settings.values("pos_refuses_negative_stock")[:1],
                                              output_field=BooleanField()), Value(False)),
            unpaid_minutes=Coalesce(Subquery(settings.values("unpaid_order_minutes")[:1],
                                             output_field=IntegerField()), Value(30)),
        )
        .values_list("pk", "code", "kind", "open_shift_id", "refuse_negative", "unpaid_minutes")
        .first()
    )
    if row is None:
        return None
    pk, code, kind, shift_id, refuse, minutes = row
    return SaleContext(store_id=pk, store_code=code, store_kind=kind, open_shift_id=shift_id,
                       refuse_negative=bool(refuse), unpaid_minutes=int(minutes))


def location_ref(code: str) -> tuple[int, str] | None:
    """(id, kind) of the location with this code."""
    return Location.objects.filter(code=code).values_list("pk", "kind").first()


def _with_details(qs: QuerySet) -> QuerySet:
    return qs.select_related("store").prefetch_related(
        Prefetch("lines", queryset=OrderLine.objects.annotate(sku_code=F("sku__code")).order_by("line_no")),
        Prefetch("tenders", queryset=Tender.objects.order_by("id")),
        Prefetch("refunds", queryset=Refund.objects.order_by("id")),
    )


def _result(order: Order) -> OrderResult:
    return OrderResult(order=order, store_code=order.store.code, lines=list(order.lines.all()),
                       tenders=list(order.tenders.all()), refunds=list(order.refunds.all()))


def order_ref(*, number: str) -> tuple[int, int] | None:
    """(order id, store id) for a number."""
    return Order.objects.filter(number=number).values_list("pk", "store_id").first()


def order_detail(*, order_id: int) -> OrderResult:
    return _result(_with_details(Order.objects.filter(pk=order_id)).get())


def order_list(*, scope: Scope, store_id: int | None = None, status: str | None = None, channel: str | None = None,
               limit: int = 50, offset: int = 0) -> tuple[list[OrderResult], int]:
    qs = scope.filter_locations(Order.objects.all(), "store")
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    if status:
        qs = qs.filter(status=status)
    if channel:
        qs = qs.filter(channel=channel)
    count = qs.count()
    page = _with_details(qs.order_by("-created_at", "-id"))[offset:offset + limit]
    return [_result(o) for o in page], count


def shift_list(*, scope: Scope, store_id: int | None = None, status: str | None = None, limit: int = 50,
               offset: int = 0) -> tuple[list[Shift], int]:
    qs = scope.filter_locations(Shift.objects.all(), "store")
    if store_id is not None:
        qs = qs.filter(store_id=store_id)
    if status:
        qs = qs.filter(status=status)
    count = qs.count()
    return list(qs.select_related("store", "user").order_by("-opened_at", "-id")[offset:offset + limit]), count


def shift_get(*, shift_id: int) -> Shift | None:
    return Shift.objects.select_related("store", "user").filter(pk=shift_id).first()
