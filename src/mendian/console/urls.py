from django.urls import path

from .views import auth, dashboards, explore, pivot, targets, work

app_name = "console"

urlpatterns = [
    path("", dashboards.home, name="home"),
    path("login/", auth.login_view, name="login"),
    path("logout/", auth.logout_view, name="logout"),
    path("dashboards/sales/", dashboards.sales_dashboard_view, name="sales_dashboard"),
    path("dashboards/store/", dashboards.store_dashboard_view, name="store_dashboard"),
    path("dashboards/purchasing/", dashboards.purchasing_dashboard_view, name="purchasing_dashboard"),
    path("explore/", explore.explore, name="explore"),
    path("pivot/", pivot.pivot_view, name="pivot"),
    path("locations/", work.locations, name="locations"),
    path("locations/<str:code>/", work.location_stock, name="location_stock"),
    path("locations/<str:code>/stock/<str:sku>/", work.stock_ledger, name="stock_ledger"),
    path("orders/", work.orders, name="orders"),
    path("orders/<str:number>/", work.order_detail, name="order"),
    path("pos/", work.pos, name="pos"),
    path("pos/checkout/", work.pos_checkout, name="pos_checkout"),
    path("pickups/", work.pickups, name="pickups"),
    path("shifts/", work.shifts, name="shifts"),
    path("counts/", work.counts, name="counts"),
    path("targets/", targets.targets, name="targets"),
    path("jobs/", work.jobs, name="jobs"),
    path("jobs/rollups-rebuild/", work.rollups_rebuild_start, name="rollups_rebuild"),
]
from .views import transfers as transfers_views  # noqa: E402  (issue 5: cross-store transfers)

urlpatterns += transfers_views.urlpatterns
from .views import marketing as marketing_views  # noqa: E402  (issues 3 and 6: members, coupons, promotions)

urlpatterns += marketing_views.urlpatterns
from .views import purchasing as purchasing_views  # noqa: E402  (issues 4 and 6: purchase orders, supplier view)

urlpatterns += purchasing_views.urlpatterns
