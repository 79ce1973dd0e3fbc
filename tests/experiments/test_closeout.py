"""Close-out segments (new/returning customer, audience, creative) against pandas; capped revenue."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qianmian.errors import NotFoundError
from qianmian.experiments import ExperimentRegistry, log_exposures
from qianmian.experiments.closeout import closeout, lift_rows
from qianmian.experiments.reports import experiment_report
from qianmian.store import connect

from .scenario import AS_OF, EXPERIMENT, reference_per_unit, scenario


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    s = connect(f"duckdb:///{tmp_path_factory.mktemp('closeout') / 's.duckdb'}")
    exp, ev = scenario(2000, seed=21)
    log_exposures(s, exp)
    s.append("events", ev)
    ExperimentRegistry(s).create(EXPERIMENT)
    yield s, exp, ev
    s.close()


def _segments(exp: pd.DataFrame, ev: pd.DataFrame) -> pd.DataFrame:
    end = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)
    e = exp[exp.ts < end].sort_values("ts")
    first = e.groupby("user_id").agg(variant=("variant", "min"), nv=("variant", "nunique"), first=("ts", "min"),
                                      audience=("audience", "first"), page=("page", "first"))
    first = first[first.nv == 1]
    buys = ev[(ev.behavior == "buy") & ev.user_id.notna() & (ev.ts < end)].merge(first[["first"]], left_on="user_id", right_index=True)
    returning = set(buys[buys.ts < buys["first"]].user_id)
    first["customer"] = np.where(first.index.isin(returning), "returning", "new")
    first["creative"] = first.page.str.extract(r'"creative_id": "([^"]*)"', expand=False)
    return first


def test_segment_counts_and_conversion_match_pandas(loaded):
    store, exp, ev = loaded
    c = closeout(store, "cny-2024", as_of=AS_OF, metrics=["purchase_conversion"])
    seg = _segments(exp, ev)
    conv = reference_per_unit(exp, ev, AS_OF, EXPERIMENT.window_days, EXPERIMENT.pre_days).purchase_conversion
    seg["conv"] = conv.reindex(seg.index)
    got = {(s.dimension, s.segment, r.variant): r for s in c.segments for r in s.results}
    for dim in ("customer", "audience", "creative"):
        for (value, variant), g in seg.groupby([dim, "variant"]):
            r = got[(dim, value, variant)]
            assert r.n == len(g), (dim, value, variant)
            assert r.mean == pytest.approx(g.conv.mean(), abs=1e-12)
    assert {s.dimension for s in c.segments} == {"customer", "audience", "creative"}
    assert c.report.units["test"] + c.report.units["control"] == len(seg)
    rows = lift_rows(c)
    assert rows[0]["label"] == "all (test)" and len(rows) == 1 + len(c.segments)
    assert "Benjamini-Hochberg" in c.summary


def test_unknown_campaign(loaded):
    with pytest.raises(NotFoundError):
        closeout(loaded[0], "no-such-campaign", as_of=AS_OF)


def test_revenue_capped_at_the_pooled_percentile(loaded):
    store, exp, ev = loaded
    rep = experiment_report(store, EXPERIMENT.name, as_of=AS_OF, metrics=["revenue_capped"], cuped=False)
    ref = reference_per_unit(exp, ev, AS_OF, EXPERIMENT.window_days, EXPERIMENT.pre_days)
    capped = np.minimum(ref.revenue, np.quantile(ref.revenue, 0.99))
    for v in ("test", "control"):
        r = next(x for x in rep.results if x.variant == v)
        assert r.mean == pytest.approx(capped[ref.variant == v].mean(), rel=1e-9)
    with_pre = experiment_report(store, EXPERIMENT.name, as_of=AS_OF, metrics=["revenue_capped"])
    treated = next(x for x in with_pre.results if x.comparison is not None)
    assert treated.comparison.method == "cuped"
    assert treated.mean == pytest.approx(capped[ref.variant == "test"].mean(), rel=1e-9)  # the plain mean is shown
