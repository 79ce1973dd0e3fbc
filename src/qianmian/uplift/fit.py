"""Fit an uplift model on a training split of a randomized test, judge it on the held-out split
against random targeting and RFM targeting, and score the consumers a brand wants to target.

`fit_uplift(rct, population)` does it all and returns an `UpliftFit`: the report (`result`) and
every population consumer's predicted uplift (`ids`, `uplift`), ready for `scores.save_model`.
The model that is judged on the test split is the one that scores: it is not refitted on all rows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from qianmian.errors import InputError
from qianmian.uplift.data import RCT, FeatureEncoder
from qianmian.uplift.evaluate import Interval, bootstrap_qini, qini_curve, uplift_at
from qianmian.uplift.learners import LearnerSpec, fit_learner

MODEL, RFM, RANDOM = "uplift model", "RFM score", "random"
CURVE_POINTS = 101


@dataclass(frozen=True)
class FitOptions:
    """Split, learner and evaluation settings (seeded, so a fit is reproducible)."""

    learner: LearnerSpec = field(default_factory=LearnerSpec)
    test_size: float = 0.3
    ks: tuple[float, ...] = (0.1, 0.2, 0.3, 0.5)
    n_boot: int = 200
    level: float = 0.95
    random_state: int = 0

    def __post_init__(self) -> None:
        if not 0.05 <= self.test_size <= 0.8:
            raise InputError("test_size", "a fraction from 0.05 to 0.8", self.test_size)
        if not self.ks or any(not 0 < k <= 1 for k in self.ks):
            raise InputError("k", "fractions in (0, 1]", self.ks)


@dataclass(frozen=True)
class UpliftResult:
    """The test-split evaluation. `qini` holds each targeting's Qini coefficient with its bootstrap
    interval, plus the model's difference from RFM (`"uplift model - RFM score"`) when RFM exists."""

    source: str
    arms: dict[str, Any]
    n_train: int
    n_test: int
    left_out: int
    ate: float
    learner: dict[str, Any]
    qini: dict[str, Interval]
    uplift_at_k: list[dict[str, float]]
    curves: dict[str, dict[str, list[float]]]
    verdict: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["qini"] = {k: v.to_dict() for k, v in self.qini.items()}
        return d


@dataclass(frozen=True)
class UpliftFit:
    result: UpliftResult
    ids: np.ndarray
    uplift: np.ndarray


def fit_uplift(rct: RCT, population: tuple[np.ndarray, pd.DataFrame] | None = None, *, options: FitOptions = FitOptions()) -> UpliftFit:
    """Split `rct`, fit, evaluate on the test split and score `population` (ids, feature frame;
    default: the RCT's own consumers)."""
    if len(rct) < 100:
        raise InputError("data", "at least 100 consumers in the treated and control arms", len(rct))
    strata = rct.treatment * 2 + (rct.outcome > 0)
    train, test = train_test_split(np.arange(len(rct)), test_size=options.test_size, stratify=strata,
                                   random_state=options.random_state)
    encoder = FeatureEncoder.fit(rct.features.iloc[train])
    X = encoder.transform(rct.features)
    model = fit_learner(X[train], rct.treatment[train], rct.outcome[train], spec=options.learner)
    result = evaluate(rct, test, model.predict(X[test]), n_train=len(train), options=options)
    ids, frame = population if population is not None else (rct.ids, rct.features)
    return UpliftFit(result, np.asarray(ids).astype(str), model.predict(encoder.transform(frame)))


def evaluate(rct: RCT, test: np.ndarray, predicted: np.ndarray, *, n_train: int, options: FitOptions) -> UpliftResult:
    """Qini with intervals and uplift at k for the model, RFM (when known) and random targeting."""
    y, t = rct.outcome[test], rct.treatment[test].astype(float)
    rng = np.random.default_rng(options.random_state + 1)
    scores = {MODEL: predicted, RANDOM: rng.permutation(len(test)).astype(float)}
    rfm = rfm_score(rct.rfm.iloc[test])
    if rfm is not None:
        scores[RFM] = rfm
    qini = bootstrap_qini(scores, y, t, baseline=RFM if rfm is not None else None, n_boot=options.n_boot,
                          level=options.level, random_state=options.random_state)
    qini = {name: v for name, v in qini.items() if not name.startswith(f"{RANDOM} - ")}
    ate = float(y[t == 1].mean() - y[t == 0].mean())
    at_k = [{"k": k, **{name: uplift_at(s, y, t, k) for name, s in scores.items() if name != RANDOM}, RANDOM: ate}
            for k in options.ks]
    return UpliftResult(
        source=rct.source, arms=rct.arms, n_train=n_train, n_test=len(test), left_out=rct.left_out, ate=ate,
        learner=options.learner.to_dict(), qini=qini, uplift_at_k=at_k,
        curves={name: _curve(s, y, t) for name, s in scores.items()}, verdict=verdict(qini, options.level),
    )


