"""One place maps errors to status codes, with a body naming the problem."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from qianmian.api import errors
from qianmian.errors import (
    AuthError,
    ConflictError,
    ForbiddenError,
    InputError,
    NotFoundError,
    QianmianError,
    SchemaError,
    StoreError,
)


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (InputError("k", "a positive integer", -1), 422),
        (NotFoundError("audience", "coffee"), 404),
        (ConflictError("taken"), 409),
        (AuthError("no key"), 401),
        (ForbiddenError("no scope"), 403),
        (SchemaError("old"), 503),
        (StoreError("down"), 503),
        (errors.PayloadTooLargeError(10, 11), 413),
        (errors.RateLimitedError(60, 0.5), 429),
        (QianmianError("other"), 500),
    ],
)
def test_status_of_every_error_class(exc, status):
    assert errors.status_of(exc) == status
    assert errors.error_body(exc)["error"]["status"] == status


def _app_raising(exc: Exception) -> TestClient:
    app = FastAPI()
    errors.install(app)

    @app.get("/boom")
    def boom() -> None:
        raise exc

    return TestClient(app, raise_server_exceptions=False)


def test_input_error_body_names_field_expected_received():
    r = _app_raising(InputError("k", "an integer in 1..100", 500)).get("/boom")
    assert r.status_code == 422
    assert r.json() == {
        "error": {
            "type": "InputError",
            "status": 422,
            "message": "k: expected an integer in 1..100, received 500",
            "field": "k",
            "expected": "an integer in 1..100",
            "received": 500,
        }
    }


def test_not_found_body_names_kind_and_name():
    body = _app_raising(NotFoundError("audience", "coffee")).get("/boom").json()["error"]
    assert (body["kind"], body["name"], body["status"]) == ("audience", "coffee", 404)


def test_unexpected_error_is_500_without_internals():
    r = _app_raising(RuntimeError("secret path /etc/x")).get("/boom")
    assert r.status_code == 500
    assert r.json()["error"]["type"] == "InternalError"
    assert "secret" not in r.text


def test_rate_limited_sets_retry_after_and_auth_sets_www_authenticate():
    r = _app_raising(errors.RateLimitedError(60, 2.2)).get("/boom")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 2
    r = _app_raising(AuthError("no key")).get("/boom")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_request_validation_and_unknown_route_use_the_same_shape(client):
    r = client.post("/v1/events", json={"not_events": []})
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "body.events"
    r = client.get("/no/such/route")
    assert r.status_code == 404 and r.json()["error"]["status"] == 404


def test_validation_errors_say_the_value_received(client) -> None:
    """FastAPI's own checks name the field, the reason and what was sent (QA pass); NaN is not a 500."""
    r = client.get("/v1/reports/clv", params={"calibration_end": "2017-11-30", "horizon_days": "-5"})
    err = r.json()["error"]
    assert r.status_code == 422 and err["field"] == "query.horizon_days"
    assert err["message"] == "query.horizon_days: Input should be greater than or equal to 1, received '-5'"
    assert err["received"] == "-5" and err["problems"][0]["received"] == "-5"
    missing = client.get("/v1/reports/clv").json()["error"]
    assert missing["message"] == "query.calibration_end: Field required" and "received" not in missing
    nan = client.post("/v1/audiences/check", content=b'{"rule": NaN}', headers={"content-type": "application/json"})
    assert nan.status_code == 422 and nan.json()["error"]["received"] == "nan"
