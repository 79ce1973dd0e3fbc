"""Every method the harness compares: ours (from `qianmian.recommend.models`) and the peers.

A method is a name, a family ("ours" or "peer"), a small grid of configs and a `run(split, config)`
that fits on the split's train interactions and ranks items for its evaluation users. Our models'
configs include the matrix spec (decay, aggregate, transform); peers get the protocol's matrix as
defined (R1: distinct-invoice counts; R2: pv 1, fav 2, cart 3, buy 4) and their own
hyper-parameters, as their libraries expect.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from threadpoolctl import threadpool_limits

from qianmian.recommend.base import TopK, mask_seen, topk
from qianmian.recommend.evaluate.data import Protocol, Split
from qianmian.recommend.interactions import Interactions, MatrixSpec
from qianmian.recommend.models import build
from qianmian.recommend.models.ranker import RankerRecommender

Family = Literal["ours", "peer", "served"]
"""ours = our models as the harness fits them; peer = other libraries and baselines; served = the
scene a shopper gets from a trained bundle (`qianmian.recommend.evaluate.served`)."""
Config = Mapping[str, Any]


@dataclass(frozen=True)
class Run:
    """One fitted config on one split: its ranking, raw scores (ours only) and fit seconds."""

    top: TopK
    scores: np.ndarray | None
    train_s: float


@dataclass(frozen=True)
class Method:
    name: str
    family: Family
    configs: tuple[Config, ...]
    run: Callable[[Split, Config], Run]


ENSEMBLES = frozenset({"blend", "ranker"})
"""Methods that combine other models: never a blend part, and not a "single model" when the blend
is compared with its best part (each ensemble is measured against the models it combines)."""


# -- ours ---------------------------------------------------------------------------------------
SPEC_KEYS = ("half_life_days", "aggregate", "transform")


def spec_of(config: Config) -> MatrixSpec:
    return MatrixSpec(**{k: config[k] for k in SPEC_KEYS if k in config})


def run_ours(kind: str) -> Callable[[Split, Config], Run]:
    def run(split: Split, config: Config) -> Run:
        x = split.train.spec_matrix(spec_of(config))
        model = build(kind, _model_params(config))
        t0 = time.perf_counter()
        model.fit(x)
        train_s = time.perf_counter() - t0
        rows = x[split.users]
        scores = np.array(model.score(rows, split.users), dtype=np.float32)
        return Run(_rank(scores, split, rows), scores, train_s)

    return run


def _rank(scores: np.ndarray, split: Split, rows: Any) -> TopK:
    masked = scores.copy()
    if split.exclude_seen:
        mask_seen(masked, rows)
    return topk(masked, split.k)


def _grid(params: list[dict[str, Any]], specs: list[dict[str, Any]]) -> tuple[Config, ...]:
    return tuple({**p, **s} for p in params for s in specs)


def spec_grid(protocol: Protocol) -> list[dict[str, Any]]:
    """Matrix specs tried for our models: the protocol's own matrix, recency-weighted variants."""
    if protocol == "R1":  # months of purchases: decay over months, recency of last purchase
        return [{}, {"half_life_days": 120.0, "aggregate": "max"}, {"half_life_days": 60.0, "aggregate": "max"}]
    return [{}, {"half_life_days": 1.0}, {"half_life_days": 2.0, "transform": "log1p"}]


