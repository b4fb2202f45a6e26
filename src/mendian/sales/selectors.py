"""Read use-cases of sales. Lists are scoped: a store outside the user's scope is never shown."""

from __future__ import annotations

from django.db import connection
from django.db.models import F, Prefetch, QuerySet
from django.utils import timezone

from mendian.org.models import ChainSettings, Location
from mendian.org.scope import Scope
from mendian.promotions.models import Promotion

from .models import Order, OrderLine, Refund, Shift, Tender
from .services import OrderResult, SaleContext

_SALE_CONTEXT_SQL = """
SELECT l.id, l.code, l.kind, l.region_id,
  (SELECT s.id FROM {shift} s WHERE s.store_id = l.id AND s.user_id = %s AND s.status = 'open' LIMIT 1),
  (SELECT c.pos_refuses_negative_stock FROM {settings} c WHERE c.id = 1),
  (SELECT c.unpaid_order_minutes FROM {settings} c WHERE c.id = 1),
  EXISTS(SELECT 1 FROM {promotion} p WHERE p.status = 'active' AND (p.ends_at IS NULL OR p.ends_at > %s))
FROM {location} l WHERE l.code = %s
"""


def sale_context_get(*, store_code: str, user_id: int | None) -> SaleContext | None:
    """The store, the user's open shift there, the chain's sale settings and whether any promotion
    is active (else a cart without a member skips the promotions engine), in one query.

    Constant SQL text (prepared once per connection on PostgreSQL): it runs on every checkout, and
    composing it with the ORM cost more than running it. Missing settings mean the defaults."""
    qn = connection.ops.quote_name
    sql = _SALE_CONTEXT_SQL.format(shift=qn(Shift._meta.db_table), settings=qn(ChainSettings._meta.db_table),
                                   location=qn(Location._meta.db_table), promotion=qn(Promotion._meta.db_table))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cur:
        cur.execute(sql, [user_id, now, store_code])
        row = cur.fetchone()
    if row is None:
        return None
    pk, code, kind, region_id, shift_id, refuse, minutes, promotions = row
    return SaleContext(store_id=pk, store_code=code, store_kind=kind, region_id=region_id, open_shift_id=shift_id,
                       refuse_negative=bool(refuse), unpaid_minutes=30 if minutes is None else int(minutes),
                       promotions_active=bool(promotions))


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
