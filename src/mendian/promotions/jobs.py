"""Promotions periodic jobs (autodiscovered by the worker and Celery beat)."""

from __future__ import annotations

from datetime import timedelta

from mendian.platform.jobs import periodic

from .effect import promotions_effect_watch


@periodic("promotions.effect_watch", every=timedelta(hours=1))
def effect_watch() -> int:
    """Pause active promotions whose discount cost per incremental sale passed the merchant's threshold."""
    return len(promotions_effect_watch())
