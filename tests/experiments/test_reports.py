"""Per-variant metrics from exposures and later events, on DuckDB and Spark, against pandas."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qianmian.errors import ConflictError, NotFoundError
from qianmian.experiments import Experiment, ExperimentRegistry, Variant, log_exposures
from qianmian.experiments.metrics import BUILTIN, variant_statistics
from qianmian.experiments.reports import experiment_report, report_dict
from qianmian.store import connect

from .scenario import AS_OF, EXPERIMENT, reference_per_unit, scenario


def load(store, tmp_path, n=600, seed=1, drop_test=0.0):
    """Load the scenario. Events go through Parquet: on Spark, appending a pandas frame with
    missing strings currently stores the text "NaN" instead of NULL (reported to the store owner)."""
    exp, ev = scenario(n, seed, drop_test)
    log_exposures(store, exp)
    path = tmp_path / "events.parquet"
    pq.write_table(pa.Table.from_pandas(ev, preserve_index=False), path)
    store.append("events", store.con.read_parquet(str(path)))
    ExperimentRegistry(store).create(EXPERIMENT)
    return exp, ev


@pytest.mark.cluster  # experiments on the sc engine too
def test_variant_statistics_match_pandas_reference(store, tmp_path):
    exp, ev = load(store, tmp_path)
    metrics = [BUILTIN[m] for m in EXPERIMENT.metrics]
    expr = variant_statistics(store.table("exposures"), store.table("events"), EXPERIMENT.name, metrics,
                              as_of=AS_OF, window_days=7, pre_days=14, start=EXPERIMENT.start, end=EXPERIMENT.end)
    got = store.execute(expr).set_index("variant")
    ref = reference_per_unit(exp, ev, AS_OF, 7, 14)
    by = ref.groupby("variant")
    assert got.loc["test", "multiple_exposures"] == 2
    for v in ("test", "control"):
        r = by.get_group(v)
        assert got.loc[v, "n"] == len(r)
        expect = {
            "purchase_conversion__sum": r.purchase_conversion.sum(), "click_through__sum": r.click_through.sum(),
            "browse_conversion__sum": r.browse_num.sum(), "browse_conversion__dsum": r.viewed.sum(),
            "visitor_conversion__dsum": r.visited.sum(), "bounce_rate__sum": r.bounced.sum(),
            "bounce_rate__dsum": r.sessions.sum(), "average_order_value__sum": r.amount.sum(),
            "average_order_value__dsum": r.orders.sum(), "gmv_per_visitor__sum": r.revenue.sum(),
            "gmv_per_visitor__ss": (r.revenue**2).sum(), "average_order_value__xy": (r.amount * r.orders).sum(),
        }
        for col, want in expect.items():
            assert got.loc[v, col] == pytest.approx(want, rel=1e-9, abs=1e-9), (v, col)


def test_report_on_the_registry_experiment(store, tmp_path):
    load(store, tmp_path, n=800, seed=3)
    rep = experiment_report(store, EXPERIMENT.name, as_of=AS_OF)
    assert not rep.srm.mismatch
    assert rep.multiple_exposures == 2
    doc = report_dict(rep)
    names = {r["metric"] for r in doc["results"]}
    assert names == set(EXPERIMENT.metrics)
    conv = next(r for r in doc["results"] if r["metric"] == "purchase_conversion" and r["variant"] == "test")
    assert conv["lift_rel"] > 0 and conv["ci_low"] < conv["lift_rel"] < conv["ci_high"]
    assert "purchase conversion" in rep.summary and "95% CI" in rep.summary


@pytest.fixture
def duck(tmp_path):
    """A DuckDB store for tests whose engine independence is covered above (Spark is slow)."""
    s = connect(f"duckdb:///{tmp_path / 'exp.duckdb'}")
    yield s
    s.close()


def test_a_deliberately_broken_split_is_flagged(duck, tmp_path):
    store = duck
    load(store, tmp_path, n=1500, seed=4, drop_test=0.35)
    rep = experiment_report(store, EXPERIMENT.name, as_of=AS_OF, metrics=["purchase_conversion"])
    assert rep.srm.mismatch and rep.srm.p_value < 0.001
    assert rep.summary.count("sample-ratio mismatch") == 1


def test_registry_rules(duck):
    reg = ExperimentRegistry(duck)
    reg.create(Experiment("a", (Variant("x"), Variant("y")), layer="home", layer_range=(0, 0.5)))
    with pytest.raises(ConflictError, match="overlaps"):
        reg.create(Experiment("b", (Variant("x"), Variant("y")), layer="home", layer_range=(0.4, 1)))
    with pytest.raises(ConflictError, match="already exists"):
        reg.create(Experiment("a", (Variant("x"), Variant("y"))))
    reg.create(Experiment("c", (Variant("x"), Variant("y")), layer="home", layer_range=(0.5, 1)))
    assert [e.name for e in reg.list()] == ["a", "c"]
    assert reg.get("c").layer_range == (0.5, 1.0)
    with pytest.raises(NotFoundError):
        reg.get("nope")


def test_behaviour_filter_metrics_and_module(duck, tmp_path):
    load(duck, tmp_path, n=600, seed=5)
    ExperimentRegistry(duck).create(Experiment("mods", EXPERIMENT.variants, metrics=("exists:click@hero", "count:cart")))
    rep = experiment_report(duck, EXPERIMENT.name, as_of=AS_OF, cuped=False,
                            metrics=["click_through", "exists:click@hero", "exists:click@other", "count:cart"])
    mean = {(r.metric, r.variant): r.mean for r in rep.results}
    for v in ("test", "control"):
        assert mean[("exists:click@hero", v)] == mean[("click_through", v)] > 0
        assert mean[("exists:click@other", v)] == 0.0
        assert mean[("count:cart", v)] > 0
    other = next(r for r in rep.results if r.metric == "exists:click@other" and r.comparison is not None)
    assert other.comparison.error == "ZERO_CONTROL_MEAN"  # one bad metric does not blank the report


def _by(doc, metric, variant):
    return next(r for r in doc["results"] if r["metric"] == metric and r["variant"] == variant)


def test_cuped_reports_adjusted_means_beside_the_raw_ones(duck, tmp_path):
    load(duck, tmp_path, n=800, seed=3)
    on = report_dict(experiment_report(duck, EXPERIMENT.name, as_of=AS_OF, metrics=["purchase_conversion"]))
    off = report_dict(experiment_report(duck, EXPERIMENT.name, as_of=AS_OF, metrics=["purchase_conversion"], cuped=False))
    assert on["cuped"] and on["cuped_metrics"] == ["purchase_conversion"] and off["cuped_metrics"] == []
    t, c = _by(on, "purchase_conversion", "test"), _by(on, "purchase_conversion", "control")
    assert (t["mean"], c["mean"]) == (_by(off, "purchase_conversion", "test")["mean"], _by(off, "purchase_conversion", "control")["mean"])
    assert t["adjusted_mean"] != t["mean"] and c["adjusted_mean"] != c["mean"]  # the scenario's pre-period explains some of the outcome
    assert t["lift_rel"] == pytest.approx(t["adjusted_mean"] / c["adjusted_mean"] - 1)  # the lift is on the adjusted means
    assert "CUPED-adjusted" in experiment_report(duck, EXPERIMENT.name, as_of=AS_OF, metrics=["purchase_conversion"]).summary


def test_no_pre_period_means_no_adjustment_and_the_same_p_value(duck, tmp_path):
    exposures, _ = load(duck, tmp_path, n=800, seed=3)
    ExperimentRegistry(duck).create(Experiment("no-pre", EXPERIMENT.variants, start=EXPERIMENT.start, end=EXPERIMENT.end, window_days=7, pre_days=0))
    log_exposures(duck, exposures.assign(experiment="no-pre"))  # the same shoppers, no pre-period window
    on = report_dict(experiment_report(duck, "no-pre", as_of=AS_OF, metrics=["purchase_conversion", "gmv_per_visitor"]))
    off = report_dict(experiment_report(duck, "no-pre", as_of=AS_OF, metrics=["purchase_conversion", "gmv_per_visitor"], cuped=False))
    assert on["cuped_metrics"] == []
    for metric in ("purchase_conversion", "gmv_per_visitor"):
        a, b = _by(on, metric, "test"), _by(off, metric, "test")
        assert a["adjusted_mean"] is None and a["method"] == b["method"] != "cuped"
        assert (a["mean"], a["lift_rel"], a["p_value"]) == (b["mean"], b["lift_rel"], b["p_value"])


def test_the_srm_threshold_is_reported_and_changes_the_verdict(duck, tmp_path):
    load(duck, tmp_path, n=1500, seed=4, drop_test=0.1)
    default = experiment_report(duck, EXPERIMENT.name, as_of=AS_OF, metrics=["purchase_conversion"])
    p = default.srm.p_value
    assert report_dict(default)["srm"]["threshold"] == 0.001 and not default.srm.mismatch and p > 0.001
    strict = experiment_report(duck, EXPERIMENT.name, as_of=AS_OF, metrics=["purchase_conversion"], srm_threshold=(1 + p) / 2)
    assert strict.srm.mismatch and f"< {strict.srm.threshold:g}" in strict.summary
    with pytest.raises(ValueError, match="srm_threshold"):
        experiment_report(duck, EXPERIMENT.name, as_of=AS_OF, metrics=["purchase_conversion"], srm_threshold=1.5)
