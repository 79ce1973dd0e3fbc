"""End to end over HTTP on the real Taobao slice (seed 000's picture).

Ingest the slice, build a "coffee" audience (≥ 3 views in one category over 7 days) and train
the recommendation models; a shopper outside the audience opens the store, views three items of
that category, and their page changes: the greeting guesses coffee at once, a "similar" rail
appears, and once audiences are rebuilt they get the coffee experience. The exposure log holds
every page served.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

AS_OF = dt.date(2017, 12, 3)
CLOCK = dt.datetime(2017, 12, 3, 21, 0)
COFFEE = {
    "greeting": "{name}, fancy a {need}?",
    "need": "coffee",
    "modules": ["hero", "greeting", "rails", "coupon"],
    "hero": {"title": "Coffee week"},
    "rails": [{"title": "For your cup", "scene": "home", "k": 8}, {"title": "Like what you viewed", "scene": "similar", "k": 8}],
    "coupon": {"code": "COFFEE15", "title": "15 off over 150", "value": 15, "min_spend": 150},
}
DEFAULT = {
    "greeting": "Welcome, {name}! Looking for {need}?",
    "modules": ["hero", "greeting", "rails"],
    "hero": {"title": "New this week"},
    "rails": [{"title": "Picked for you", "scene": "home", "k": 8}, {"title": "Because you viewed", "scene": "similar", "k": 8}],
}


def _pick(store):
    """The busiest viewed category (our "coffee"), a shopper with no event in it, three of its items."""
    from ibis import _, desc

    ev = store.table("events")
    views = ev.filter(ev.behavior == "view")
    top = views.group_by("category_id").aggregate(n=_.count()).order_by([desc("n"), "category_id"]).limit(1)
    cat = store.execute(top).category_id[0]
    touched = ev.filter(ev.category_id == cat).select("user_id").distinct()
    busy = ev.group_by("user_id").aggregate(n=_.count()).anti_join(touched, "user_id")
    user = store.execute(busy.order_by([desc("n"), "user_id"]).limit(1)).user_id[0]
    in_cat = views.filter(views.category_id == cat).group_by("item_id").aggregate(n=_.count())
    items = store.execute(in_cat.order_by([desc("n"), "item_id"]).limit(3)).item_id.tolist()
    return cat, user, items


def _module(page, kind):
    return [m for m in page["modules"] if m["type"] == kind]


@pytest.mark.slow
def test_page_before_and_after_three_coffee_views(shared_data, tmp_path):
    from fastapi.testclient import TestClient

    from qianmian.api import create_app
    from qianmian.audiences.membership import materialize
    from qianmian.audiences.registry import AudienceRegistry
    from qianmian.config import Settings, store_models_dir
    from qianmian.ingest import ingest_file
    from qianmian.recommend import train
    from qianmian.recommend.train import DEFAULT_MODELS, ModelSpec, recency
    from qianmian.store import connect
    from qianmian.storefront.page import shown

    store = connect(f"duckdb:///{tmp_path / 'store.duckdb'}")
    ingest_file(store, shared_data / "taobao_userbehavior" / "ub_head_by_user_84k.csv", layout="taobao")
    cat, user, items = _pick(store)

    registry = AudienceRegistry(store)
    registry.create("coffee", f'count(view, category = "{cat}", 7d) >= 3', priority=1, at=CLOCK)
    registry.create("browsers", "count(view, 30d) >= 1", priority=5, at=CLOCK)
    materialize(store, AS_OF)
    # A light model set keeps the test quick; the serving code path is the full one.
    by_name = {m.name: m for m in DEFAULT_MODELS}
    models = [by_name[n] for n in ("popular", "trending", "covisit", "cart")] + [ModelSpec("home", "als", {"factors": 32, "regularization": 0.05, "alpha": 5.0}, recency(120.0))]
    train(store, as_of=AS_OF, models_dir=store_models_dir(tmp_path / "data", store.id), models=models, holdout_days=None)

    storefront_file = tmp_path / "storefront.toml"
    storefront_file.write_text(f'[labels.categories]\n"{cat}" = "coffee"\n', encoding="utf-8")
    settings = Settings(store="duckdb://unused", data_dir=tmp_path / "data", experiences_file=storefront_file, writer_interval_seconds=0.02)
    app = create_app(settings, store=store, clock=lambda: CLOCK)
    with TestClient(app) as client:
        svc = app.state.services
        assert client.get("/ready").json()["ready"]
        assert client.put("/v1/experiences/coffee", json=COFFEE).status_code == 200
        assert client.put("/v1/experiences/default", json=DEFAULT).status_code == 200
        before = client.get(f"/v1/storefront/{user}").json()
        assert before["audience"] != "coffee" and "coffee" not in before["audiences"]
        assert _module(before, "greeting")[0]["need"] != "coffee"
        assert not any(r["scene"] == "similar" for r in _module(before, "rail"))  # nothing viewed yet

        views = [{"event_id": f"live-{i}", "user_id": user, "item_id": item, "category_id": cat, "behavior": "view",
                  "ts": (CLOCK - dt.timedelta(minutes=3 - i)).isoformat()} for i, item in enumerate(items)]
        assert client.post("/v1/events", json={"events": views}).json() == {"accepted": 3, "rejected": []}

        live = client.get(f"/v1/storefront/{user}").json()  # the very next page, before any batch job
        assert _module(live, "greeting")[0]["need"] == "coffee"
        assert "predicted need 'coffee' from recent activity" in live["reasons"]
        similar = [r for r in _module(live, "rail") if r["scene"] == "similar"]
        assert similar and similar[0]["items"] and not {i["item_id"] for i in similar[0]["items"]} & set(items)
        home_before = [i["item_id"] for r in _module(before, "rail") if r["scene"] == "home" for i in r["items"]]
        home_after = [i["item_id"] for r in _module(live, "rail") if r["scene"] == "home" for i in r["items"]]
        assert home_after != home_before  # live events re-rank the home rail

        assert svc.log.drain(30)  # the three views are in the store; rebuild audiences as a batch job would
        counts = svc.locked(materialize, store, AS_OF)
        assert counts.counts["coffee"] >= 1
        assert client.post("/v1/admin/refresh").status_code == 200
        after = client.get(f"/v1/storefront/{user}").json()
        assert after["audience"] == "coffee" and after["experience"]["audience"] == "coffee"
        assert _module(after, "hero")[0]["title"] == "Coffee week"
        assert _module(after, "greeting")[0]["text"] == "Fancy a coffee?"  # Taobao has no names: the name is left out
        assert _module(after, "coupon")[0]["code"] == "COFFEE15"

        assert svc.log.drain(30)
        ex = store.table("exposures")
        logged = svc.locked(store.execute, ex.filter(ex.user_id == user).order_by("ts"))
    pages = {p["page_id"]: p for p in (before, live, after)}
    assert set(logged.exposure_id) == set(pages)
    for row in logged.itertuples():
        assert json.loads(row.page) == shown(pages[row.exposure_id])
    assert set(logged.audience.fillna("-")) == {before["audience"] or "-", live["audience"] or "-", "coffee"}
