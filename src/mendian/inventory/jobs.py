"""Periodic jobs of the stock ledger, run by ``mendian worker`` (or Celery beat)."""

from __future__ import annotations

import datetime as dt
import logging

from mendian.platform.jobs import periodic

from .services import stock_ledger_report

log = logging.getLogger(__name__)


@periodic("inventory.ledger_check", every=dt.timedelta(hours=6))
def ledger_check() -> int:
    """The reconciliation backstop: every balance against the sums of its movements (what
    ``mendian check-stock`` proves on demand); differences are logged as errors. Returns their number."""
    report = stock_ledger_report()
    for p in report.problems[:100]:
        log.error("stock ledger: %s", p.describe())
    if report.problems:
        log.error("stock ledger: %d of %d balances differ from their movements", len(report.problems), report.levels)
    return len(report.problems)
