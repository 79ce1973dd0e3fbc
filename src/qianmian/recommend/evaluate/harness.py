"""Run a protocol: tune every method on the validation split, score it on the test split.

For each method, every config of its grid is fitted on the validation split's train part and
ranked by validation Recall@k; the best config is refitted on the test split's train part and
measured there. The blend then learns its weights on the validation scores of our tuned single models
(`learn_weights`) and reuses their test scores, so it costs no extra fitting. The learned ranker
(R2) is an ensemble of its own: it is not a blend part, and the blend is compared with the best
single model, not with the ranker (`ENSEMBLES`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import numpy as np

from qianmian.recommend.base import mask_seen, topk
from qianmian.recommend.evaluate.data import (
    Protocol,
    ProtocolData,
    Split,
    load_protocol,
)
from qianmian.recommend.evaluate.methods import (
    ENSEMBLES,
    Config,
    Family,
    Method,
    Run,
    our_methods,
    peer_methods,
)
from qianmian.recommend.evaluate.metrics import Metrics, bootstrap_se, evaluate_topk
from qianmian.recommend.models.blend import combine, learn_weights

Step = Callable[[str], None]


@dataclass(frozen=True)
class Row:
    """One line of the comparison table (the `--json` contract)."""

    method: str
    family: Family
    k: int
    recall: float
    ndcg: float
    hitrate: float
    coverage: float
    train_s: float
    config: dict[str, Any]
    recall_se: float = float("nan")
    """Bootstrap standard error of `recall` over the test users."""
    user_recall: np.ndarray = field(repr=False, compare=False, default_factory=lambda: np.zeros(0))

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "user_recall"}


@dataclass(frozen=True)
class Tuned:
    method: Method
    config: Config
    validation: Run
    test: Run
    metrics: Metrics


def run_protocol(
    protocol: Protocol, data_dir: Path | str, *, methods: Sequence[str] | None = None, on_step: Step | None = None
) -> list[Row]:
    """The comparison table for `protocol`, ours first then peers (optionally only `methods`)."""
    data = load_protocol(protocol, data_dir)
    chosen = [m for m in [*our_methods(protocol), *peer_methods(protocol)] if methods is None or m.name in methods]
    tuned = [tune(m, data, on_step) for m in chosen]
    rows = [_row(t.method.name, t.method.family, t.metrics, t.test.train_s, dict(t.config)) for t in tuned]
    parts = [t for t in tuned if t.method.family == "ours" and t.validation.scores is not None and t.method.name not in ENSEMBLES]
    if len(parts) > 1 and (methods is None or "blend" in methods):
        rows.insert(sum(t.method.family == "ours" for t in tuned), blend_row(parts, data, on_step))
    return rows


def steps(protocol: Protocol, methods: Sequence[str] | None = None) -> int:
    """How many fits `run_protocol` does (for a progress bar)."""
    chosen = [m for m in [*our_methods(protocol), *peer_methods(protocol)] if methods is None or m.name in methods]
    return sum(len(m.configs) + 1 for m in chosen) + 1


def tune(method: Method, data: ProtocolData, on_step: Step | None = None) -> Tuned:
    """Best config on validation, refitted and measured on test."""
    best: tuple[float, Config, Run] | None = None
    for config in method.configs:
        run = method.run(data.validation, config)
        recall = _metrics(run, data.validation).recall
        if best is None or recall > best[0]:
            best = (recall, config, run)
        _step(on_step, f"{data.protocol} {method.name}")
    assert best is not None
    test = method.run(data.test, best[1])
    _step(on_step, f"{data.protocol} {method.name}")
    return Tuned(method, best[1], best[2], test, _metrics(test, data.test))


def blend_row(parts: Sequence[Tuned], data: ProtocolData, on_step: Step | None = None) -> Row:
    """Blend our tuned models: weights learned on validation, applied to their test scores."""
    val, test = data.validation, data.test
    weights, _ = learn_weights(
        [p.validation.scores for p in parts],
        val.target,
        val.target_size,
        k=val.k,
        seen=_seen(val),
        normalize="zscore",
    )
    scores = combine([p.test.scores for p in parts], weights, "zscore")
    if test.exclude_seen:
        mask_seen(scores, _seen(test))
    metrics = evaluate_topk(topk(scores, test.k), test.target, test.target_size, test.n_items)
    _step(on_step, f"{data.protocol} blend")
    config = {p.method.name: round(w, 3) for p, w in zip(parts, weights) if w}
    return _row("blend", "ours", metrics, sum(p.test.train_s for p, w in zip(parts, weights) if w), config)


def _seen(split: Split) -> Any:
    return split.train.matrix()[split.users] if split.exclude_seen else None


def _metrics(run: Run, split: Split) -> Metrics:
    return evaluate_topk(run.top, split.target, split.target_size, split.n_items)


def _row(method: str, family: Family, m: Metrics, train_s: float, config: dict[str, Any]) -> Row:
    return Row(
        method,
        family,
        m.k,
        round(m.recall, 4),
        round(m.ndcg, 4),
        round(m.hitrate, 4),
        round(m.coverage, 4),
        round(train_s, 3),
        config,
        round(bootstrap_se(m.user_recall), 4),
        m.user_recall,
    )


def _step(on_step: Step | None, label: str) -> None:
    if on_step is not None:
        on_step(label)


def best_of(rows: Sequence[Row], family: Family, *, exclude: Sequence[str] = ()) -> Row:
    """The row of `family` with the highest recall."""
    candidates = [r for r in rows if r.family == family and r.method not in exclude]
    return max(candidates, key=lambda r: r.recall)


def summary(rows: Sequence[Row]) -> dict[str, float]:
    """Best ours / best peer recall (with the ratio's paired bootstrap standard error over test
    users), and the blend against its best single model."""
    ours, peer = best_of(rows, "ours"), best_of(rows, "peer")
    paired = len(ours.user_recall) == len(peer.user_recall) > 1
    out = {
        "best_ours": ours.recall,
        "best_peer": peer.recall,
        "ratio": ours.recall / peer.recall if peer.recall else float("nan"),
        "ratio_se": bootstrap_se(ours.user_recall, peer.user_recall) if paired else float("nan"),
    }
    if any(r.method == "blend" for r in rows):
        blend = next(r for r in rows if r.method == "blend")
        single = best_of(rows, "ours", exclude=tuple(ENSEMBLES))
        out |= {"blend": blend.recall, "best_single": single.recall}
    if any(r.method == "ranker" for r in rows):
        out["ranker"] = next(r for r in rows if r.method == "ranker").recall
        out.setdefault("best_single", best_of(rows, "ours", exclude=tuple(ENSEMBLES)).recall)
    return out
