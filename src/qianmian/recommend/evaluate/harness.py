"""Run a protocol: tune every method on the validation split, score it on the test split.

For each method, every config of its grid is fitted on the validation split's train part and
ranked by validation Recall@k; the best config is refitted on the test split's train part and
measured there. The blend then learns its weights on the validation scores of our tuned single models
(`learn_weights`) and reuses their test scores, so it costs no extra fitting. The learned ranker
(R2) is an ensemble of its own: it is not a blend part, and the blend is compared with the best
single model, not with the ranker (`ENSEMBLES`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
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
    load_rolling,
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
from qianmian.recommend.evaluate.metrics import (
    Metrics,
    bootstrap_interval,
    bootstrap_se,
    evaluate_topk,
)
from qianmian.recommend.evaluate.served import (
    SERVED_METHODS,
    ServedSource,
    served_methods,
)
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
    cutoff: str | None = None
    """The rolling-origin cutoff (`--cutoffs`); None for the protocol's fixed split."""
    recall_lo: float = float("nan")
    recall_hi: float = float("nan")
    """95 % percentile bootstrap interval of `recall` over the test users."""
    vs_best_peer: float = float("nan")
    vs_best_peer_lo: float = float("nan")
    vs_best_peer_hi: float = float("nan")
    """recall / the best peer's recall on the same split, with its paired 95 % bootstrap interval."""
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
    return split_rows(load_protocol(protocol, data_dir), methods=methods, on_step=on_step)


def run_rolling(
    protocol: Protocol,
    data_dir: Path | str,
    cutoffs: Sequence[dt.date],
    *,
    methods: Sequence[str] | None = None,
    served: ServedSource | None = None,
    on_step: Step | None = None,
) -> list[Row]:
    """Rolling-origin evaluation: at each cutoff, the protocol's rules with that date as the split,
    every method tuned on that cutoff's validation window only; rows carry their `cutoff`.
    With `served`, the served scene (trained as of each cutoff on that store) is one more method."""
    rows: list[Row] = []
    for data in load_rolling(protocol, data_dir, cutoffs):
        _step(on_step, f"{protocol} {data.cutoff}: split carved")
        extra = served_methods(served) if served is not None else []
        extra = [m for m in extra if methods is None or m.name in methods]
        rows += split_rows(data, methods=methods, on_step=on_step, served=extra)
    return rows


def split_rows(
    data: ProtocolData,
    *,
    methods: Sequence[str] | None = None,
    on_step: Step | None = None,
    served: Sequence[Method] = (),
) -> list[Row]:
    """One protocol split's table: ours (with the blend), the served scene, then the peers; each
    row with its recall interval and its ratio to the best peer of this split."""
    protocol = data.protocol
    chosen = [m for m in [*our_methods(protocol), *peer_methods(protocol)] if methods is None or m.name in methods]
    tuned = [tune(m, data, on_step) for m in chosen]
    rows = [_row(t.method.name, t.method.family, t.metrics, t.test.train_s, dict(t.config)) for t in tuned]
    parts = [t for t in tuned if t.method.family == "ours" and t.validation.scores is not None and t.method.name not in ENSEMBLES]
    n_ours = sum(t.method.family == "ours" for t in tuned)
    if len(parts) > 1 and (methods is None or "blend" in methods):
        rows.insert(n_ours, blend_row(parts, data, on_step))
        n_ours += 1
    rows[n_ours:n_ours] = [served_row(m, data, on_step) for m in served]
    cutoff = None if data.cutoff is None else data.cutoff.isoformat()
    return with_peer_ratios([dataclasses.replace(r, cutoff=cutoff) for r in rows])


def served_row(method: Method, data: ProtocolData, on_step: Step | None = None) -> Row:
    """A method with nothing to tune here (the served scene learns inside `train`): test only."""
    config = method.configs[0]
    run = method.run(data.test, config)
    _step(on_step, f"{data.protocol} {method.name}")
    return _row(method.name, method.family, _metrics(run, data.test), run.train_s, dict(config))


