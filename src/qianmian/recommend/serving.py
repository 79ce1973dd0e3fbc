"""What serving answers with, and the shape of anything that serves recommendations.

`RecommendService` (trained models) and `PopularRecommender` (popularity from the store, when no
models are trained) both have the `Serving` shape; the storefront and the API use only this.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol


@dataclass(frozen=True)
class Recommendation:
    """One recommended item (or category, in the `layers` scene) with its score and reason."""

    item_id: str
    score: float
    reason: str

    @cached_property
    def as_json(self) -> dict[str, Any]:
        """The entry as JSON data, built once (cached storefront rails reuse it); do not mutate."""
        return {"item_id": self.item_id, "score": round(self.score, 6), "reason": self.reason}


class Serving(Protocol):
    """Recommendations for a scene, similar items, the most popular items, live events, erasure."""

    def recommend(self, user_id: str | None, scene: str, k: int = 10, item_id: str | None = None,
                  cart: Sequence[str] | None = None) -> list[Recommendation]: ...

    def similar(self, item_id: str, k: int = 10) -> list[Recommendation]: ...

    def popular(self, k: int = 10) -> list[Recommendation]: ...

    def observe(self, event: Mapping[str, Any]) -> None: ...

    def forget(self, user_id: str) -> None: ...
