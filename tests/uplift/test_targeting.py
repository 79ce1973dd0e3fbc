"""The top 30% by predicted uplift as an audience: rule, preview, materialized members, and a
storefront page that gives a member the audience's experience (real app, real DuckDB store)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from qianmian.audiences import AudienceRegistry
from qianmian.audiences.membership import materialize, preview_audience, stored_members
from qianmian.errors import InputError, NotFoundError
from qianmian.store import connect
from qianmian.storefront import experiences as xp
from qianmian.uplift.scores import get_model, save_model
from qianmian.uplift.targeting import save_top_audience

NOW = dt.datetime(2008, 4, 1, 9, 0)
AS_OF = "2008-03-31"
COUPON = {"hero": {"title": "New in: women's spring"}, "coupon": {"code": "SPRING10", "title": "10 off this week"},
          "modules": ["hero", "coupon", "rails"]}


@pytest.fixture(scope="module")
def shop(tmp_path_factory, womens_visit):
    """Hillstrom's 64,000 customers as the store's consumers, the Womens-visit model's scores saved,
    and the top 30% saved as the audience `email-movers` with its own experience."""
    store = connect(f"duckdb:///{tmp_path_factory.mktemp('uplift') / 'store.duckdb'}")
    store.append("users", pd.DataFrame({"user_id": womens_visit.ids}), dedupe=False)
    save_model(store, "womens-visit", ids=womens_visit.ids, uplift=womens_visit.uplift,
               meta={"source": "hillstrom", "outcome": "visit", "learner": "x", "report": womens_visit.result.to_dict()}, now=NOW)
    save_top_audience(store, model="womens-visit", audience="email-movers", top=30, priority=10)
    xp.save(store, xp.parse_experience("email-movers", COUPON), now=NOW)
    return store


def _top30(womens_visit) -> set[str]:
    order = np.lexsort((womens_visit.ids, -womens_visit.uplift))
    return set(womens_visit.ids[order[:19_200]])


def test_the_audience_is_exactly_the_top_30_percent(shop, womens_visit):
    reg = AudienceRegistry(shop)
    audience = reg.get("email-movers")
    assert audience.rule == 'uplift_rank("womens-visit") <= 30'
    assert "place by predicted uplift" in audience.sentence()
    p = preview_audience(reg, "email-movers", as_of=AS_OF, sample=3)
    assert (p.size, p.total) == (19_200, 64_000)
    assert materialize(shop, AS_OF).counts["email-movers"] == 19_200
    members = set(shop.execute(stored_members(shop, "email-movers")).user_id)
    assert members == _top30(womens_visit)


def test_a_member_gets_the_audience_experience_on_the_storefront(shop, womens_visit, tmp_path):
    from fastapi.testclient import TestClient

    from qianmian.api import create_app
    from qianmian.config import Settings

    materialize(shop, AS_OF)
    top = _top30(womens_visit)
    member = min(top)
    outsider = next(u for u in womens_visit.ids if u not in top)
    settings = Settings(store="duckdb://", data_dir=tmp_path / "data")
    with TestClient(create_app(settings, store=shop, clock=lambda: NOW, recommender=None)) as client:
        page = client.get(f"/v1/storefront/{member}").json()
        assert page["audience"] == "email-movers"
        assert [m["code"] for m in page["modules"] if m["type"] == "coupon"] == ["SPRING10"]
        other = client.get(f"/v1/storefront/{outsider}").json()
        assert other["audience"] is None and not [m for m in other["modules"] if m.get("code") == "SPRING10"]
        model = client.get("/v1/uplift/models/womens-visit").json()
        assert model["outcome"] == "visit" and model["report"]["qini"]["uplift model"]["low"] > 0
        assert [m["name"] for m in client.get("/v1/uplift/models").json()] == ["womens-visit"]
        assert client.get("/v1/uplift/models/nope").status_code == 404


def test_saving_again_replaces_the_scores_and_moves_the_audience(tmp_path):
    store = connect(f"duckdb:///{tmp_path / 's.duckdb'}")
    ids = np.array([f"u{i}" for i in range(10)])
    store.append("users", pd.DataFrame({"user_id": ids}), dedupe=False)
    save_model(store, "m", ids=ids, uplift=np.arange(10.0), meta={}, now=NOW)
    save_top_audience(store, model="m", audience="movers", top=20)
    reg = AudienceRegistry(store)
    first = preview_audience(reg, "movers", as_of=AS_OF, sample=10).sample
    save_model(store, "m", ids=ids, uplift=-np.arange(10.0), meta={}, now=NOW)
    assert sorted(first) == ["u8", "u9"]
    assert sorted(preview_audience(reg, "movers", as_of=AS_OF, sample=10).sample) == ["u0", "u1"]
    assert int(store.execute(store.table("uplift_scores").count())) == 10
    assert sorted(preview_audience(reg, 'uplift("m") > -1.5', as_of=AS_OF, sample=10).sample) == ["u0", "u1"]


def test_bad_targets_are_refused_naming_the_field(tmp_path):
    store = connect(f"duckdb:///{tmp_path / 's.duckdb'}")
    with pytest.raises(NotFoundError, match="uplift model 'nope'"):
        save_top_audience(store, model="nope", audience="x", top=30)
    save_model(store, "m", ids=np.array(["a", "b"]), uplift=np.array([0.1, 0.2]), meta={}, now=NOW)
    with pytest.raises(InputError, match="top: expected a percentage"):
        save_top_audience(store, model="m", audience="x", top=0)
    with pytest.raises(InputError, match="model name"):
        save_model(store, "bad name;", ids=np.array(["a"]), uplift=np.array([0.1]), meta={}, now=NOW)
    with pytest.raises(InputError, match="scores"):
        save_model(store, "m", ids=np.array(["a", "a"]), uplift=np.array([0.1, 0.2]), meta={}, now=NOW)
    assert get_model(store, "m")["name"] == "m"


def test_uplift_rules_run_on_every_engine(store):
    """The compiled rule is one Ibis expression: the same members on DuckDB and on Spark."""
    ids = np.array([f"u{i}" for i in range(20)])
    store.append("users", pd.DataFrame({"user_id": ids}), dedupe=False)
    save_model(store, "m", ids=ids[:15], uplift=np.linspace(-1, 1, 15), meta={}, now=NOW)
    reg = AudienceRegistry(store)
    p = preview_audience(reg, 'uplift_rank("m") <= 20', as_of=AS_OF, sample=20)
    assert (p.size, p.total) == (3, 20) and sorted(p.sample) == ["u12", "u13", "u14"]
    assert preview_audience(reg, 'not uplift("m") > 0', as_of=AS_OF).size == 20 - 7  # unscored consumers have no uplift


def test_a_rule_naming_a_model_without_scores_warns(tmp_path):
    from qianmian.audiences.rules import check
    from qianmian.audiences.rules.hints import rule_warnings

    store = connect(f"duckdb:///{tmp_path / 's.duckdb'}")
    save_model(store, "email-visit", ids=np.array(["a", "b"]), uplift=np.array([0.1, 0.2]), meta={}, now=NOW)
    text = 'uplift_rank("email-vist") <= 30 or uplift("email-visit") > 0'
    (w,) = rule_warnings(store, check(text), text)
    assert (w.line, w.column) == (1, 13)
    assert 'no uplift model "email-vist" has saved scores (did you mean "email-visit"?)' in w.message
