"""Slow movers → draft markdown promotions (issue 4).

Takes a location's current slow-mover proposals (``selectors.slow_movers``, the same read as
``GET /slow-movers``) and creates, through ``promotions.services.promotion_create`` (validated and
audited there), one draft special-price promotion per markdown level (the engine holds one rate per
rule), scoped to the store and its SKUs, valid for 14 days. Nothing is activated: a buyer reviews the
draft and activates it through the promotions API.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from mendian.core.errors import InvalidInput
from mendian.org.models import Location
from mendian.promotions.models import Promotion
from mendian.promotions.services import promotion_create

from . import selectors

VALID_DAYS = 14


def _free_code(base: str) -> str:
    code, n = base, 1
    while Promotion.objects.filter(code=code).exists():
        n += 1
        code = f"{base}-{n}"
    return code


@transaction.atomic
def markdown_promotion_draft(*, actor: Any, location_code: str, sku_codes: list[str] | None = None,
                             now: dt.datetime | None = None) -> list[Promotion]:
    """Draft promotions for the location's slow movers (optionally only ``sku_codes``); 422 when none."""
    loc = Location.objects.get(code=location_code)
    now = now or timezone.now()
    _, items = selectors.slow_movers(loc.pk)
    wanted = set(sku_codes) if sku_codes is not None else None
    levels: dict[Decimal, list[str]] = {}
    for it in items:
        pct = Decimal(it["markdown_pct"])
        if pct <= 0 or (wanted is not None and it["sku"] not in wanted):
            continue
        levels.setdefault(pct, []).append(it["sku"])
    if not levels:
        raise InvalidInput(f"no slow mover to mark down at {loc.code}", code="nothing_to_mark_down",
                           details={"location": loc.code, "skus": sorted(wanted) if wanted is not None else None})
    day = timezone.localdate(now)
    out = []
    for pct in sorted(levels, reverse=True):
        skus = sorted(levels[pct])
        off = int(pct * 100)
        code = _free_code(f"MD-{loc.code}-{day:%Y%m%d}-{off}")
        name = f"滞销清货 {loc.code} {day.isoformat()}" + (f" -{off}%" if len(levels) > 1 else "")
        out.append(promotion_create(
            actor=actor, code=code, name=name, kind=Promotion.KindChoice.SPECIAL_PRICE.value,
            condition={"stores": [loc.code], "scope": {"skus": skus}},
            benefit={"rate": str(Decimal(1) - pct)}, starts_at=now, ends_at=now + dt.timedelta(days=VALID_DAYS)))
    return out
