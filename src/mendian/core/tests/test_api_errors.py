"""The API's error contract, seen from outside: every bad input gets the error shape and the right status,
never a 500, and writes nothing."""

import pytest

from mendian.catalog.models import StorePrice
from mendian.catalog.tests.factories import SkuFactory
from mendian.org.tests.factories import LocationFactory, user_with_role
from mendian.platform.models import AuditEntry, OutboxEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def hq(api_client):
    SkuFactory(code="COLA")
    LocationFactory(code="KM001")
    return api_client(user_with_role("hq", username="hq"))


def error(resp, status):
    assert resp.status_code == status, resp.content[:500]
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def nothing_written():
    return not StorePrice.objects.exists() and not OutboxEvent.objects.exists() and not AuditEntry.objects.exists()


def test_malformed_json_is_400_malformed_json(hq):
    assert error(hq.post("/api/v1/prices", raw='{"sku": "COLA", '), 400)["code"] == "malformed_json"
    assert nothing_written()


def test_malformed_json_is_a_400_and_writes_nothing(hq):
    error(hq.post("/api/v1/prices", raw='{"sku": "COLA", '), 400)
    error(hq.post("/api/v1/prices", raw=b"\xff\xfe{"), 400)
    error(hq.post("/api/v1/auth/token", raw="{"), 400)
    assert nothing_written()


def test_a_10_mb_body_is_413(hq):
    err = error(hq.post("/api/v1/prices", raw="x" * (10 * 1024 * 1024)), 413)
    assert err["code"] == "payload_too_large" and err["details"]["length"] == 10 * 1024 * 1024
    assert nothing_written()


def test_validation_errors_are_422_naming_the_fields(hq):
    err = error(hq.post("/api/v1/prices", {"sku": "COLA", "price": "abc", "valid_from": "yesterday"}), 422)
    assert err["code"] == "validation_error"
    assert sorted(d["field"] for d in err["details"]) == ["price", "valid_from"]
    err = error(hq.post("/api/v1/prices", {"price": "1.00"}), 422)
    assert [d["field"] for d in err["details"]] == ["sku"]
    err = error(hq.get("/api/v1/skus", limit="abc"), 422)
    assert [d["field"] for d in err["details"]] == ["query.limit"]
    err = error(hq.post("/api/v1/prices", {"sku": "NOPE", "price": "1.00"}), 422)
    assert (err["code"], err["details"]["field"]) == ("unknown_code", "sku")
    assert nothing_written()


def test_non_finite_and_oversized_numbers_are_422(hq):
    for price in ("NaN", "Infinity", "1e999999", "123456789012345.00"):
        assert error(hq.post("/api/v1/prices", {"sku": "COLA", "price": price}), 422)["code"] == "validation_error"
    assert nothing_written()


def test_unknown_codes_in_paths_are_404(hq):
    assert error(hq.get("/api/v1/locations/NOPE"), 404)["code"] == "not_found"
    assert error(hq.get("/api/v1/skus/NOPE"), 404)["code"] == "not_found"
    assert error(hq.get("/api/v1/barcodes/6901234567809"), 404)["code"] == "not_found"


def test_an_unknown_endpoint_is_a_json_404(hq):
    assert error(hq.get("/api/v1/nothing/here"), 404)["code"] == "not_found"


def test_no_or_bad_sign_in_is_401(api_client):
    anon = api_client()
    assert error(anon.get("/api/v1/skus"), 401)["code"] == "unauthorized"
    assert error(anon.post("/api/v1/prices", {"sku": "COLA", "price": "1.00"}), 401)["code"] == "unauthorized"
    resp = anon.client.get("/api/v1/skus", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert error(resp, 401)["code"] == "unauthorized"
    assert nothing_written()


def test_nul_characters_are_a_400_not_a_500(hq):
    assert error(hq.get("/api/v1/skus", q="a\x00b"), 400)["code"] == "bad_request"
    assert error(hq.get("/api/v1/skus/a%00b"), 400)["code"] == "bad_request"
    assert error(hq.get("/api/v1/barcodes/%00"), 400)["code"] == "bad_request"
    assert error(hq.post("/api/v1/prices", {"sku": "CO\x00LA", "price": "1.00"}), 400)["code"] == "bad_request"
    assert nothing_written()


def test_wrong_types_in_the_sign_in_body_are_422(api_client):
    err = error(api_client().post("/api/v1/auth/token", {"username": 1, "password": None}), 422)
    assert sorted(d["field"] for d in err["details"]) == ["password", "username"]


def test_the_openapi_document_describes_the_org_catalog_and_auth_endpoints(api_client):
    resp = api_client().get("/api/v1/openapi.json")
    assert resp.status_code == 200
    paths = resp.json()["paths"]
    for path in ("/api/v1/auth/token", "/api/v1/auth/refresh", "/api/v1/locations", "/api/v1/locations/{code}",
                 "/api/v1/regions", "/api/v1/me", "/api/v1/skus", "/api/v1/skus/{code}", "/api/v1/barcodes/{barcode}",
                 "/api/v1/categories", "/api/v1/prices"):
        assert path in paths, path