def rfm_score(rfm: pd.DataFrame) -> np.ndarray | None:
    """R + F + M quintile scores (`metrics.rfm.rfm_scores`, run by an in-memory DuckDB); None when
    the data carry none of recency, frequency and monetary. Unknown recency ranks as the oldest,
    unknown frequency and monetary as 0."""
    import ibis

    from qianmian.metrics.rfm import rfm_scores
    from qianmian.store import connect

    if rfm.isna().all().all():
        return None
    frame = pd.DataFrame({
        "row": np.arange(len(rfm)),
        "recency_days": rfm.recency_days.fillna(rfm.recency_days.max() + 1 if rfm.recency_days.notna().any() else 0),
        "frequency": rfm.frequency.fillna(0.0), "monetary": rfm.monetary.fillna(0.0),
    }).astype(float)
    store = connect("duckdb://", migrate=False)
    try:
        scored = rfm_scores(ibis.memtable(frame), bins=5)
        out = store.execute(scored.select("row", total=scored.r + scored.f + scored.m))
    finally:
        store.close()
    return out.sort_values("row").total.to_numpy(float)


def _curve(score: np.ndarray, y: np.ndarray, t: np.ndarray) -> dict[str, list[float]]:
    x, g = qini_curve(score, y, t)
    grid = np.linspace(0, 1, CURVE_POINTS)
    return {"share": grid.round(4).tolist(), "gain": np.interp(grid, x, g).tolist()}


def verdict(qini: dict[str, Interval], level: float) -> list[str]:
    """Plain sentences: does the model beat random targeting, and RFM targeting?"""
    m = qini[MODEL]
    pct = f"{level:.0%}"
    lines = [f"Uplift model Qini {m.estimate:.4f} ({pct} interval {m.low:.4f} … {m.high:.4f}): "
             + ("better than random targeting (0)." if m.low > 0
                else "worse than random targeting (0)." if m.high < 0 else "not distinguishable from random targeting (0).")]
    diff = qini.get(f"{MODEL} - {RFM}")
    if diff is not None:
        r = qini[RFM]
        word = "beats" if diff.low > 0 else ("does worse than" if diff.high < 0 else "shows no real gain over")
        lines.append(f"RFM targeting Qini {r.estimate:.4f} ({r.low:.4f} … {r.high:.4f}); the model {word} RFM "
                     f"targeting: difference {diff.estimate:+.4f} ({diff.low:+.4f} … {diff.high:+.4f}).")
    return lines


def fit_file(path: str, *, options: FitOptions = FitOptions(), **columns: Any) -> UpliftFit:
    """`fit_uplift` on a per-consumer file (`data.from_file` options); every row of the file is
    scored, whatever its arm (ids: `id_col`, else the 0-based row number)."""
    from qianmian.uplift.data import from_frame, read_table

    frame = read_table(path)
    rct = from_frame(frame, source=str(path), **columns)
    id_col = columns.get("id_col")
    ids = frame[id_col].astype(str).to_numpy() if id_col else np.arange(len(frame)).astype(str)
    return fit_uplift(rct, (ids, frame[list(rct.features.columns)]), options=options)


def fit_experiment(store: Any, name: str, *, outcome: str, as_of: Any, treated: list[str] | None = None,
                   options: FitOptions = FitOptions()) -> UpliftFit:
    """`fit_uplift` on a stored experiment (`data.from_experiment`); scores every consumer of the
    store from the feature table as of `as_of`."""
    from qianmian.uplift.data import feature_frame, from_experiment

    rct = from_experiment(store, name, metric=outcome, as_of=as_of, treated=treated)
    everyone = feature_frame(store, as_of=as_of)
    return fit_uplift(rct, (everyone.user_id.to_numpy(), everyone[list(rct.features.columns)]), options=options)
