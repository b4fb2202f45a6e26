import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from mendian.inventory.models import StockMovement
from mendian.inventory.services import stock_count_record
from mendian.inventory.tests.factories import receive

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(db):
    user = get_user_model().objects.create_superuser("root", "root@example.com", "demo")
    c = Client()
    c.force_login(user)
    return c


@pytest.mark.parametrize("model", ["stocklevel", "stockmovement", "stockcost", "stockcount", "counttask", "lostdemand", "lot"])
def test_inventory_admin_lists_render(admin_client, store, sku, model):
    receive(store, sku, 3)
    stock_count_record(location_id=store.pk, lines=[(sku.pk, 2)], user=None)
    r = admin_client.get(f"/admin/inventory/{model}/")
    assert r.status_code == 200


def test_movements_are_read_only_in_admin(admin_client, store, sku):
    receive(store, sku, 3)
    m = StockMovement.objects.get()
    assert admin_client.get("/admin/inventory/stockmovement/add/").status_code == 403
    r = admin_client.post(f"/admin/inventory/stockmovement/{m.pk}/change/", {"on_hand_delta": 99})
    assert r.status_code == 403
    assert admin_client.post(f"/admin/inventory/stockmovement/{m.pk}/delete/", {"post": "yes"}).status_code == 403
    m.refresh_from_db()
    assert m.on_hand_delta == 3
