"""Train a bundle of models from the store's events, as of an explicit cutoff.

`train(store, as_of=...)` builds each distinct training matrix once in the engine
(`qianmian.recommend.matrix`), fits every model of `DEFAULT_MODELS` (or the ones given), learns
each blend's weights on a holdout window just before the cutoff (parts refitted on the events
before the window, weights chosen by Recall@k on what shoppers touched in the window; a blend with
`params={"learn": False}`, as the default `home`, keeps its given weights), learns each
ranker on the days before the cutoff (each day: parts refitted on the events before it, target =
what shoppers touched that day), and writes the bundle as the next version under `models_dir`,
recording the store's id (`Store.id`) and the cutoff: the bundle serves that store only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from qianmian.dates import end_of
from qianmian.errors import InputError
from qianmian.recommend.base import Recommender
from qianmian.recommend.bundle import RANKER_OPTIONS, Bundle, ModelSpec, ensembles, save_bundle
from qianmian.recommend.ids import IdMap
from qianmian.recommend.interactions import MatrixSpec
from qianmian.recommend.matrix import (
    distinct_ids,
    item_categories,
    load_matrix,
)
from qianmian.recommend.models import build
from qianmian.recommend.models.blend import learn_weights
from qianmian.recommend.models.ranker import RankerRecommender
from qianmian.store import Store

Step = Callable[[str], None]

BUY_ONLY = MatrixSpec(view=0.0, fav=0.0, cart=0.0, buy=1.0)


def recency(half_life_days: float | None) -> MatrixSpec:
    """How recently, and how strongly, the shopper last touched the item: the strongest
    behaviour's weight (buy 1, cart 0.75, fav 0.5, view 0.25) x 2^(-age / half-life), at most 1
    (None: no decay, the strongest behaviour only). On a 0-1 scale, so that EASE's l2 and ALS's
    alpha mean what they mean in protocol R1."""
    return MatrixSpec(view=0.25, fav=0.5, cart=0.75, buy=1.0, half_life_days=half_life_days, aggregate="max")


HOME_WEIGHTS: tuple[float, ...] = (1.0, 0.25, 0.25)
"""The `home` blend's fixed weights: EASE on 120-day recency, plus EASE on 60-day recency and on
undecayed recency at a quarter weight each. Chosen on R1's three rolling validation windows
(docs/recommend.md), where weights learned inside `train` on windows before each cutoff fell
below EASE alone; `home` therefore does not learn its weights (`"learn": False`)."""


DEFAULT_MODELS: tuple[ModelSpec, ...] = (
    ModelSpec("popular", "popular", {"count": "users"}),
    ModelSpec("trending", "popular", {"count": "weight"}, MatrixSpec(half_life_days=7.0)),
    ModelSpec("covisit", "covisit", {"normalize": "cosine", "neighbours": 100}),
    ModelSpec("cart", "covisit", {"normalize": "conditional", "neighbours": 100}, BUY_ONLY, rows="order"),
    ModelSpec("ease", "ease", {"l2": 200.0}, recency(120.0)),
    ModelSpec("ease_60d", "ease", {"l2": 200.0}, recency(60.0)),
    ModelSpec("ease_all", "ease", {"l2": 200.0}, recency(None)),
    ModelSpec(
        "home",
        "blend",
        {"learn": False},
        parts=("ease", "ease_60d", "ease_all"),
        weights=HOME_WEIGHTS,
    ),
    ModelSpec("layer_history", "history", {}, MatrixSpec(half_life_days=1.0), level="category"),
    ModelSpec("layer_history_hours", "history", {}, MatrixSpec(half_life_days=0.25), level="category"),
    ModelSpec("layer_history_days", "history", {}, MatrixSpec(half_life_days=4.0), level="category"),
    ModelSpec("layer_history_all", "history", {}, MatrixSpec(), level="category"),
    ModelSpec("layer_recency", "history", {}, MatrixSpec(half_life_days=1.0, aggregate="max"), level="category"),
    ModelSpec(
        "layer_covisit",
        "covisit",
        {"normalize": "conditional"},
        MatrixSpec(half_life_days=2.0, transform="log1p"),
        level="category",
    ),
    ModelSpec("layer_popular", "popular", {"count": "weight"}, MatrixSpec(), level="category"),
    ModelSpec("layer_trending", "popular", {"count": "weight"}, MatrixSpec(half_life_days=0.5), level="category"),
    ModelSpec(
        "layers",
        "ranker",
        {"label_days": 5, "candidates": 30, "l2": 100.0},
        parts=(
            "layer_history",
            "layer_history_hours",
            "layer_history_days",
            "layer_history_all",
            "layer_recency",
            "layer_covisit",
            "layer_popular",
            "layer_trending",
        ),
    ),
)
"""The default model set; `home`, `similar`, `cart`, `layers` scenes read `home`, `covisit`,
`cart`, `layers`; `popular`/`trending` serve cold starts and opted-out shoppers. `layers` is the
learned ranker of protocol R2 (`qianmian.recommend.evaluate.methods.RANKER_PARTS`, the config the
validation day chose)."""


def train(
    store: Store,
    *,
    as_of: dt.date | dt.datetime,
    models_dir: Path | str,
    models: Sequence[ModelSpec] = DEFAULT_MODELS,
    holdout_days: float | None = 7.0,
    random_state: int = 0,
    on_step: Step | None = None,
) -> Path:
    """Fit `models` on events before `end_of(as_of)`; returns the new version's directory."""
    specs = _checked(models)
    bundle = fit_bundle(store, as_of=as_of, specs=specs, on_step=on_step)
    for spec in specs.values():
        if spec.kind == "blend" and holdout_days and spec.params.get("learn", True):
            weights = learn_blend(store, spec, specs, bundle, as_of=as_of, holdout_days=holdout_days, random_state=random_state)
            specs[spec.name] = dataclasses.replace(spec, weights=tuple(weights))
            _step(on_step, f"blend {spec.name}")
        elif spec.kind == "ranker":
            learned = learn_ranker(store, spec, specs, bundle, as_of=as_of)
            specs[spec.name] = dataclasses.replace(spec, params={**spec.params, **learned})
            _step(on_step, f"ranker {spec.name}")
    bundle.specs = specs
    bundle.models.update(ensembles(specs, bundle.models))
    return save_bundle(bundle, models_dir)


