"""Rolling-origin R1 and the served scene as an evaluation method (small slices; the full run is
benchmarks/recommend.py)."""

from __future__ import annotations

import datetime as dt
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from qianmian.cli import app
from qianmian.dates import end_of
from qianmian.errors import InputError
from qianmian.recommend.catalog import Catalog
from qianmian.recommend.evaluate.data import (
    _carve_new_items,
    load_rolling,
    parse_cutoffs,
)
from qianmian.recommend.evaluate.harness import Row, rolling_checks, with_peer_ratios
from qianmian.recommend.evaluate.served import served_topk
from qianmian.recommend.ids import IdMap
from qianmian.recommend.rules import Rules, blocked
from qianmian.recommend.service import RecommendService

from . import synthetic

AS_OF = dt.date(2024, 3, 20)  # as in conftest's models_dir


@pytest.fixture(scope="module")
def rolling(shared_data):
    return load_rolling("R1", shared_data, [dt.date(2010, 8, 1), dt.date(2010, 6, 1)])


def test_each_cutoff_is_carved_by_r1s_rules_with_its_own_windows(rolling):
    june, august = rolling  # sorted by date
    assert (june.cutoff, august.cutoff) == (dt.date(2010, 6, 1), dt.date(2010, 8, 1))
    assert june.validation.cutoff == dt.datetime(2010, 4, 1) and june.validation.end == dt.datetime(2010, 6, 1)
    assert june.test.end == dt.datetime(2010, 8, 1)  # up to the next cutoff
    assert august.test.end == dt.datetime(2010, 10, 1)  # the two months after the last one
    # the August validation window is carved like the June test window: same shoppers, same targets
    assert np.array_equal(june.test.user_ids.ids[june.test.users], august.validation.user_ids.ids[august.validation.users])
    assert np.array_equal(june.test.target_size, august.validation.target_size)
    for split in (june.test, august.test, august.validation):
        seen = split.train.matrix()[split.users] > 0
        assert seen.multiply(split.target).nnz == 0  # targets are items new to the shopper
        assert split.k == 20 and split.exclude_seen


def test_cutoffs_are_checked():
    assert parse_cutoffs("2010-08-01, 2010-06-01,2010-08-01") == [dt.date(2010, 6, 1), dt.date(2010, 8, 1)]
    with pytest.raises(InputError, match="--cutoffs"):
        parse_cutoffs("2010-13-01")
    with pytest.raises(InputError, match="--cutoffs"):
        parse_cutoffs(" , ")


def test_a_cutoff_without_two_months_before_it_is_refused(shared_data):
    with pytest.raises(InputError, match="two months of data before"):
        load_rolling("R1", shared_data, [dt.date(2010, 1, 1)])


def test_non_product_codes_are_never_recommended():
    catalog = Catalog.empty(IdMap(np.array(["POST", "85048", "DOT", "22423"], dtype=object)))
    assert blocked(catalog, Rules()).tolist() == [True, False, True, False]
    assert not blocked(catalog, Rules(products_only=False)).any()
    # a layout's [non_products] puts such items in the "non-product" category: that counts too
    import dataclasses

    by_category = Catalog.empty(IdMap(np.array(["GIFT_0001_10", "22423"], dtype=object)), np.array([3, 0]))
    assert blocked(dataclasses.replace(by_category, non_product_category=3), Rules()).tolist() == [True, False]
    assert not blocked(by_category, Rules()).any()


def test_served_lists_are_what_the_service_answers_minus_train_items(tiny_store, models_dir):
    events = synthetic.events()
    split = _carve_new_items("synthetic", events[["user_id", "item_id", "ts"]], pd.Timestamp(AS_OF - dt.timedelta(days=5)), None)
    assert len(split.users) > 50
    svc = RecommendService.load(models_dir, store=tiny_store)
    top = served_topk(svc, split)
    assert (top.ids >= 0).mean() > 0.8  # short only where a shopper has touched most of the 48 items
    assert top.ids.shape == (len(split.users), split.k)
    seen = split.train.matrix()[split.users]
    for r in range(len(split.users)):
        own = set(seen.indices[seen.indptr[r] : seen.indptr[r + 1]].tolist())
        got = [i for i in top.ids[r].tolist() if i >= 0]
        assert not own & set(got)
        uid = str(split.user_ids.ids[split.users[r]])
        served = [split.item_ids.get(x.item_id) for x in svc.recommend(uid, "home", split.k + len(own))]
        assert got == [i for i in served if i is not None and i not in own][: split.k]


