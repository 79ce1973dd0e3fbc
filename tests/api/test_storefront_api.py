"""The storefront over HTTP: audiences pick experiences, experiments pick variants, pages are logged."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from qianmian.api import create_app
from qianmian.experiments.assignment import Experiment, Variant, assign
from qianmian.store import connect
from qianmian.storefront.page import shown

from .conftest import NOW, make_settings

COFFEE = {
    "greeting": "{name}, fancy a {need}?",
    "need": "coffee",
    "modules": ["greeting", "hero", "rails", "nearby_store", "coupon"],
    "hero": {"title": "Coffee week"},
    "rails": [{"title": "For your cup", "scene": "home", "k": 3}, {"title": "Like that", "scene": "similar", "k": 3}],
    "coupon": {"code": "COFFEE15", "title": "15 off"},
}


class Members:
    def __init__(self, table: dict[str, list[str]]) -> None:
        self.table = table

    def audiences_of(self, user_id: str) -> list[str]:
        return self.table.get(user_id, [])


def _seed(store) -> None:
    n = 60
    store.append("events", pd.DataFrame({
        "event_id": [f"e{i}" for i in range(n)], "user_id": [f"u{i % 6}" for i in range(n)],
        "item_id": [f"i{i % 9}" for i in range(n)], "category_id": [f"c{i % 9 % 3}" for i in range(n)],
        "behavior": ["view"] * 50 + ["buy"] * 10, "ts": pd.Timestamp("2017-11-25"),
    }))
    store.append("users", pd.DataFrame({"user_id": ["u1", "u2"], "name": ["Li Lei", "Han Meimei"], "city": ["Shanghai", "Beijing"]}))
    store.append("stores", pd.DataFrame({"store_id": ["s1", "s2"], "name": ["Jing'an", "Wangfujing"], "city": ["Shanghai", "Beijing"], "lat": [31.22, 39.91], "lon": [121.45, 116.41]}))


@pytest.fixture
def shop(tmp_path):
    """A client over a small store; u1 is in audiences [coffee, milk], u2 in [milk]."""
    from fastapi.testclient import TestClient

    store = connect(f"duckdb:///{tmp_path / 'store.duckdb'}")
    _seed(store)
    members = Members({"u1": ["coffee", "milk"], "u2": ["milk"]})
    app = create_app(make_settings(tmp_path), store=store, clock=lambda: NOW, load_membership=lambda s: members, recommender=None)
    with TestClient(app) as client:
        yield client


def _module(page, kind):
    return [m for m in page["modules"] if m["type"] == kind]


def test_experience_crud_and_page_follows_the_highest_priority_audience(shop):
    assert shop.get("/v1/storefront/u1").json()["experience"]["audience"] == "default"
    r = shop.put("/v1/experiences/coffee", json=COFFEE)
    assert r.status_code == 200 and r.json()["version"] == 1
    assert shop.put("/v1/experiences/milk", json={**COFFEE, "need": "milk powder", "hero": {"title": "Milk"}}).json()["version"] == 1
    assert {e["audience"] for e in shop.get("/v1/experiences").json()} == {"coffee", "milk", "default"}
    page = shop.get("/v1/storefront/u1").json()
    assert page["audience"] == "coffee" and page["audiences"] == ["coffee", "milk"]
    assert [m["type"] for m in page["modules"]][:2] == ["greeting", "hero"]  # the experience's order
    assert _module(page, "greeting")[0]["text"] == "Li Lei, fancy a coffee?"
    assert _module(page, "coupon")[0]["code"] == "COFFEE15"
    assert shop.get("/v1/storefront/u2").json()["audience"] == "milk"
    assert shop.get("/v1/storefront/u3").json()["audience"] is None
    assert shop.delete("/v1/experiences/coffee").status_code == 204
    assert shop.get("/v1/storefront/u1").json()["audience"] == "milk"
    assert shop.get("/v1/experiences/coffee").status_code == 404


def test_rails_change_with_live_events_and_empty_rails_are_explained(shop):
    shop.put("/v1/experiences/coffee", json=COFFEE)
    before = shop.get("/v1/storefront/u1").json()
    assert len(_module(before, "rail")) == 1 and any("'Like that'" in r for r in before["reasons"])
    events = [{"event_id": f"n{i}", "user_id": "u1", "item_id": f"i{k}", "category_id": "c2", "behavior": "view", "ts": "2017-12-04T09:59:00"} for i, k in enumerate((5, 8, 5))]
    assert shop.post("/v1/events", json={"events": events}).json()["accepted"] == 3
    after = shop.get("/v1/storefront/u1").json()
    home = [i["item_id"] for m in _module(after, "rail") if m["scene"] == "home" for i in m["items"]]
    assert home[0] == "i2"  # popular in the live category (c2), not already seen
    # "Like that" (similar to i8: c2 again) has only i2, which the rail above shows: no product twice on a page
    assert not [m for m in _module(after, "rail") if m["scene"] == "similar"]
    like = next(r for r in after["decision"]["rails"] if r["title"] == "Like that")
    assert like["left_out"] == "nothing to show that the rails above do not already show"
    assert any(r.startswith("rail 'Like that' (similar) left out") for r in after["reasons"])
    assert _module(after, "greeting")[0]["need"] == "category c2"  # live activity beats the audience's need


def test_nearby_store_from_location_or_city(shop):
    shop.put("/v1/experiences/coffee", json=COFFEE)
    page = shop.get("/v1/storefront/u1", params={"lat": 39.9, "lon": 116.4}).json()
    assert _module(page, "nearby_store")[0]["store"]["store_id"] == "s2"
    page = shop.get("/v1/storefront/u1").json()  # no location: the shopper's city (Shanghai)
    assert _module(page, "nearby_store")[0]["store"]["store_id"] == "s1"
    r = shop.get("/v1/stores/nearest", params={"lat": 31.2, "lon": 121.4, "k": 2}).json()
    assert [s["store_id"] for s in r["stores"]] == ["s1", "s2"] and r["stores"][0]["distance_km"] < 10
    assert shop.get("/v1/stores/nearest", params={"lat": 95, "lon": 0}).status_code == 422


def test_storefront_refuses_bad_coordinates_naming_the_field(shop):
    for params, field in (({"lat": 95}, "lat"), ({"lat": 30, "lon": "east"}, "lon"), ({"lon": "nan"}, "lon")):
        r = shop.get("/v1/storefront/u1", params=params)
        assert r.status_code == 422, params
        error = r.json()["error"]
        assert error["type"] == "InputError" and error["field"] == field, error
    assert shop.get("/v1/storefront/" + "x" * 257).status_code == 422


def test_request_route_refuses_endpoints_that_need_fastapi_parameters():
    from fastapi import APIRouter

    from qianmian.api.routing import RequestRoute

    router = APIRouter(route_class=RequestRoute)
    with pytest.raises(TypeError, match="must be `async def f"):
        router.add_api_route("/x/{n}", lambda n: n)


def test_every_page_is_in_the_exposure_log(shop):
    pages = [shop.get(f"/v1/storefront/u{i}").json() for i in (1, 2, 1)]
    svc = shop.app.state.services
    assert svc.log.drain(10)
    logged = svc.locked(svc.store.execute, svc.store.table("exposures"))
    assert set(logged.exposure_id) == {p["page_id"] for p in pages}
    row = logged.set_index("exposure_id").loc[pages[0]["page_id"]]
    logged_page = json.loads(row.page)
    assert row.user_id == "u1" and row.source == "storefront" and logged_page == shown(pages[0])
    rails = [m for m in pages[0]["modules"] if m["type"] == "rail"]
    assert [m["item_ids"] for m in logged_page["modules"] if m["type"] == "rail"] == [[i["item_id"] for i in r["items"]] for r in rails]


def test_experiment_control_sees_the_default_page(tmp_path):
    from fastapi.testclient import TestClient

    store = connect(f"duckdb:///{tmp_path / 'store.duckdb'}")
    _seed(store)
    exp = Experiment("storefront-2-8", (Variant("test", 2), Variant("control", 8)))
    users = [f"u{i}" for i in range(40)]
    members = Members({u: ["coffee"] for u in users})
    app = create_app(make_settings(tmp_path, storefront_experiment="storefront-2-8"), store=store, clock=lambda: NOW,
                     load_membership=lambda s: members, load_experiment=lambda s, name: exp, recommender=None)
    with TestClient(app) as client:
        client.put("/v1/experiences/coffee", json=COFFEE)
        pages = {u: client.get(f"/v1/storefront/{u}").json() for u in users}
        svc = client.app.state.services
        assert svc.log.drain(10)
        logged = svc.locked(svc.store.execute, svc.store.table("exposures"))
    for u, page in pages.items():
        variant = assign(exp, u, audiences=["coffee"])
        assert page["experiment"] == {"name": "storefront-2-8", "variant": variant}
        assert page["audience"] == ("coffee" if variant == "test" else None)
        assert page["personalized"] == (variant == "test")
    assert {"test", "control"} == {p["experiment"]["variant"] for p in pages.values()}
    assert dict(zip(logged.user_id, logged.variant)) == {u: p["experiment"]["variant"] for u, p in pages.items()}


def test_guide_answers_become_tags_and_change_the_page(shop):
    first = shop.get("/v1/storefront/u1").json()
    assert _module(first, "guide")[0]["question"]["id"] == "style"
    assert shop.get("/v1/guide/u1").json()["question"]["id"] == "style"
    r = shop.post("/v1/guide/u1", json={"question_id": "style", "choices": ["Minimal"]})
    assert r.status_code == 200 and r.json()["tags"] == ["style-minimal"] and r.json()["next"]["id"] == "size"
    page = shop.get("/v1/storefront/u1").json()
    assert _module(page, "guide")[0]["question"]["id"] == "size" and page["tags"] == ["style-minimal"]
    shop.post("/v1/guide/u1", json={"question_id": "style", "choices": ["sporty"]})
    assert shop.get("/v1/users/u1/tags").json()["tags"] == ["style-sporty"]
    assert shop.post("/v1/guide/u1", json={"question_id": "size", "choices": ["XXL"]}).status_code == 422
    assert shop.post("/v1/guide/u1", json={"question_id": "mood", "choices": ["x"]}).status_code == 404
    r = shop.put("/v1/users/u1/tags", json={"tags": ["Budget", "unscented"]})
    assert r.json()["tags"] == ["budget", "style-sporty", "unscented"]
    assert shop.put("/v1/users/u1/tags", json={"tags": ["no:colons"]}).status_code == 422


def test_opt_out_gives_default_unlogged_pages_and_no_profiling(shop):
    shop.put("/v1/experiences/coffee", json=COFFEE)
    assert shop.post("/v1/users/u1/opt-out").json() == {"user_id": "u1", "consent": False}
    shop.post("/v1/events", json={"events": [{"event_id": "z1", "user_id": "u1", "item_id": "i1", "category_id": "c1", "behavior": "view", "ts": "2017-12-04T09:00:00"}]})
    page = shop.get("/v1/storefront/u1").json()
    assert page["personalized"] is False and page["audience"] is None and page["audiences"] == []
    assert "Li Lei" not in json.dumps(page) and _module(page, "guide") == []
    assert page["reasons"][0].startswith("opted out")
    assert shop.app.state.services.storefront.live.recent("u1") == []
    assert shop.put("/v1/users/u1/tags", json={"tags": ["vegan"]}).status_code == 409
    recs = shop.get("/v1/recommendations/u1").json()["items"]
    assert recs and all(r["reason"] == "popular with shoppers" for r in recs)
    svc = shop.app.state.services
    assert svc.log.drain(10)
    assert "u1" not in set(svc.locked(svc.store.execute, svc.store.table("exposures")).user_id)
    shop.put("/v1/users/u1/consent", json={"consent": True})
    assert shop.get("/v1/storefront/u1").json()["audience"] == "coffee"


def test_recommendation_endpoints(shop):
    r = shop.get("/v1/recommendations/u1", params={"scene": "home", "k": 4})
    assert r.status_code == 200 and len(r.json()["items"]) == 4
    assert shop.get("/v1/recommendations/u1", params={"scene": "similar"}).json()["error"]["field"] == "item_id"
    assert shop.get("/v1/recommendations/u1", params={"scene": "cart"}).status_code == 422
    assert shop.get("/v1/recommendations/u1", params={"scene": "cart", "cart": ["i1", "i2"]}).status_code == 200
    assert shop.get("/v1/recommendations/u1", params={"scene": "trending"}).status_code == 422
    sim = shop.get("/v1/items/i4/similar", params={"k": 5}).json()["items"]
    assert sim and "i4" not in [s["item_id"] for s in sim]
