"""Find the collaborators the storefront builds on, with a fallback for each one that is missing.

- audiences: `qianmian.audiences.membership.MembershipIndex.load(store, as_of=None)` (the latest
  materialized day); fallback: nobody is in an audience (everyone gets the default experience);
- recommendations: `qianmian.recommend.service.RecommendService` over ``<data_dir>/models``;
  fallback: popularity rails (`qianmian.storefront.recs.PopularRecommender`);
- experiments: `ExperimentRegistry(store).get(settings.storefront_experiment)` and `assign`.

Tests inject their own through `create_app(..., recommender=..., load_membership=...)`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from qianmian.config import Settings
from qianmian.store import Store
from qianmian.storefront.service import Collaborators

log = logging.getLogger("qianmian.api")


def load_membership(store: Store) -> Any:
    from qianmian.audiences.membership import MembershipIndex

    if "audience_members" not in store.list_tables():
        from qianmian.storefront.service import NoAudiences

        return NoAudiences()
    return MembershipIndex.load(store, as_of=None)


def load_experiment(store: Store, name: str) -> Any:
    from qianmian.experiments.registry import ExperimentRegistry

    return ExperimentRegistry(store).get(name)


def load_recommender(models: Path) -> Any | None:
    """The trained recommendation service, or None (popularity rails) when there is none."""
    try:
        from qianmian.recommend.service import RecommendService  # type: ignore[import-not-found]
    except ImportError:
        log.info("recommendation service not installed: popularity rails")
        return None
    if not models.is_dir() or not any(models.iterdir()):
        log.info("no trained models in %s: popularity rails", models)
        return None
    return RecommendService.load(models)


def _optional(module: str, name: str) -> Any | None:
    try:
        return getattr(__import__(module, fromlist=[name]), name)
    except (ImportError, AttributeError):
        return None


def collaborators(settings: Settings, extras: dict[str, Any]) -> Collaborators:
    """What is injected in `extras`, else what the installed packages provide."""
    recommender = extras["recommender"] if "recommender" in extras else load_recommender(settings.data_dir / "models")
    membership = extras.get("load_membership", load_membership if _optional("qianmian.audiences.membership", "MembershipIndex") else None)
    assign = _optional("qianmian.experiments.assignment", "assign")
    experiment = extras.get("load_experiment", load_experiment if assign is not None else None)
    return Collaborators(recommender=recommender, load_membership=membership, load_experiment=experiment, assign=extras.get("assign", assign))
