"""The model registry: every recommender kind behind the `qianmian.recommend.base.Recommender`
protocol, and `build`, which makes an unfitted model from a kind and its params.

`MODELS` maps each kind to its class; `build` is how training, the evaluation harness and
`persist.load` make models (an ensemble's components, saved as `{"kind", "params"}`, are built
through it too). The contract suite (tests/recommend/test_contract.py) checks every entry, built
with its class's `example_params`. To add a model: its module here, its class in `MODELS`, its
`example_params` (see docs/contributing.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qianmian.errors import InputError
from qianmian.recommend.base import Recommender
from qianmian.recommend.models.als import ALSRecommender
from qianmian.recommend.models.blend import BlendRecommender
from qianmian.recommend.models.covisit import CovisitRecommender
from qianmian.recommend.models.ease import EASERecommender
from qianmian.recommend.models.ensemble import Ensemble
from qianmian.recommend.models.history import HistoryRecommender
from qianmian.recommend.models.popular import PopularRecommender
from qianmian.recommend.models.ranker import RankerRecommender
from qianmian.recommend.models.rp3beta import RP3betaRecommender

MODELS: dict[str, type[Recommender]] = {
    cls.kind: cls
    for cls in (
        PopularRecommender,
        CovisitRecommender,
        ALSRecommender,
        EASERecommender,
        RP3betaRecommender,
        HistoryRecommender,
        BlendRecommender,
        RankerRecommender,
    )
}


def build(kind: str, params: Mapping[str, Any]) -> Recommender:
    """An unfitted model of `kind` with `params`; an ensemble's `components` are built first."""
    if kind not in MODELS:
        raise InputError("model kind", f"one of {sorted(MODELS)}", kind)
    cls = MODELS[kind]
    if issubclass(cls, Ensemble):
        parts = [build(p["kind"], p["params"]) for p in params["components"]]
        return cls(components=parts, **{k: v for k, v in params.items() if k != "components"})
    return cls(**params)


__all__ = [
    "MODELS",
    "ALSRecommender",
    "BlendRecommender",
    "CovisitRecommender",
    "EASERecommender",
    "HistoryRecommender",
    "PopularRecommender",
    "RP3betaRecommender",
    "RankerRecommender",
    "build",
]
