"""Schemathesis against /openapi.json: generated requests to every operation never get a 500.

Bounded: a fixed number of examples per operation, no deadline, so the run takes seconds.
"""

from __future__ import annotations

import pandas as pd
import schemathesis
from hypothesis import HealthCheck, given, settings

from qianmian.api import create_app
from qianmian.store import connect

from .conftest import NOW, make_settings


def _app(tmp):
    store = connect(f"duckdb:///{tmp / 'store.duckdb'}")
    store.append("events", pd.DataFrame({"event_id": ["e1", "e2"], "user_id": ["u1", "u2"], "item_id": ["i1", "i2"], "category_id": ["c1", "c1"], "behavior": ["view", "buy"], "ts": pd.Timestamp("2017-11-25")}))
    store.append("stores", pd.DataFrame({"store_id": ["s1"], "name": ["One"], "lat": [31.2], "lon": [121.4]}))
    return create_app(make_settings(tmp), store=store, clock=lambda: NOW, recommender=None)


def _check(case) -> None:
    response = case.call()
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400:
        body = response.json()
        assert body["error"]["status"] == response.status_code and body["error"]["message"]


def test_no_server_errors(tmp_path):
    """Every operation, 12 generated requests each (the pytest plugin's lazy loader does not
    support pytest 9, so the operations are driven with Hypothesis directly)."""
    from fastapi.testclient import TestClient

    app = _app(tmp_path)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    with TestClient(app):  # the lifespan: log replayed, caches built
        for op in operations:
            run = settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)(given(case=op.as_strategy())(_check))
            run()


def test_openapi_documents_every_router(client):
    spec = client.get("/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/v1/events", "/v1/storefront/{user_id}", "/v1/recommendations/{user_id}", "/v1/items/{item_id}/similar",
            "/v1/experiences/{audience}", "/v1/users/{user_id}", "/v1/users/{user_id}/opt-out", "/v1/users/{user_id}/tags",
            "/v1/guide/{user_id}", "/v1/stores/nearest", "/v1/keys", "/health", "/ready"} <= paths
    assert "EventIn" in spec["components"]["schemas"]
    assert {"bearer", "apiKey"} <= set(spec["components"]["securitySchemes"])
    assert spec["paths"]["/v1/events"]["post"]["security"] and "`ingest` scope" in spec["paths"]["/v1/events"]["post"]["description"]
    assert "`admin` scope" in spec["paths"]["/v1/users/{user_id}"]["delete"]["description"]
    assert "security" not in spec["paths"]["/health"]["get"]
    assert client.get("/docs").status_code == 200
