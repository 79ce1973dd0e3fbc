"""Recommenders behind the `qianmian.recommend.base.Recommender` protocol.

`MODELS` maps each model's `kind` to its class (used by `persist.load` and the CLI).
"""

from __future__ import annotations

from qianmian.recommend.models.als import ALSRecommender
from qianmian.recommend.models.covisit import CovisitRecommender
from qianmian.recommend.models.ease import EASERecommender
from qianmian.recommend.models.history import HistoryRecommender
from qianmian.recommend.models.popular import PopularRecommender
from qianmian.recommend.models.rp3beta import RP3betaRecommender

MODELS = {
    cls.kind: cls
    for cls in (
        PopularRecommender,
        CovisitRecommender,
        ALSRecommender,
        EASERecommender,
        RP3betaRecommender,
        HistoryRecommender,
    )
}

__all__ = [
    "MODELS",
    "ALSRecommender",
    "CovisitRecommender",
    "EASERecommender",
    "HistoryRecommender",
    "PopularRecommender",
    "RP3betaRecommender",
]