def with_peer_ratios(rows: Sequence[Row]) -> list[Row]:
    """Each row's recall / the best peer's, with a paired bootstrap interval over the same users."""
    peers = [r for r in rows if r.family == "peer"]
    if not peers:
        return list(rows)
    best = max(peers, key=lambda r: r.recall)
    out = []
    for r in rows:
        paired = len(r.user_recall) == len(best.user_recall) > 1 and best.recall > 0
        lo, hi = bootstrap_interval(r.user_recall, best.user_recall) if paired else (float("nan"), float("nan"))
        ratio = r.recall / best.recall if best.recall else float("nan")
        out.append(dataclasses.replace(r, vs_best_peer=round(ratio, 4), vs_best_peer_lo=round(lo, 4), vs_best_peer_hi=round(hi, 4)))
    return out


def steps(protocol: Protocol, methods: Sequence[str] | None = None, *, cutoffs: int = 1, served: bool = False) -> int:
    """How many progress steps `run_protocol` / `run_rolling` report (for a progress bar)."""
    chosen = [m for m in [*our_methods(protocol), *peer_methods(protocol)] if methods is None or m.name in methods]
    n_served = sum(methods is None or m in methods for m in SERVED_METHODS) if served else 0
    blend = int(sum(m.family == "ours" and m.name not in ENSEMBLES for m in chosen) > 1 and (methods is None or "blend" in methods))
    per_split = sum(len(m.configs) + 1 for m in chosen) + blend + n_served
    if cutoffs > 1 or served:  # one step per carved cutoff, and one for the evaluation store
        return cutoffs * (per_split + 1) + int(served)
    return per_split


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
    lo, hi = bootstrap_interval(m.user_recall)
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
        recall_lo=round(lo, 4),
        recall_hi=round(hi, 4),
        user_recall=m.user_recall,
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


SERVED = "served:home"
RULES_OFF = "served:home (rules off)"


def rolling_checks(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Per cutoff: the served scene against the best peer (ratio and paired 95 % interval), against
    our best single model, and the rules' cost (served with rules off minus served)."""
    out = []
    for cutoff in sorted({r.cutoff for r in rows if r.cutoff is not None}):
        at = [r for r in rows if r.cutoff == cutoff]
        served = next((r for r in at if r.method == SERVED), None)
        if served is None or not any(r.family == "peer" for r in at):
            continue
        peer = best_of(at, "peer")
        check: dict[str, Any] = {
            "cutoff": cutoff,
            "served": served.recall,
            "served_lo": served.recall_lo,
            "served_hi": served.recall_hi,
            "best_peer": peer.method,
            "best_peer_recall": peer.recall,
            "ratio": served.vs_best_peer,
            "ratio_lo": served.vs_best_peer_lo,
            "ratio_hi": served.vs_best_peer_hi,
            "users": len(served.user_recall),
        }
        singles = [r for r in at if r.family == "ours" and r.method not in ENSEMBLES]
        if singles:
            single = max(singles, key=lambda r: r.recall)
            diff = served.user_recall - single.user_recall
            lo, hi = bootstrap_interval(diff) if len(diff) > 1 else (float("nan"), float("nan"))
            check |= {"best_single": single.method, "best_single_recall": single.recall, "vs_single_lo": lo, "vs_single_hi": hi}
        off = next((r for r in at if r.method == RULES_OFF), None)
        if off is not None:
            check["rules_cost"] = round(off.recall - served.recall, 4)
        out.append(check)
    return out


def rolling_summary(rows: Sequence[Row]) -> list[str]:
    """The lines printed under the rolling table."""
    lines = []
    for c in rolling_checks(rows):
        line = (
            f"{c['cutoff']}: {SERVED} {c['served']:.4f} / best peer {c['best_peer']} {c['best_peer_recall']:.4f} = "
            f"{c['ratio']:.3f}× (95% paired bootstrap [{c['ratio_lo']:.3f}, {c['ratio_hi']:.3f}], {c['users']} shoppers)"
        )
        if "best_single" in c:
            line += (
                f"; best single model of ours {c['best_single']} {c['best_single_recall']:.4f} "
                f"(served − it {c['served'] - c['best_single_recall']:+.4f}, 95% [{c['vs_single_lo']:+.4f}, {c['vs_single_hi']:+.4f}])"
            )
        if "rules_cost" in c:
            line += f"; rules cost {c['rules_cost']:+.4f} recall"
        lines.append(line)
    return lines
