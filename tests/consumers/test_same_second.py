"""Must-show: a tag set and then removed at the same second reads the same — removed — in audiences
(a `tag(...)` rule), recommendations (the recommend service's view of tags, and its tag filter) and
the storefront page; a later set reads as set in all three. Real data: the bundled Taobao slice."""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import pytest

from qianmian.audiences.membership import preview
from qianmian.consumers.snapshot import Consumers
from qianmian.consumers.tags import remove_tags, set_tags
from qianmian.demo import AS_OF, slice_path
from qianmian.ingest import ingest_file
from qianmian.recommend import RecommendService, train
from qianmian.recommend.train import DEFAULT_MODELS
from qianmian.store import connect
from qianmian.storefront.config import StorefrontFile
from qianmian.storefront.input import TagService
from qianmian.storefront.service import Collaborators, StorefrontService

T = dt.datetime(2017, 12, 3, 10, 0, 0)
NOW = dt.datetime(2017, 12, 4, 9)
RULE = 'tag("unscented")'


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """The slice in a DuckDB store, and popularity + co-visitation models trained on it."""
    root = tmp_path_factory.mktemp("same-second")
    store = connect(f"duckdb:///{root / 'store.duckdb'}")
    ingest_file(store, slice_path(), layout="taobao")
    specs = [m for m in DEFAULT_MODELS if m.name in ("popular", "trending", "covisit")]
    train(store, as_of=AS_OF, models_dir=root / "models", models=specs, holdout_days=None)
    yield store, root / "models"
    store.close()


def _shopper_and_items(store, models):
    """A real shopper, an item they viewed, and that item's nearest neighbour (tagged "scented")."""
    svc = RecommendService.load(models, store=store)
    ev = store.execute(store.table("events").filter(lambda t: t.behavior == "view").select("user_id", "item_id").limit(2000))
    for row in ev.itertuples():
        near = svc.similar(row.item_id, 5) if svc.bundle.items.get(row.item_id) is not None else []
        if near and near[0].score > 0:
            return row.user_id, row.item_id, near[0].item_id
    raise AssertionError("no item with a neighbour in the slice")


def _similar(svc: RecommendService, user: str, anchor: str) -> set[str]:
    return {r.item_id for r in svc.recommend(user, "similar", 20, item_id=anchor)}


def _page_tags(sf: StorefrontService, user: str) -> list[str]:
    return sf.page(user, now=NOW)[0]["tags"]


def test_same_second_set_and_removal_reads_removed_everywhere(demo):
    store, models = demo
    user, anchor, scented = _shopper_and_items(store, models)
    store.append("items", pd.DataFrame({"item_id": [scented], "tags": ["scented"]}))
    # the removal is logged before the set, both at the same second: the removal still wins
    remove_tags(store, user, ["unscented"], source="self", ts=T)
    set_tags(store, user, ["unscented"], source="self", ts=T)

    assert user not in preview(store, RULE, as_of=AS_OF, sample=100).sample  # audiences
    svc = RecommendService.load(models, store=store)  # recommendations, loading tags themselves
    assert svc.consumers.tags_of(user) == () and scented in _similar(svc, user, anchor)
    shared = Consumers()
    sf = StorefrontService(store, lock=threading.RLock(), config=StorefrontFile(), consumers=shared,
                           collaborators=Collaborators(load_recommender=lambda st, aud, cons: RecommendService.load(
                               models, store=st, audience_of=aud, consumers=cons)))
    sf.refresh()
    assert sf.products.load_models() == "trained models"
    assert _page_tags(sf, user) == []  # the page

    # a set one second later is a set everywhere; through the tag service the recommender sees it at once
    TagService(store, lock=sf.lock, consumers=shared).set_tags(user, ["unscented"], now=T + dt.timedelta(seconds=1))
    assert preview(store, RULE, as_of=AS_OF, sample=100).sample == [user]
    assert sf.products.serving.consumers is shared and scented not in _similar(sf.products.serving, user, anchor)
    assert _page_tags(sf, user) == ["unscented"]
    assert RecommendService.load(models, store=store).consumers.tags_of(user) == ("unscented",)


def test_the_popular_rail_is_the_trained_popularity_when_models_are_loaded(demo):
    store, models = demo
    sf = StorefrontService(store, lock=threading.RLock(), config=StorefrontFile(),
                           collaborators=Collaborators(load_recommender=lambda st, aud, cons: RecommendService.load(
                               models, store=st, audience_of=aud, consumers=cons)))
    sf.refresh()
    fallback_page = sf.page("new-shopper", now=NOW)[0]
    sf.products.load_models()
    trained_page = sf.page("new-shopper", now=NOW)[0]

    def popular(page, source):
        """The popular rail's items and why, and what `source` ranks first after the rails above it."""
        rails = [m for m in page["modules"] if m["type"] == "rail"]
        above = {i["item_id"] for m in rails if m["scene"] != "popular" for i in m["items"]}
        items = [i["item_id"] for m in rails if m["scene"] == "popular" for i in m["items"]]
        why = next(r for r in page["decision"]["rails"] if r["scene"] == "popular")["source"]
        expected = [r.item_id for r in source(len(items) + len(above)) if r.item_id not in above][: len(items)]
        return items, why, expected

    items, why, expected = popular(trained_page, sf.products.serving.popular)
    assert items and items == expected and "trained models" in why
    items, why, expected = popular(fallback_page, sf.products.fallback.popular)
    assert items and items == expected and "no trained models" in why
