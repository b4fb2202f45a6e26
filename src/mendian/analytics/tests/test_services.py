from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from mendian.analytics.models import FootTraffic, SalesTarget, StaffHours
from mendian.analytics.services import inputs_import_csv, sales_target_set
from mendian.core.errors import InvalidInput, NotFound
from mendian.org.scope import user_scope
from mendian.platform.models import AuditEntry


def test_a_target_is_set_changed_and_audited(chain):
    hq = chain.users["hq"]
    sales_target_set(location_code="KM001", month="2026-03", amount="1000", actor=hq, scope=user_scope(hq))
    sales_target_set(location_code="KM001", month=dt.date(2026, 3, 17), amount="1200.5", actor=hq, scope=user_scope(hq))
    t = SalesTarget.objects.get()
    assert (t.location, t.month, t.amount) == (chain.km1, dt.date(2026, 3, 1), D("1200.50"))
    entry = AuditEntry.objects.filter(action="target.set").order_by("id").last()
    assert entry.before == {"amount": "1000.00"} and entry.after == {"amount": "1200.50"}


def test_a_store_manager_cannot_set_another_stores_target(chain):
    m = chain.users["manager_km1"]
    with pytest.raises(NotFound):
        sales_target_set(location_code="DL001", month="2026-03", amount="1", actor=m, scope=user_scope(m))
    with pytest.raises(InvalidInput):
        sales_target_set(location_code="KM001", month="2026-03", amount="-1", actor=m, scope=user_scope(m))
    assert SalesTarget.objects.count() == 0


def test_csv_imports_replace_rows_and_refuse_a_bad_file_whole(chain):
    hq = chain.users["hq"]
    scope = user_scope(hq)
    res = inputs_import_csv(kind="staff_hours", data=b"\xef\xbb\xbflocation,day,hours\nKM001,2026-03-10,16\n"
                            b"KM002,2026-03-10,7.5\n", actor=hq, scope=scope)
    assert (res.rows, res.created, res.updated) == (2, 2, 0)
    res = inputs_import_csv(kind="staff_hours", data="location,day,hours\nKM001,2026-03-10,12\n", actor=hq,
                            scope=scope)
    assert (res.created, res.updated) == (0, 1)
    assert dict(StaffHours.objects.values_list("location__code", "hours")) == {"KM001": D("12.00"), "KM002": D("7.50")}
    with pytest.raises(InvalidInput) as exc:
        inputs_import_csv(kind="foot_traffic", data="location,day,visitors\nKM001,2026-03-10,40\nKM001,2026-03-11,x\n",
                          actor=hq, scope=scope)
    assert exc.value.details["line"] == 3
    assert FootTraffic.objects.count() == 0
    with pytest.raises(InvalidInput):
        inputs_import_csv(kind="targets", data="store,month,amount\nKM001,2026-03,1\n", actor=hq, scope=scope)
    res = inputs_import_csv(kind="targets", data="location,month,amount\nKM001,2026-03,100\nDL001,2026-04-01,5\n",
                            actor=hq, scope=scope)
    assert res.created == 2 and SalesTarget.objects.get(location=chain.dl1).month == dt.date(2026, 4, 1)


def test_an_import_outside_the_scope_is_refused(chain):
    m = chain.users["manager_km1"]
    with pytest.raises(InvalidInput) as exc:
        inputs_import_csv(kind="foot_traffic", data="location,day,visitors\nKM001,2026-03-10,40\nDL001,2026-03-10,9\n",
                          actor=m, scope=user_scope(m))
    assert exc.value.details["line"] == 3
    assert FootTraffic.objects.count() == 0


def test_demo_inputs_derive_targets_from_last_year(chain):
    from mendian.analytics.demo import demo_inputs_seed
    from mendian.analytics.models import SalesDayLocation

    SalesDayLocation.objects.create(location=chain.km1, region=chain.km, day=dt.date(2025, 3, 5), channel="pos",
                                    amount=D("10040.00"), quantity=1, transactions=1)
    targets, hours, traffic = demo_inputs_seed(today=dt.date(2026, 3, 20), months=2, days=7)
    assert targets == 1 and hours == 3 * 7 and traffic == 0
    t = SalesTarget.objects.get()
    assert (t.location, t.month, t.amount) == (chain.km1, dt.date(2026, 3, 1), D("10500"))
    assert StaffHours.objects.get(location=chain.km1, day=dt.date(2026, 3, 20)).hours == D("26")


def test_demo_foot_traffic_gives_a_believable_conversion(chain):
    from mendian.analytics.demo import demo_inputs_seed
    from mendian.analytics.models import SalesDayLocation
    from mendian.analytics.selectors import store_figures

    today = dt.date(2026, 3, 20)
    for i, n in enumerate([1, 7, 40, 0, 123]):  # a day without transactions (imported history) gets none
        SalesDayLocation.objects.create(location=chain.km1, region=chain.km, day=today - dt.timedelta(days=i),
                                        channel="pos" if n else "history", amount=D("100.00"), quantity=n or 5,
                                        transactions=n)
    SalesDayLocation.objects.create(location=chain.km1, region=chain.km, day=today - dt.timedelta(days=30),
                                    channel="pos", amount=D("1.00"), quantity=1, transactions=3)  # before the range
    _, _, traffic = demo_inputs_seed(today=today, months=1, days=7)
    assert traffic == 4
    rows = dict(FootTraffic.objects.filter(location=chain.km1).values_list("day", "visitors"))
    assert sorted(rows) == [today - dt.timedelta(days=i) for i in (4, 2, 1, 0)]
    for i, n in enumerate([1, 7, 40, 0, 123]):
        if n:
            v = rows[today - dt.timedelta(days=i)]
            assert D("0.15") <= D(n) / D(v) <= D("0.35"), (n, v)
    f = store_figures(store_id=chain.km1.pk, area_m2=chain.km1.area_m2, start=today - dt.timedelta(days=6),
                      end=today, today=today)
    assert f.visitors == sum(rows.values()) and f.transactions_with_traffic == 171
    assert D("0.15") <= f.conversion <= D("0.35")
    # a re-run replaces the same figures
    demo_inputs_seed(today=today, months=1, days=7)
    assert dict(FootTraffic.objects.filter(location=chain.km1).values_list("day", "visitors")) == rows
