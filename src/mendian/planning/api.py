"""Planning API: forecast runs, forecasts, safety stock with its explanation, external factors, slow movers.

Roles: HQ and buyers (chain-wide), regional directors and store managers (their locations) read and
start forecasts; cashiers may not (403). A location outside the caller's scope is a 404; an unknown
code in a body is a 422 ``unknown_code``. External factors are chain master data: HQ and buyers only.
"""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Field as NField
from ninja import Query, Router, Schema, Status

from mendian.catalog.models import Sku
from mendian.core.errors import InvalidInput, NotFound, PermissionDenied, unknown_code
from mendian.org.models import Location
from mendian.org.scope import Scope, user_scope
from mendian.platform.idempotency import MissingIdempotencyKey, idempotent_create
from mendian.platform.schemas import ErrorOut

from . import selectors, services
from .models import ForecastRun, StockPolicy
from .schemas import (
    FactorImportOut,
    ForecastListOut,
    ForecastRunIn,
    ForecastRunOut,
    SafetyStockListOut,
    SlowMoverListOut,
    iso,
)

router = Router(tags=["planning"])

PLAN_ROLES = ("hq", "buyer", "region", "store_manager")
MASTER_ROLES = ("hq", "buyer")
ERRORS = {400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


def _require(scope: Scope, roles: tuple[str, ...]) -> None:
    if not scope.roles & set(roles) and not scope.is_hq:
        raise PermissionDenied("your role may not use planning", code="forbidden")


def _location(scope: Scope, code: str, *, in_body: bool = False) -> Location:
    loc = Location.objects.filter(code=code).first()
    if loc is None:
        if in_body:
            raise unknown_code("locations", code)
        raise NotFound(f"location {code} not found")
    if not scope.sees(loc.pk):
        raise NotFound(f"location {code} not found")
    return loc


def _sku(code: str, *, in_body: bool = False) -> Sku:
    sku = Sku.objects.filter(code=code).first()
    if sku is None:
        if in_body:
            raise unknown_code("skus", code)
        raise NotFound(f"SKU {code} not found")
    return sku


def run_out(run: ForecastRun) -> dict:
    return {"id": run.pk, "status": run.status, "as_of": run.as_of, "horizon": run.horizon,
            "progress_done": run.progress_done, "progress_total": run.progress_total, "params": run.params,
            "summary": run.summary, "error": run.error, "created_at": iso(run.created_at),
            "started_at": iso(run.started_at), "finished_at": iso(run.finished_at)}


@router.post("/forecast-runs", response={202: ForecastRunOut, **ERRORS}, summary="Start a forecast run")
def forecast_run_start(request: HttpRequest, payload: ForecastRunIn):
    """Queues a run over the given locations and SKUs (default: your scope, every SKU); the worker
    executes it (``planning.forecast_runs`` job) and ``GET /forecast-runs/{id}`` shows progress and the
    accuracy summary. Header `Idempotency-Key` required: a retry returns the same run."""
    key = request.headers.get("Idempotency-Key") or None
    if not key:
        raise MissingIdempotencyKey()
    scope = user_scope(request.user)
    _require(scope, PLAN_ROLES)
    if payload.locations is not None:
        location_ids = [_location(scope, c, in_body=True).pk for c in payload.locations]
    else:
        location_ids = None if scope.chain_wide else sorted(scope.location_ids or [])
    sku_ids = [_sku(c, in_body=True).pk for c in payload.skus] if payload.skus is not None else None

    def create():
        run = services.forecast_run_create(
            user=request.user, location_ids=location_ids, sku_ids=sku_ids, horizon=payload.horizon,
            n_windows=payload.n_windows, history_days=payload.history_days, as_of=payload.as_of,
            drivers=payload.drivers)
        return 202, ForecastRunOut(**run_out(run)).model_dump(mode="json")

    stored = idempotent_create(user_id=request.user.pk, scope="planning.forecast_runs", key=key,
                               payload=payload.model_dump(mode="json"), create=create)
    return Status(stored.status, stored.body)


def _run_visible(scope: Scope, run: ForecastRun) -> bool:
    if scope.chain_wide:
        return True
    ids = run.params.get("location_ids")
    return ids is not None and all(scope.sees(i) for i in ids)


@router.get("/forecast-runs/{run_id}", response={200: ForecastRunOut, **ERRORS}, summary="A forecast run")
def forecast_run_get(request: HttpRequest, run_id: int):
    scope = user_scope(request.user)
    _require(scope, PLAN_ROLES)
    run = ForecastRun.objects.filter(pk=run_id).first()
    if run is None or not _run_visible(scope, run):
        raise NotFound(f"forecast run {run_id} not found")
    return run_out(run)


class PairFilters(Schema):
    location: str | None = None
    sku: str | None = None
    limit: int = NField(50, ge=1, le=500)
    offset: int = NField(0, ge=0)


def _pair_scope(scope: Scope, f: PairFilters) -> tuple[list[int] | None, int | None]:
    if f.location:
        loc_ids: list[int] | None = [_location(scope, f.location).pk]
    elif scope.chain_wide:
        loc_ids = None
    else:
        loc_ids = sorted(scope.location_ids or [])
    sku_id = _sku(f.sku).pk if f.sku else None
    return loc_ids, sku_id


@router.get("/forecasts", response={200: ForecastListOut, **ERRORS}, summary="Latest forecasts with class, model, accuracy")
def forecast_list(request: HttpRequest, filters: Query[PairFilters]):
    scope = user_scope(request.user)
    _require(scope, PLAN_ROLES)
    loc_ids, sku_id = _pair_scope(scope, filters)
    qs = selectors.latest_series_forecasts(location_ids=loc_ids, sku_id=sku_id)
    count = qs.count()
    items = []
    for f in qs[filters.offset:filters.offset + filters.limit]:
        d = f.detail or {}
        items.append({
            "location": f.location.code, "sku": f.sku.code, "run": f.run_id, "start": f.start,
            "demand_class": f.demand_class, "adi": f.adi, "cv2": f.cv2, "abc": f.abc, "xyz": f.xyz, "model": f.model,
            "metrics": {"mase": f.mase, "wape": f.wape, "bias": f.bias},
            "seasonal_naive": {"mase": f.snaive_mase, "wape": f.snaive_wape, "bias": f.snaive_bias},
            "sigma": f.sigma, "mean_daily": f.mean_daily, "history_days": f.history_days,
            "censored_days": f.censored_days, "forecast": f.forecast, "candidates": d.get("candidates", {}),
            "drivers": d.get("drivers", {}), "note": d.get("note", "")})
    return {"items": items, "count": count}


@router.get("/safety-stock", response={200: SafetyStockListOut, **ERRORS},
            summary="Safety stock, reorder point and order-up-to level, each with its explanation")
def safety_stock_list(request: HttpRequest, filters: Query[PairFilters]):
    scope = user_scope(request.user)
    _require(scope, PLAN_ROLES)
    loc_ids, sku_id = _pair_scope(scope, filters)
    qs = StockPolicy.objects.select_related("location", "sku").order_by("location__code", "sku__code")
    if loc_ids is not None:
        qs = qs.filter(location_id__in=loc_ids)
    if sku_id is not None:
        qs = qs.filter(sku_id=sku_id)
    count = qs.count()
    items = [{"location": p.location.code, "sku": p.sku.code, "abc": p.abc, "service_level": p.service_level,
              "safety_stock": p.safety_stock, "reorder_point": p.reorder_point, "order_up_to": p.order_up_to,
              "run": p.run_id, "computed_at": iso(p.computed_at), "explanation": p.explanation}
             for p in qs[filters.offset:filters.offset + filters.limit]]
    return {"items": items, "count": count}


@router.post("/external-factors/import", response={200: FactorImportOut, **ERRORS},
             summary="Import daily external factors (CSV: date,name,value[,city])")
def external_factors_import(request: HttpRequest):
    """The body is the CSV itself (`Content-Type: text/csv`) or a multipart upload with a `file` field.
    Rows replace earlier values for the same (name, city, date); any bad row refuses the whole file
    (422 with the first errors by line). A city-less row is a chain-wide factor."""
    scope = user_scope(request.user)
    if not scope.chain_wide or not (scope.roles & set(MASTER_ROLES) or scope.is_hq):
        raise PermissionDenied("only HQ and buyers import external factors", code="forbidden")
    upload = request.FILES.get("file") if request.content_type and request.content_type.startswith("multipart/") else None
    data = upload.read() if upload is not None else request.body
    if not data:
        raise InvalidInput("send the CSV as the body (text/csv) or as a multipart `file`", code="invalid_csv")
    try:
        result = services.external_factors_import(source=data, actor=request.user)
    except UnicodeDecodeError as e:
        raise InvalidInput("the CSV must be UTF-8", code="invalid_csv") from e
    return {"rows": result.rows, "names": result.names, "first_day": result.first_day, "last_day": result.last_day}


class SlowMoverFilters(Schema):
    location: str


@router.get("/slow-movers", response={200: SlowMoverListOut, **ERRORS},
            summary="Slow movers and overstock at a location: markdown proposal and transfer-out candidates")
def slow_mover_list(request: HttpRequest, filters: Query[SlowMoverFilters]):
    scope = user_scope(request.user)
    _require(scope, PLAN_ROLES)
    loc = _location(scope, filters.location)
    as_of, items = selectors.slow_movers(loc.pk)
    return {"location": loc.code, "as_of": as_of, "items": items, "count": len(items)}


class MarkdownDraftIn(Schema):
    skus: list[str] | None = None


@router.post("/slow-movers/{location}/draft-promotion", response={201: dict, **ERRORS},
             summary="Draft markdown promotions for a location's slow movers (never activated automatically)")
def slow_mover_draft_promotion(request: HttpRequest, location: str, payload: MarkdownDraftIn | None = None):
    """HQ and buyers: one draft special-price promotion per markdown level, scoped to the store and its
    SKUs, valid 14 days; 422 ``nothing_to_mark_down`` when no SKU qualifies. `Idempotency-Key` optional."""
    from .markdowns import markdown_promotion_draft

    scope = user_scope(request.user)
    loc = _location(scope, location)
    _require(scope, MASTER_ROLES)
    body = payload.model_dump(mode="json") if payload else {"skus": None}

    def create():
        promos = markdown_promotion_draft(actor=request.user, location_code=loc.code, sku_codes=body["skus"])
        items = [{"code": p.code, "name": p.name, "status": p.status, "kind": p.kind, "condition": p.condition,
                  "benefit": p.benefit, "starts_at": iso(p.starts_at), "ends_at": iso(p.ends_at)} for p in promos]
        return 201, {"location": loc.code, "items": items, "count": len(items)}

    stored = idempotent_create(user_id=request.user.pk, scope=f"planning.markdown_draft.{loc.code}",
                               key=request.headers.get("Idempotency-Key") or None, payload=body, create=create,
                               required=False)
    return Status(stored.status, stored.body)
