"""The console's navigation by role, and the extension point later issues plug their pages into.

A later app (transfers, purchasing, promotions, members) adds its pages with::

    from mendian.console.nav import NavItem, register_nav
    register_nav(NavItem("transfers", _("Transfers"), "/transfers/", kinds={"hq", "region", "store"}))

in its ``AppConfig.ready()``, and its tasks to the store dashboard with ``register_store_task``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

ALL = frozenset({"hq", "region", "buyer", "store"})


@dataclass(frozen=True)
class NavItem:
    key: str
    label: object
    url: str  # a URL name in the console namespace, or a path starting with /
    kinds: frozenset[str] = ALL
    roles: frozenset[str] = field(default_factory=frozenset)  # if set: one of these roles is also needed

    def href(self) -> str:
        return self.url if self.url.startswith("/") else reverse(self.url)


_NAV: list[NavItem] = [
    NavItem("sales", _("Sales dashboard"), "console:sales_dashboard", frozenset({"hq", "region"})),
    NavItem("store", _("Store dashboard"), "console:store_dashboard", frozenset({"hq", "region", "store"})),
    NavItem("purchasing", _("Purchasing"), "console:purchasing_dashboard", frozenset({"hq", "buyer", "region"})),
    NavItem("explore", _("Drill-down"), "console:explore"),
    NavItem("pivot", _("Pivot"), "console:pivot"),
    NavItem("locations", _("Locations & stock"), "console:locations"),
    NavItem("orders", _("Orders"), "console:orders"),
    NavItem("pos", _("POS"), "console:pos", frozenset({"hq", "region", "store"})),
    NavItem("pickups", _("Pickups"), "console:pickups", frozenset({"hq", "region", "store"})),
    NavItem("shifts", _("Shifts"), "console:shifts", frozenset({"hq", "region", "store"})),
    NavItem("counts", _("Stock counts"), "console:counts", frozenset({"hq", "region", "store"})),
    NavItem("targets", _("Targets & imports"), "console:targets", frozenset({"hq", "region"})),
    NavItem("transfers", _("Transfers"), "console:transfers", frozenset({"hq", "region", "store"})),
    NavItem("purchase_orders", _("Purchase orders"), "console:purchase_orders",
            roles=frozenset({"hq", "buyer", "region", "store_manager", "supplier"})),
    NavItem("members", _("Members"), "console:members", frozenset({"hq", "region", "store"}), frozenset({"hq", "region", "store_manager", "cashier"})),
    NavItem("coupons", _("Coupons"), "console:coupon_templates", frozenset({"hq"}), frozenset({"hq"})),
    NavItem("promotions", _("Promotions"), "console:promotions", frozenset({"hq"}), frozenset({"hq"})),
    NavItem("price_preview", _("Price preview"), "console:price_preview", frozenset({"hq", "region", "store"})),
    NavItem("jobs", _("Jobs"), "console:jobs"),
]


def register_nav(item: NavItem, *, before: str | None = None) -> None:
    if any(i.key == item.key for i in _NAV):
        return
    idx = next((n for n, i in enumerate(_NAV) if i.key == before), len(_NAV))
    _NAV.insert(idx, item)


def nav_for(kind: str, roles: frozenset[str]) -> list[NavItem]:
    if roles == {"supplier"}:  # a supplier's portal user: only the pages made for suppliers
        return [i for i in _NAV if "supplier" in i.roles]
    return [i for i in _NAV if kind in i.kinds and (not i.roles or i.roles & roles)]


@dataclass(frozen=True)
class StoreTask:
    """Work waiting at a store (pending pickups, transfers to receive…), shown on its dashboard."""

    label: object
    count: int
    url: str


StoreTaskProvider = Callable[[object], list[StoreTask]]  # called with the Location
_STORE_TASKS: list[StoreTaskProvider] = []


def register_store_task(provider: StoreTaskProvider) -> None:
    if provider not in _STORE_TASKS:
        _STORE_TASKS.append(provider)


def store_task_providers() -> list[StoreTaskProvider]:
    return list(_STORE_TASKS)