def fit_bundle(store: Store, *, as_of: dt.date | dt.datetime, specs: dict[str, ModelSpec], on_step: Step | None = None) -> Bundle:
    """Build the matrices and fit every base model (blends use their given weights)."""
    users, items, categories = distinct_ids(store, as_of=as_of)
    if not len(users) or not len(items):
        raise InputError("events", f"some events with a user and an item before {end_of(as_of)}", "none")
    matrices: dict[str, sp.csr_matrix] = {}
    fitted: dict[str, Recommender] = {}
    for spec in specs.values():
        if not spec.parts:
            fitted[spec.name] = build(spec.kind, dict(spec.params)).fit(
                _matrix(store, spec, as_of, users, items, categories, matrices)
            )
            _step(on_step, f"fit {spec.name}")
    _, strongest = load_matrix(store, as_of=as_of, spec=MatrixSpec(), row_ids=users, col_ids=items)
    fitted.update(ensembles(specs, fitted))
    item_cat = item_categories(store, items, categories, cutoff=end_of(as_of))
    cutoff = end_of(as_of).isoformat()
    return Bundle("", cutoff, users, items, categories, item_cat, matrices, strongest, dict(specs), fitted, store.id, store.url)


def _matrix(
    store: Store,
    spec: ModelSpec,
    as_of: dt.date | dt.datetime,
    users: IdMap,
    items: IdMap,
    categories: IdMap,
    cache: dict[str, sp.csr_matrix],
) -> sp.csr_matrix:
    """The training matrix of `spec` (user rows are cached by matrix key for serving)."""
    cols = items if spec.level == "item" else categories
    if spec.rows == "order":
        m, _ = load_matrix(store, as_of=as_of, spec=spec.matrix, level=spec.level, rows="order", col_ids=cols)
        if m.values.nnz:
            return m.values
        spec = dataclasses.replace(spec, rows="user")  # no order ids in the data: per shopper instead
    m, _ = load_matrix(store, as_of=as_of, spec=spec.matrix, level=spec.level, row_ids=users, col_ids=cols)
    cache.setdefault(spec.matrix_key(), m.values)
    return m.values


