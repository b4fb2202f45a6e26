import pytest

from mendian.org.services import user_grant_role

pytestmark = pytest.mark.django_db

ALL = ["DL001", "KM001", "KMN001", "WH01"]


def codes(resp):
    assert resp.status_code == 200, resp.content
    return [i["code"] for i in resp.json()["items"]]


@pytest.mark.parametrize(("username", "visible"), [
    ("hq", ALL),
    ("buyer", ALL),
    ("region.KM", ["KM001", "KMN001", "WH01"]),  # the district below KM too
    ("region.DL", ["DL001"]),
    ("manager.KM001", ["KM001"]),
    ("cashier.KM001", ["KM001"]),
    ("nobody", []),
])
def test_each_role_lists_exactly_the_locations_in_its_scope(chain, api_client, username, visible):
    client = api_client(chain.users[username])
    resp = client.get("/api/v1/locations")
    assert codes(resp) == visible
    assert resp.json()["count"] == len(visible)
    for code in ALL:
        status = client.get(f"/api/v1/locations/{code}").status_code
        assert status == (200 if code in visible else 404), (username, code)


def test_a_location_has_the_documented_shape(chain, api_client):
    body = api_client(chain.users["hq"]).get("/api/v1/locations/DL001").json()
    assert body == {
        "code": "DL001", "name": "大理一店", "kind": "store", "region": "DL", "city": "大理", "address": "",
        "latitude": 25.6065, "longitude": 100.2676, "area_m2": 120.0, "opens_at": None, "closes_at": None,
        "status": "active",
    }


def test_an_unknown_location_is_404_with_the_error_shape(chain, api_client):
    resp = api_client(chain.users["hq"]).get("/api/v1/locations/XX999")
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "not_found"


def test_filters_kind_region_with_subregions_and_q(chain, api_client):
    client = api_client(chain.users["hq"])
    assert codes(client.get("/api/v1/locations", kind="warehouse")) == ["WH01"]
    assert codes(client.get("/api/v1/locations", kind="store", region="KM")) == ["KM001", "KMN001"]
    assert codes(client.get("/api/v1/locations", region="KMN")) == ["KMN001"]
    assert codes(client.get("/api/v1/locations", q="大理")) == ["DL001"]
    assert codes(client.get("/api/v1/locations", q="kmn")) == ["KMN001"]
    # a filter never widens the scope
    assert codes(api_client(chain.users["manager.KM001"]).get("/api/v1/locations", region="DL")) == []


def test_bad_filters_are_422(chain, api_client):
    client = api_client(chain.users["hq"])
    resp = client.get("/api/v1/locations", region="NOPE")
    assert resp.status_code == 422 and resp.json()["error"]["details"]["field"] == "region"
    assert client.get("/api/v1/locations", kind="shop").status_code == 422
    assert client.get("/api/v1/locations", limit=0).status_code == 422
    assert client.get("/api/v1/locations", offset=-1).status_code == 422


def test_limit_and_offset_page_through_the_list(chain, api_client):
    client = api_client(chain.users["hq"])
    first = client.get("/api/v1/locations", limit=3).json()
    second = client.get("/api/v1/locations", limit=3, offset=3).json()
    assert first["count"] == second["count"] == 4
    assert [i["code"] for i in first["items"]] + [i["code"] for i in second["items"]] == ALL


def test_a_manager_of_two_stores_sees_both(chain, api_client):
    user = chain.users["manager.KM001"]
    user_grant_role(actor="test", user=user, role="store_manager", location=chain.dl001)
    assert codes(api_client(user).get("/api/v1/locations")) == ["DL001", "KM001"]


def test_regions_are_cut_to_the_scope(chain, api_client):
    assert codes(api_client(chain.users["hq"]).get("/api/v1/regions")) == ["DL", "HQ", "KM", "KMN"]
    assert codes(api_client(chain.users["manager.KM001"]).get("/api/v1/regions")) == ["HQ", "KM"]
    regions = api_client(chain.users["region.KM"]).get("/api/v1/regions").json()["items"]
    assert {r["code"]: r["parent"] for r in regions} == {"HQ": None, "KM": "HQ", "KMN": "KM"}


def test_me_tells_roles_scopes_and_visibility(chain, api_client):
    body = api_client(chain.users["region.KM"]).get("/api/v1/me").json()
    assert body == {"username": "region.KM", "name": "", "roles": [
        {"role": "region", "scope": "region", "region": "KM", "location": None}],
        "can_view_pii": False, "chain_wide": False, "visible_locations": 3}
    hq = api_client(chain.users["hq"]).get("/api/v1/me").json()
    assert hq["roles"] == [{"role": "hq", "scope": "chain", "region": None, "location": None}]
    assert hq["chain_wide"] and hq["visible_locations"] == 4


def test_me_shows_the_pii_permission(chain, api_client):
    from django.contrib.auth.models import Permission

    user = chain.users["manager.KM001"]
    user.user_permissions.add(Permission.objects.get(codename="view_pii"))
    assert api_client(user).get("/api/v1/me").json()["can_view_pii"] is True


@pytest.mark.parametrize("path", ["/api/v1/locations", "/api/v1/locations/KM001", "/api/v1/regions", "/api/v1/me"])
def test_every_org_endpoint_needs_a_sign_in(chain, api_client, path):
    resp = api_client().get(path)
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "unauthorized"
