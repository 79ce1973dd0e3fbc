"""Recommendations (千人千面): models behind one protocol, scenes, business rules, live re-ranking,
reasons, and the offline evaluation harness (`qianmian.recommend.evaluate`).

- `train(store, as_of=..., models_dir=...)` fits a versioned bundle of models from the events;
- `RecommendService.load(models_dir, store=store)` serves it: `recommend(user_id, scene, k=...)`,
  `similar(item_id, k)`, `observe(event)`, `forget(user_id)`.
"""

from qianmian.recommend.rules import Rules
from qianmian.recommend.service import RecommendService
from qianmian.recommend.serving import Recommendation, Serving
from qianmian.recommend.train import DEFAULT_MODELS, ModelSpec, train

__all__ = ["DEFAULT_MODELS", "ModelSpec", "RecommendService", "Recommendation", "Rules", "Serving", "train"]