def learn_blend(
    store: Store,
    blend: ModelSpec,
    specs: dict[str, ModelSpec],
    bundle: Bundle,
    *,
    as_of: dt.date | dt.datetime,
    holdout_days: float,
    k: int = 20,
    max_users: int = 2000,
    random_state: int = 0,
) -> list[float]:
    """Blend weights learned on `windows` consecutive windows of `holdout_days` before the cutoff.

    A blend sets its own windows with `params={"holdout_days": ..., "windows": ...}` (default: one
    window of `holdout_days`). Window n is [cutoff - n*d, cutoff - (n-1)*d): the parts are refitted
    on the events before it, and the target is what each shopper touched in it (item level: only
    items new to them, as `home` never repeats; category level: repeats count). The weights
    maximize Recall@k over the shoppers of all windows together, so one unusual week does not set
    them. When the store's history is too short for those windows, one window of `holdout_days`
    (`train --holdout-days`) is used instead; the given weights when no window has a target.
    """
    cutoff = end_of(as_of)
    days = float(blend.params.get("holdout_days", holdout_days))
    parts = [specs[p] for p in blend.parts]
    n_windows = int(blend.params.get("windows", 1))
    windows = [_blend_window(store, parts, bundle, cutoff - dt.timedelta(days=n * days), days) for n in range(1, n_windows + 1)]
    scores: list[list[np.ndarray]] = [[] for _ in parts]
    targets, seens = [], []
    for n, window in enumerate(windows):
        if window is None:
            continue
        before, seen, t = window
        users = np.flatnonzero((np.diff(t.indptr) > 0) & (np.diff(seen.indptr) > 0))
        users = _sample(users, max(max_users // n_windows, 1), random_state + n)
        if not len(users):
            continue
        for i, p in enumerate(parts):
            model = build(p.kind, dict(p.params)).fit(before[p.name])
            scores[i].append(np.asarray(model.score(before[p.name][users], users), np.float32))
        targets.append((t[users] > 0).astype(np.float32))
        seens.append(seen[users])
    if not targets:
        own = (float(blend.params.get("holdout_days", holdout_days)), n_windows)
        if own != (float(holdout_days), 1):  # too little history for the blend's own windows: one window of holdout_days
            short = dataclasses.replace(blend, params={**blend.params, "holdout_days": holdout_days, "windows": 1})
            return learn_blend(
                store, short, specs, bundle, as_of=as_of, holdout_days=holdout_days, k=k, max_users=max_users, random_state=random_state
            )
        return list(blend.weights)
    tu = sp.csr_matrix(sp.vstack(targets))
    seen_all = sp.csr_matrix(sp.vstack(seens)) if parts[0].level == "item" else None
    weights, _ = learn_weights([np.vstack(s) for s in scores], tu, np.diff(tu.indptr), k=k, seen=seen_all)
    return weights


def _blend_window(
    store: Store, parts: Sequence[ModelSpec], bundle: Bundle, start: dt.datetime, days: float
) -> tuple[dict[str, sp.csr_matrix], sp.csr_matrix, sp.csr_matrix] | None:
    """The parts' matrices before `start`, the shoppers' seen cells, and the window's target."""
    level = parts[0].level
    cols = bundle.items if level == "item" else bundle.categories
    end = start + dt.timedelta(days=days)
    target, _ = load_matrix(store, as_of=end, spec=MatrixSpec(), level=level, row_ids=bundle.users, col_ids=cols, since=start)
    before = {p.name: _matrix(store, p, start, bundle.users, bundle.items, bundle.categories, {}) for p in parts}
    seen = (next(iter(before.values())) > 0).astype(np.float32)
    if not seen.nnz:
        return None
    t = target.values.copy()
    if level == "item":
        t = t - t.multiply(seen)
        t.eliminate_zeros()
    return before, seen, t


def learn_ranker(
    store: Store, ranker: ModelSpec, specs: dict[str, ModelSpec], bundle: Bundle, *, as_of: dt.date | dt.datetime
) -> dict[str, object]:
    """The ranker's coefficients learned on the `label_days` days before the cutoff.

    For each day, its parts are refitted on the events before that day's start, for the shoppers
    with a history in the first part and some events that day; the target is every column each
    of them touched that day (repeats count). Returns the `RankerRecommender` params to store.
    """
    cutoff = end_of(as_of)
    parts = [specs[p] for p in ranker.parts]
    cols = bundle.items if parts[0].level == "item" else bundle.categories
    options = {k: v for k, v in ranker.params.items() if k not in RANKER_OPTIONS}
    model = RankerRecommender(components=[build(p.kind, dict(p.params)) for p in parts], **options)

    def days() -> Iterator[tuple[list[np.ndarray], sp.csr_matrix]]:
        for n in range(1, int(ranker.params.get("label_days", 3)) + 1):
            start = cutoff - dt.timedelta(days=n)
            end = start + dt.timedelta(days=1)
            target, _ = load_matrix(
                store, as_of=end, spec=MatrixSpec(), level=parts[0].level, row_ids=bundle.users, col_ids=cols, since=start
            )
            xs = [_matrix(store, p, start, bundle.users, bundle.items, bundle.categories, {}) for p in parts]
            users = np.flatnonzero((np.diff(xs[0].indptr) > 0) & (np.diff(target.values.indptr) > 0))
            if len(users):
                model.fit_each(xs)
                yield model.part_scores([x[users] for x in xs], users), (target.values[users] > 0).astype(np.float32)

    model.learn(days())
    return {k: v for k, v in model.own_params().items() if k not in RANKER_OPTIONS}


def _sample(users: np.ndarray, n: int, random_state: int) -> np.ndarray:
    if len(users) <= n:
        return users
    return np.sort(np.random.default_rng(random_state).choice(users, n, replace=False))


def _checked(models: Sequence[ModelSpec]) -> dict[str, ModelSpec]:
    specs = {m.name: m for m in models}
    if len(specs) != len(models):
        raise InputError("models", "distinct model names", [m.name for m in models])
    for s in specs.values():
        missing = [p for p in s.parts if p not in specs]
        if s.kind == "blend" and (missing or not s.parts or len(s.weights) != len(s.parts)):
            raise InputError(
                f"blend {s.name}", "parts that name other models, one weight each", {"missing": missing, "weights": s.weights}
            )
        if s.kind == "ranker" and (missing or not s.parts):
            raise InputError(f"ranker {s.name}", "parts that name other models", {"missing": missing, "parts": s.parts})
        if s.parts and any(specs[p].parts for p in s.parts if p in specs):
            raise InputError(f"{s.kind} {s.name}", "parts that are base models (not blends or rankers)", s.parts)
    return specs


def _step(on_step: Step | None, label: str) -> None:
    if on_step is not None:
        on_step(label)


__all__ = ["DEFAULT_MODELS", "ModelSpec", "fit_bundle", "learn_blend", "learn_ranker", "train"]