def our_methods(protocol: Protocol) -> list[Method]:
    specs = spec_grid(protocol)
    trending = [{"half_life_days": h} for h in ((7.0, 30.0) if protocol == "R1" else (0.5, 1.0, 2.0))]
    methods = [Method("trending", "ours", _grid([{"count": "weight"}], trending), run_ours("popular"))]
    if protocol == "R2":  # repeats count: the shopper's own history at two time scales
        methods += [
            Method("history", "ours", _grid([{}], [{"half_life_days": h} for h in (0.25, 0.5, 1.0)]), run_ours("history")),
            Method(
                "history_long",
                "ours",
                _grid(
                    [{}],
                    [
                        {"half_life_days": 4.0, "transform": "log1p"},
                        {"transform": "log1p"},
                        {"half_life_days": 2.0, "aggregate": "max"},
                    ],
                ),
                run_ours("history"),
            ),
        ]
    methods += [
        Method("covisit", "ours", _grid([{"normalize": n} for n in ("cosine", "conditional")], specs), run_ours("covisit")),
        Method(
            "rp3beta",
            "ours",
            _grid([{"alpha": a, "beta": b} for a in (0.8, 1.0) for b in (0.3, 0.5)], specs),
            run_ours("rp3beta"),
        ),
        Method(
            "als",
            "ours",
            _grid([{"factors": f, "regularization": 0.05, "alpha": a} for f, a in ((64, 1.0), (128, 5.0))], specs),
            run_ours("als"),
        ),
        Method(
            "ease",
            "ours",
            _grid([{"l2": l2} for l2 in ((50.0, 200.0, 500.0) if protocol == "R1" else (10.0, 50.0, 200.0))], specs),
            run_ours("ease"),
        ),
    ]
    if protocol == "R2":  # learned on the days before the cutoff; the validation day picks l2 and how many days
        grid = _grid([{"candidates": 30}], [{"label_days": d, "l2": l2} for d in (3, 5) for l2 in (10.0, 100.0)])
        methods.append(Method("ranker", "ours", grid, run_ranker))
    return methods


# -- ours: the learned ranker (R2) -------------------------------------------------------------
RANKER_PARTS: tuple[tuple[str, Config], ...] = (
    ("history", {"half_life_days": 1.0}),
    ("history", {"half_life_days": 0.25}),
    ("history", {"half_life_days": 4.0}),
    ("history", {}),
    ("history", {"half_life_days": 1.0, "aggregate": "max"}),
    ("covisit", {"normalize": "conditional", "half_life_days": 2.0, "transform": "log1p"}),
    ("popular", {"count": "weight"}),
    ("popular", {"count": "weight", "half_life_days": 0.5}),
)
"""The ranker's inputs: the shopper's own history at four time scales and the recency of the last
touch (repeats), category co-visitation (new layers), popularity and what is trending today."""


def run_ranker(split: Split, config: Config) -> Run:
    """Learn the ranker on the `label_days` days before the split's cutoff, then rank its users."""
    t0 = time.perf_counter()
    ranker = RankerRecommender(
        components=[build(kind, _model_params(c)) for kind, c in RANKER_PARTS],
        candidates=config["candidates"],
        l2=config["l2"],
        k=split.k,
    )
    ranker.learn(labelled_days(ranker, split.train, [c for _, c in RANKER_PARTS], config["label_days"]))
    xs = part_matrices(split.train, [c for _, c in RANKER_PARTS])
    ranker.fit_each(xs)
    train_s = time.perf_counter() - t0
    rows = [x[split.users] for x in xs]
    scores = ranker.score_each(rows, split.users)
    return Run(_rank(scores, split, rows[0]), scores, train_s)


def labelled_days(
    ranker: RankerRecommender, log: Interactions, specs: Sequence[Config], days: int
) -> Iterator[tuple[list[np.ndarray], Any]]:
    """For each of the `days` days before the log's cutoff: the ranker's parts (one matrix spec
    each) fitted as of that day's start, their scores for the shoppers with a history in the first
    part and some events that day, and those shoppers' targets. Only events before the log's cutoff
    are read, so a split's own target day never is."""
    for n in range(1, days + 1):
        before, window = log.holdout(float(n))
        xs = part_matrices(before, specs)
        target = window.matrix(transform="binary")
        users = np.flatnonzero((np.diff(xs[0].indptr) > 0) & (np.diff(target.indptr) > 0))
        if len(users):
            ranker.fit_each(xs)
            yield ranker.part_scores([x[users] for x in xs], users), target[users]


