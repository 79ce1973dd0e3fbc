"""Find the collaborators the storefront builds on, with a fallback for each one that is missing.

- audiences: `qianmian.audiences.membership.MembershipIndex.load(store, as_of=None)` (the latest
  materialized day); fallback: nobody is in an audience (everyone gets the default experience);
- recommendations: `qianmian.recommend.service.RecommendService.load(<data_dir>/models/<store id>)`
  (the latest version trained on this store, reading the storefront's shared `Consumers` snapshot;
  models of another store are refused with an error the storefront reports); fallback:
  popularity from the store (`qianmian.recommend.fallback.PopularRecommender`);
- experiments: `ExperimentRegistry(store).get(settings.storefront_experiment)` and `assign`.

Tests inject their own through `create_app(..., recommender=..., load_membership=...)`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from qianmian.config import Settings
from qianmian.consumers.snapshot import Consumers
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


def recommender_loader(models: Path) -> Any | None:
    """A loader for the trained recommendation service over `models`, or None when not installed."""
    try:
        from qianmian.recommend.service import RecommendService
    except ImportError:
        log.info("recommendation package not installed: popularity rails")
        return None

    def load(store: Store, audience_of: Any, consumers: Consumers) -> Any | None:
        if not models.is_dir() or not any(models.iterdir()):
            log.info("no trained models in %s: popularity rails", models)
            return None
        return RecommendService.load(models, store=store, audience_of=audience_of, consumers=consumers)

    return load


def _optional(module: str, name: str) -> Any | None:
    try:
        return getattr(__import__(module, fromlist=[name]), name)
    except (ImportError, AttributeError):
        return None


def collaborators(settings: Settings, extras: dict[str, Any], store: Store) -> Collaborators:
    """What is injected in `extras`, else what the installed packages provide (models: the store's own)."""
    models = settings.models_dir(store.id)
    injected = "recommender" in extras
    membership = extras.get("load_membership", load_membership if _optional("qianmian.audiences.membership", "MembershipIndex") else None)
    assign = _optional("qianmian.experiments.assignment", "assign")
    experiment = extras.get("load_experiment", load_experiment if assign is not None else None)
    return Collaborators(
        recommender=extras.get("recommender"),
        load_recommender=None if injected else recommender_loader(models),
        models_dir=None if injected else models,
        load_membership=membership,
        load_experiment=experiment,
        assign=extras.get("assign", assign),
    )
