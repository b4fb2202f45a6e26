"""Members periodic jobs (autodiscovered by the worker and Celery beat)."""

from __future__ import annotations

from datetime import timedelta

from mendian.platform.jobs import periodic

from . import services


@periodic("members.tiers_review", every=timedelta(hours=1))
def tiers_review() -> int:
    """Downgrades (and late upgrades) on each member's yearly review date."""
    return services.tiers_review()


@periodic("members.points_expire", every=timedelta(hours=1))
def points_expire() -> int:
    """Expire points lots past the end of the year after they were earned."""
    return services.points_expire()


@periodic("members.coupon_batches", every=timedelta(seconds=10))
def coupon_batches() -> int:
    """Advance large HQ coupon batches chunk by chunk (progress on the batch)."""
    return services.coupon_batches_run()


@periodic("members.birthday_coupons", every=timedelta(hours=6))
def birthday_coupons() -> int:
    """Birthday coupons of the day (idempotent per member and year, so running it often is safe)."""
    return services.coupons_birthday()


@periodic("members.points_ledger_check", every=timedelta(hours=24))
def points_ledger_check() -> int:
    """Reconciliation backstop: log every member whose balance differs from the ledger."""
    import logging

    from .selectors import points_ledger_check as check

    problems = check()
    for p in problems:
        logging.getLogger(__name__).error("points ledger mismatch: %s", p)
    return len(problems)
