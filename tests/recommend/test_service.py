"""The serving object: every scene honours self-tags and stock, live events move `home`, reasons."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from qianmian.errors import InputError, NotFoundError
from qianmian.recommend import RecommendService, Rules
from qianmian.recommend.scenes import SCENES

from .synthetic import N_CATEGORIES, item_id

SCENTED = {item_id(c, j) for c in range(N_CATEGORIES) for j in range(1, 8, 2)}
OUT_OF_STOCK = item_id(0, 0)


@pytest.fixture
def svc(models_dir, tiny_store) -> RecommendService:
    return RecommendService.load(models_dir, store=tiny_store)


def ask(svc: RecommendService, user: str, scene: str, k: int = 12):
    return svc.recommend(user, scene, k, item_id=item_id(0, 2), cart=[item_id(0, 2), item_id(1, 2)])


def test_self_tags_load_latest_row_per_tag(svc):
    assert svc.consumers.tags_of("u1") == ("budget", "unscented")
    assert svc.consumers.tags_of("u4") == ()  # the tag was removed later
    assert not svc.consumers.consents("u7")


@pytest.mark.parametrize("scene", [s for s in SCENES if s != "layers"])
def test_unscented_shopper_never_sees_scented_items_and_nobody_sees_out_of_stock(svc, scene):
    for user in ("u1", "u0", "u3", "new-shopper"):
        got = {r.item_id for r in ask(svc, user, scene)}
        assert got, (scene, user)
        assert OUT_OF_STOCK not in got
        if user == "u1":
            assert not got & SCENTED, (scene, got & SCENTED)


def test_layers_skip_categories_with_nothing_to_show(svc):
    svc.set_stock([item_id(2, j) for j in range(8)], [0] * 8)
    for user in ("u1", "u2", "u5"):
        assert "cat2" not in {r.item_id for r in svc.recommend(user, "layers", 6)}
    svc.consumers.put_tags("u2", ["no-scent"])  # "no-<x>" excludes items tagged x; every category keeps unscented items
    assert {r.item_id for r in svc.recommend("u2", "layers", 6)} <= {f"cat{c}" for c in range(N_CATEGORIES)}


def test_a_view_moves_home_towards_the_items_neighbours_without_retraining(svc):
    user = "u0"  # taste 0: categories 0 and 1
    before = [r.item_id for r in svc.recommend(user, "home", 10)]
    target = item_id(4, 3)
    neighbours = {r.item_id for r in svc.similar(target, 10)}
    svc.observe({"user_id": user, "item_id": target, "behavior": "view", "ts": 1_710_900_000})
    after = svc.recommend(user, "home", 10)
    ids = [r.item_id for r in after]
    assert ids != before
    assert len(set(ids) & neighbours) > len(set(before) & neighbours)
    assert any(r.reason == "because you viewed Item 4-3" for r in after)


def test_home_excludes_bought_items_but_not_consumables(svc, tiny_store):
    events = tiny_store.execute(tiny_store.table("events"))
    bought = set(events[(events.user_id == "u2") & (events.behavior == "buy") & (events.ts < "2024-03-21")].item_id)
    got = {r.item_id for r in svc.recommend("u2", "home", 40)}
    assert not {b for b in bought if not b.startswith("c5-")} & got


def test_every_item_has_a_reason_and_scores_do_not_increase(svc):
    for scene in SCENES:
        recs = ask(svc, "u3", scene, 15)
        assert all(r.reason for r in recs), scene
        scores = [r.score for r in recs]
        assert all(a >= b - 1e-6 for a, b in itertools.pairwise(scores)), (scene, scores)


def test_cart_and_post_purchase(svc):
    cart = svc.recommend("u3", "cart", 10, cart=[item_id(2, 1)])
    assert item_id(2, 1) not in {r.item_id for r in cart}
    assert cart[0].reason.startswith("often bought with")
    after = svc.recommend("u3", "post_purchase", 10, item_id=item_id(2, 1))
    assert not any(r.item_id.startswith("c2-") for r in after)  # complements, not substitutes
    assert after[0].reason.startswith("goes with your")


def test_opted_out_shoppers_get_only_non_personal_answers(svc):
    home = svc.recommend("u7", "home", 10)
    assert {r.reason for r in home} == {"popular right now"}
    svc.observe({"user_id": "u7", "item_id": item_id(4, 1), "behavior": "view", "ts": 1})
    assert svc.live.recent("u7") == []  # never profiled
    assert [r.item_id for r in svc.recommend("u7", "home", 10)] == [r.item_id for r in home]


def test_audience_top_uses_any_grouping(models_dir, tiny_store):
    grouping = {f"u{u}": f"taste{u % 3}" for u in range(120)}
    svc = RecommendService.load(models_dir, store=tiny_store, audience_of=grouping)
    recs = svc.recommend("u5", "audience_top", 8)  # taste 2: categories 4 and 5
    assert sum(r.item_id.startswith(("c4-", "c5-")) for r in recs) >= 6
    assert recs[0].reason == "popular with your audience"
    cold = RecommendService.load(
        models_dir, store=tiny_store, audience_of=lambda u: "taste1" if u == "newcomer" or grouping.get(u) == "taste1" else None
    )
    first = cold.recommend("newcomer", "home", 8)  # unknown shopper: cold start from the audience
    assert sum(r.item_id.startswith(("c2-", "c3-")) for r in first) >= 6


def test_rules_diversity_pins_and_boosts(models_dir, tiny_store):
    rules = Rules(max_per_category=2, pinned=(item_id(3, 6), OUT_OF_STOCK), boosts=((item_id(1, 7), 100.0),))
    svc = RecommendService.load(models_dir, store=tiny_store, rules=rules)
    recs = svc.recommend("u0", "home", 8)
    ids = [r.item_id for r in recs]
    assert ids[0] == item_id(3, 6) and recs[0].reason == "featured by the shop"
    assert OUT_OF_STOCK not in ids  # a pin never overrides stock
    cats = [i.split("-")[0] for i in ids[1:]]
    assert max(cats.count(c) for c in set(cats)) <= 2


def test_forget_drops_personal_state(svc):
    svc.observe({"user_id": "u1", "item_id": item_id(4, 2), "behavior": "cart", "ts": 5})
    svc.forget("u1")
    assert svc.live.recent("u1") == [] and svc.consumers.tags_of("u1") == ("budget", "unscented")  # tags are the snapshot's
    assert {r.reason for r in svc.recommend("u1", "home", 5)} <= {"popular right now", "popular with your audience"}


def test_errors(svc):
    with pytest.raises(InputError, match="scene"):
        svc.recommend("u1", "checkout")
    with pytest.raises(InputError, match="item_id"):
        svc.recommend("u1", "similar")
    with pytest.raises(NotFoundError):
        svc.similar("no-such-item")
    with pytest.raises(InputError, match="behavior"):
        svc.observe({"user_id": "u1", "item_id": "x", "behavior": "teleport"})
    assert np.isfinite([r.score for r in svc.recommend("u1", "home", 3)]).all()


def test_layers_come_from_a_learned_ranker_that_puts_the_shoppers_tastes_first(svc):
    model = svc.bundle.model("layers")
    assert model.kind == "ranker" and not np.allclose(model.coef, np.eye(len(model.coef))[0])
    for user, taste in (("u0", 0), ("u4", 1), ("u5", 2)):  # shoppers browse the two categories of their taste
        top = svc.recommend(user, "layers", 2)
        assert {r.item_id for r in top} == {f"cat{2 * taste}", f"cat{2 * taste + 1}"}
        assert all(r.reason == "you often browse this" for r in top)


def test_a_bundle_serves_only_the_store_it_was_trained_on(models_dir, tiny_store, tmp_path):
    import json
    import shutil

    from qianmian.errors import ConflictError
    from qianmian.recommend.bundle import load_bundle, resolve
    from qianmian.store import connect

    path = resolve(models_dir)
    bundle = load_bundle(path)
    assert bundle.store_id == tiny_store.id and bundle.store_url == tiny_store.url
    assert bundle.cutoff == "2024-03-21T00:00:00"  # as_of 2024-03-20: through the end of that day
    other = connect("duckdb://")
    with pytest.raises(ConflictError) as refused:
        RecommendService.load(models_dir, store=other)
    said = str(refused.value)
    assert f"come from store {tiny_store.id} ({tiny_store.url})" in said
    assert f"the open store is {other.id} (duckdb://)" in said and "qianmian train --store duckdb://" in said
    old = tmp_path / "v0001"  # a bundle from before models recorded their store
    shutil.copytree(path, old)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["store_id"], manifest["store_url"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ConflictError, match="no recorded store"):
        RecommendService.load(tmp_path, store=tiny_store)
    other.close()