def part_matrices(log: Interactions, specs: Sequence[Config]) -> list[Any]:
    """One matrix per config (its matrix-spec keys)."""
    return [log.spec_matrix(spec_of(c)) for c in specs]


def _model_params(config: Config) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in SPEC_KEYS}


# -- peers --------------------------------------------------------------------------------------
def run_popularity(split: Split, config: Config) -> Run:
    return run_ours("popular")(split, config)


def run_own_history(split: Split, config: Config) -> Run:
    """The shopper's own history ranked by time-decayed weight, padded with popularity."""
    t0 = time.perf_counter()
    x = split.train.matrix(half_life_days=config.get("half_life_days"))
    pop = np.asarray((x > 0).sum(axis=0), dtype=np.float64).ravel()
    train_s = time.perf_counter() - t0
    rows = x[split.users]
    own = rows.toarray().astype(np.float64)
    pad = pop / max(pop.max(), 1.0) * (own[own > 0].min(initial=1.0) * 1e-3)
    scores = (own + pad).astype(np.float32)
    return Run(_rank(scores, split, rows), None, train_s)


def run_implicit(factory: Callable[[Config], Any]) -> Callable[[Split, Config], Run]:
    def run(split: Split, config: Config) -> Run:
        x = split.train.matrix()
        import implicit.cpu.als  # noqa: F401  (load OpenBLAS so the limit below applies)

        with threadpool_limits(1, "blas"):
            model = factory(config)
            t0 = time.perf_counter()
            model.fit(x, show_progress=False)
        train_s = time.perf_counter() - t0
        ids, scores = model.recommend(split.users, x[split.users], N=split.k, filter_already_liked_items=split.exclude_seen)
        ids = np.asarray(ids, np.int64)
        scores = np.asarray(scores, np.float32)
        ids[~np.isfinite(scores)] = -1
        return Run(TopK(ids, scores), None, train_s)

    return run


def _als(c: Config) -> Any:
    from implicit.cpu.als import AlternatingLeastSquares

    return AlternatingLeastSquares(
        factors=c["factors"], regularization=c["regularization"], alpha=c["alpha"], iterations=15, random_state=0
    )


def _bpr(c: Config) -> Any:
    from implicit.cpu.bpr import BayesianPersonalizedRanking

    return BayesianPersonalizedRanking(
        factors=c["factors"], learning_rate=c["learning_rate"], regularization=0.01, iterations=100, random_state=0
    )


def _bm25(c: Config) -> Any:
    from implicit.nearest_neighbours import BM25Recommender

    return BM25Recommender(K=c["K"], K1=c["K1"], B=c["B"])


def _cosine(c: Config) -> Any:
    from implicit.nearest_neighbours import CosineRecommender

    return CosineRecommender(K=c["K"])


def peer_methods(protocol: Protocol) -> list[Method]:
    half_lives = (None, 30.0, 90.0) if protocol == "R1" else (None, 0.5, 1.0, 2.0, 4.0)
    return [
        Method("popularity", "peer", ({"count": "users"}, {"count": "weight"}), run_popularity),
        Method("own history + popularity", "peer", tuple({"half_life_days": h} for h in half_lives), run_own_history),
        Method(
            "implicit ALS",
            "peer",
            tuple({"factors": f, "regularization": r, "alpha": a} for f in (64, 128) for r in (0.01, 0.1) for a in (1.0, 10.0)),
            run_implicit(_als),
        ),
        Method(
            "implicit BPR",
            "peer",
            tuple({"factors": f, "learning_rate": lr} for f in (64, 128) for lr in (0.01, 0.05)),
            run_implicit(_bpr),
        ),
        Method(
            "implicit BM25",
            "peer",
            tuple({"K": k, "K1": 1.2, "B": b} for k in (50, 100, 200) for b in (0.5, 0.75)),
            run_implicit(_bm25),
        ),
        Method("implicit cosine", "peer", tuple({"K": k} for k in (50, 100, 200)), run_implicit(_cosine)),
    ]
