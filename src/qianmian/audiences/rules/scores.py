"""`uplift_scores`, the per-consumer scores that `uplift("m")` and `uplift_rank("m")` read.

The rule language defines the table it reads; `qianmian.uplift.scores` fills it (one row per
scored consumer and model: `uplift`, and `rank_pct` = 100 · rank / n with rank 1 the highest).
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dtypes

from qianmian.store import Store

SCORES = "uplift_scores"
UPLIFT_SCORES = ibis.schema({
    "model": dtypes.String(nullable=False), "user_id": dtypes.String(nullable=False),
    "uplift": dtypes.float64, "rank_pct": dtypes.float64, "scored_at": dtypes.timestamp,
})


def scores_table(store: Store) -> ibis.Table:
    """The `uplift_scores` table (created empty when missing)."""
    return store.ensure_table(SCORES, UPLIFT_SCORES)