def _row(method: str, family: str, user_recall: list[float]) -> Row:
    r = np.array(user_recall)
    return Row(method, family, 20, float(r.mean()), 0, 0, 0, 0, {}, cutoff="2010-06-01", user_recall=r)  # type: ignore[arg-type]


def test_ratios_to_the_best_peer_and_the_rules_cost():
    rng = np.random.default_rng(0)
    peer = rng.uniform(0, 0.3, 500)
    rows = with_peer_ratios(
        [
            _row("ease", "ours", list(peer * 1.1)),
            _row("served:home", "served", list(peer * 1.2)),
            _row("served:home (rules off)", "served", list(peer * 1.15)),
            _row("implicit ALS", "peer", list(peer)),
            _row("popularity", "peer", list(peer * 0.5)),
        ]
    )
    served = rows[1]
    assert served.vs_best_peer == pytest.approx(1.2, abs=1e-3)
    assert served.vs_best_peer_lo == pytest.approx(1.2, abs=1e-3) == served.vs_best_peer_hi  # exactly proportional
    (check,) = rolling_checks(rows)
    assert check["best_peer"] == "implicit ALS" and check["best_single"] == "ease"
    assert check["rules_cost"] == pytest.approx(-0.05 * peer.mean(), abs=1e-4)  # rules off is worse here


runner = CliRunner()


def test_evaluate_refuses_cutoffs_on_r2_and_a_store_without_cutoffs(shared_data):
    bad = runner.invoke(app, ["evaluate", "--protocol", "R2", "--cutoffs", "2010-06-01", "--data", str(shared_data)])
    assert bad.exit_code == 2 and "--cutoffs" in bad.output
    bad = runner.invoke(app, ["evaluate", "--protocol", "R1", "--store", "duckdb://", "--data", str(shared_data)])
    assert bad.exit_code == 2 and "--store" in bad.output


def test_evaluate_json_shows_progress_on_stderr_and_no_peer_warnings(shared_data):
    result = runner.invoke(
        app, ["evaluate", "--protocol", "R2", "--data", str(shared_data), "--methods", "popularity,implicit cosine", "--json"]
    )
    assert result.exit_code == 0, result.output
    assert [r["method"] for r in json.loads(result.stdout)] == ["popularity", "implicit cosine"]
    assert "R2" in result.stderr and "Warning" not in result.stderr


def test_peer_warnings_are_kept_out():
    from qianmian.cli.recommend import quiet_peer_warnings

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with quiet_peer_warnings():
            warnings.warn("OpenBLAS is configured to use 2 threads", RuntimeWarning, stacklevel=1)
    assert not seen


def test_blend_weights_fall_back_to_one_short_window_when_history_is_short(tiny_store):
    """20 days of synthetic events: no 28-day window has history before it, so a blend asking for
    two such windows learns on one window of `holdout_days`, exactly as a one-window blend does."""
    import dataclasses

    from qianmian.recommend.train import DEFAULT_MODELS, _blend_window, _checked, fit_bundle, learn_blend

    specs = _checked(DEFAULT_MODELS[:8])
    bundle = fit_bundle(tiny_store, as_of=AS_OF, specs=specs)
    home = dataclasses.replace(specs["home"], params={"holdout_days": 28.0, "windows": 2})
    got = learn_blend(tiny_store, home, specs, bundle, as_of=AS_OF, holdout_days=5.0)
    one = dataclasses.replace(home, params={"holdout_days": 5.0, "windows": 1})
    assert got == learn_blend(tiny_store, one, specs, bundle, as_of=AS_OF, holdout_days=5.0)
    parts = [specs[p] for p in home.parts]
    cutoff = end_of(AS_OF)
    assert _blend_window(tiny_store, parts, bundle, cutoff - dt.timedelta(days=28), 28.0) is None  # nothing before it
    short = _blend_window(tiny_store, parts, bundle, cutoff - dt.timedelta(days=5), 5.0)
    assert short is not None and short[2].nnz > 0  # the 5-day window has targets to learn from
