"""The number of SQL statements of a 5-line POS checkout through the API: bearer token, scope,
idempotency record, prices, order number, stock, order/lines/tenders, audit, outbox, commit.

Measured: PostgreSQL 14, SQLite 16. The statements:
 1 user from the access token            platform.auth
 2 role assignments                      org.scope
 3 store + open shift + chain settings   sales.selectors.sale_context_get
   + "is any promotion active?" (EXISTS)  (none, no member: the promotions engine is skipped)
 4 BEGIN / SAVEPOINT                     platform.idempotency
 5 claim the Idempotency-Key             platform.idempotency
 6 SKUs with their store prices          catalog.pricing
 7 order number (upsert per store/day)   sales.services
 8 stock UPDATE … RETURNING (locks)      inventory.stock_sell
 9 stock movements INSERT                inventory.stock_sell
10 order + lines + tenders               sales (one CTE statement on PostgreSQL; three on SQLite)
11 audit entries INSERT                  platform.batch
12 outbox events INSERT                  platform.batch
13 store the response                    platform.idempotency
14 COMMIT / RELEASE SAVEPOINT
(The user's permissions are read only when ``Scope.can_view_pii`` is asked, which a checkout never does.)
"""

from __future__ import annotations

import pytest
from django.conf import settings

from mendian.sales.models import Order

pytestmark = pytest.mark.django_db

MAX_STATEMENTS = 14 if settings.IS_POSTGRES else 16


def test_five_line_pos_checkout_statement_count(chain, open_shift, api_client, django_assert_max_num_queries):
    user = chain.users["cashier_km1"]
    open_shift(user, chain.km1)
    c = api_client(user)
    body = {"store": "KM001", "channel": "pos", "lines": [{"sku": f"S00{i}", "quantity": i} for i in range(1, 6)],
            "tenders": [{"method": "cash", "amount": "200.00"}, {"method": "wechat_pay", "amount": "10.00",
                                                                   "reference": "wx-1"}]}
    assert c.post("/api/v1/orders", body, idempotency_key="warm-up").status_code == 201
    with django_assert_max_num_queries(MAX_STATEMENTS) as captured:
        r = c.post("/api/v1/orders", body, idempotency_key="counted")
    assert r.status_code == 201, r.json()
    sql = [q["sql"] for q in captured.captured_queries]
    assert any("platform_auditentry" in s for s in sql) and any("platform_outboxevent" in s for s in sql)
    assert any("platform_idempotencyrecord" in s and s.startswith("UPDATE") for s in sql)
    order = Order.objects.get(number=r.json()["number"])
    assert order.lines.count() == 5 and order.tenders.count() == 2
