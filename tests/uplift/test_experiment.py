"""Uplift on an experiment stored in Qianmian: a coupon test built in code whose effect is known —
the coupon moves only shoppers who carted in the month before (buy rate 10% → 30%), everyone else
buys at 10% either way. The model must find the carters; RFM (past purchases, unrelated) cannot."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from qianmian.audiences.membership import preview_audience
from qianmian.cli import app
from qianmian.errors import InputError
from qianmian.experiments import Experiment, ExperimentRegistry, Variant, assign_many
from qianmian.experiments.exposures import log_exposures
from qianmian.store import connect
from qianmian.uplift.fit import MODEL, RFM, FitOptions, fit_experiment

START = dt.datetime(2024, 5, 1)
AS_OF = dt.date(2024, 5, 20)
N = 3000
COUPON = Experiment("coupon", (Variant("coupon", 1), Variant("control", 1)), window_days=7, pre_days=0,
                    metrics=("purchase_conversion",), start=START, end=dt.datetime(2024, 5, 4))


def _events(users: np.ndarray, carter: np.ndarray, treated: np.ndarray, first: pd.Series, rng) -> pd.DataFrame:
    before = pd.Timestamp(START) - pd.to_timedelta(rng.integers(1, 28 * 86400, N), unit="s")
    past_buy = rng.random(N) < 0.4  # purchase history, unrelated to who the coupon moves
    buys_now = rng.random(N) < 0.10 + 0.20 * (treated & carter)
    rows = [
        pd.DataFrame({"user_id": users, "behavior": "view", "ts": before}),
        pd.DataFrame({"user_id": users[carter], "behavior": "cart", "ts": before[carter] + pd.Timedelta(minutes=5)}),
        pd.DataFrame({"user_id": users[past_buy], "behavior": "buy", "ts": before[past_buy] - pd.Timedelta(days=30),
                      "amount": rng.gamma(2, 30, past_buy.sum())}),
        pd.DataFrame({"user_id": users[buys_now], "behavior": "buy", "ts": first[buys_now] + pd.Timedelta(days=2), "amount": 50.0}),
    ]
    ev = pd.concat(rows, ignore_index=True)
    return ev.assign(event_id=[f"e{i}" for i in range(len(ev))], item_id="i1", category_id="c1")


def _build(store) -> dict[str, bool]:
    """The coupon test in `store`; returns who carted (the shoppers the coupon moves)."""
    rng = np.random.default_rng(11)
    users = np.char.add("s", np.arange(N).astype(str))
    carter = rng.random(N) < 0.5
    variant = assign_many(COUPON, users).astype(str)
    first = pd.Series(pd.Timestamp(START) + pd.to_timedelta(rng.integers(0, 2 * 86400, N), unit="s"))
    ExperimentRegistry(store).create(COUPON)
    log_exposures(store, pd.DataFrame({"experiment": "coupon", "variant": variant, "user_id": users, "ts": first}))
    store.append("events", _events(users, carter, variant == "coupon", first, rng), dedupe=False)
    return dict(zip(users, carter))


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    path = tmp_path_factory.mktemp("coupon") / "store.duckdb"
    store = connect(f"duckdb:///{path}")
    carter = _build(store)
    store.close()
    return path, carter


def test_the_model_finds_who_the_coupon_moves(shop):
    path, carter = shop
    store = connect(f"duckdb:///{path}")
    fitted = fit_experiment(store, "coupon", outcome="purchase_conversion", as_of=AS_OF, options=FitOptions(n_boot=100))
    r = fitted.result
    assert r.n_train + r.n_test == N and r.arms == {"treated": ["coupon"], "control": "control"}
    assert r.ate == pytest.approx(0.10, abs=0.04)  # half the shoppers gain 20 points
    assert r.qini[MODEL].low > 0 and r.qini[f"{MODEL} - {RFM}"].low > 0
    assert r.qini[RFM].low < 0 < r.qini[RFM].high
    top = fitted.ids[np.argsort(-fitted.uplift)[: len(fitted.ids) * 3 // 10]]
    assert np.mean([carter[u] for u in top]) > 0.7  # carters are half of everyone
    store.close()


def test_cli_fits_the_stored_experiment_and_saves_the_audience(shop):
    path, carter = shop
    url = f"duckdb:///{path}"
    done = CliRunner().invoke(app, ["uplift", "fit", "--experiment", "coupon", "--outcome", "purchase_conversion",
                                    "--as-of", str(AS_OF), "--bootstrap", "50", "--save", "coupon-buy",
                                    "--audience", "coupon-movers", "--top", "30%", "--store", url, "--json"])
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert out["saved"]["audience"]["rule"] == 'uplift_rank("coupon-buy") <= 30'
    assert out["qini"]["uplift model"]["low"] > 0
    store = connect(url)
    from qianmian.audiences import AudienceRegistry

    p = preview_audience(AudienceRegistry(store), "coupon-movers", as_of=AS_OF, sample=100)
    assert p.size == N * 3 // 10 and np.mean([carter[u] for u in p.sample]) > 0.7
    store.close()
    listed = CliRunner().invoke(app, ["uplift", "list", "--store", url, "--json"])
    assert [m["name"] for m in json.loads(listed.stdout)] == ["coupon-buy"]


def test_a_ratio_metric_or_missing_experiment_is_refused(shop):
    path, _ = shop
    store = connect(f"duckdb:///{path}")
    with pytest.raises(InputError, match="metric: expected a per-consumer metric"):
        fit_experiment(store, "coupon", outcome="average_order_value", as_of=AS_OF)
    with pytest.raises(LookupError, match="experiment 'nope'"):
        fit_experiment(store, "nope", outcome="purchase_conversion", as_of=AS_OF)
    store.close()


def test_every_engine_gives_the_same_scores(store, shop):
    """Rows come back from an engine in any order: the split and the scores must not depend on it."""
    path, _ = shop
    _build(store)
    options = FitOptions(n_boot=20)
    here = fit_experiment(store, "coupon", outcome="purchase_conversion", as_of=AS_OF, options=options)
    reference = connect(f"duckdb:///{path}")
    there = fit_experiment(reference, "coupon", outcome="purchase_conversion", as_of=AS_OF, options=options)
    reference.close()
    assert here.ids.tolist() == there.ids.tolist()
    np.testing.assert_allclose(here.uplift, there.uplift, rtol=0, atol=1e-12)
