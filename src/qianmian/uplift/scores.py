"""Saved uplift models and their scores, in two tables the uplift package owns.

- `uplift_scores` (model, user_id, uplift, rank_pct, scored_at): each scored consumer's predicted
  uplift and place by it, `rank_pct` = 100 · rank / n (rank 1 = highest uplift, ties broken by
  user id), so `rank_pct <= 30` is exactly the top 30%. Audience rules read them with
  `uplift("model")` and `uplift_rank("model")`.
- `uplift_models` (name, source, treatment, outcome, learner, report, fitted_at): what each model
  was fitted on and its test-split evaluation (JSON), shown by the CLI and the API.

Saving a model replaces its earlier scores and report in one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.datatypes as dtypes
import numpy as np
import pandas as pd

from qianmian.audiences.rules.scores import SCORES, scores_table
from qianmian.errors import InputError, NotFoundError
from qianmian.store import Store

MODELS = "uplift_models"
UPLIFT_MODELS = ibis.schema({
    "name": dtypes.String(nullable=False), "source": dtypes.string, "treatment": dtypes.string,
    "outcome": dtypes.string, "learner": dtypes.string, "report": dtypes.string, "fitted_at": dtypes.timestamp,
})
NAME_PATTERN = re.compile(r"[^\W_][\w-]{0,63}")


def check_model_name(name: str) -> str:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise InputError("model name", "1-64 letters, digits, '_' or '-', starting with a letter or digit", name)
    return name


def rank_percent(ids: np.ndarray, uplift: np.ndarray) -> np.ndarray:
    """100 · rank / n with rank 1 for the highest uplift (ties: smaller id first).

    >>> rank_percent(np.array(["a", "b", "c", "d"]), np.array([0.1, 0.3, 0.3, -0.2])).tolist()
    [75.0, 25.0, 50.0, 100.0]
    """
    order = np.lexsort((ids, -uplift))
    ranks = np.empty(len(ids), dtype=float)
    ranks[order] = np.arange(1, len(ids) + 1)
    return 100.0 * ranks / max(len(ids), 1)


def save_model(
    store: Store, name: str, *, ids: np.ndarray, uplift: np.ndarray, meta: Mapping[str, Any], now: dt.datetime,
) -> int:
    """Replace model `name`'s scores and report; returns the number of consumers scored."""
    check_model_name(name)
    if len(ids) != len(uplift) or len(ids) == 0 or len(set(ids)) != len(ids):
        raise InputError("scores", "one score per distinct consumer, at least one", f"{len(ids)} ids, {len(uplift)} scores")
    when = pd.Timestamp(now.replace(tzinfo=None, microsecond=0))
    ids = np.asarray(ids).astype(str)
    rows = pd.DataFrame({"model": name, "user_id": ids, "uplift": np.asarray(uplift, float),
                         "rank_pct": rank_percent(ids, np.asarray(uplift, float)), "scored_at": when})
    model = pd.DataFrame([{"name": name, "source": str(meta.get("source", "")), "treatment": str(meta.get("treatment", "")),
                           "outcome": str(meta.get("outcome", "")), "learner": str(meta.get("learner", "")),
                           "report": json.dumps(meta.get("report", {}), default=float), "fitted_at": when}])
    scores_table(store)
    store.ensure_table(MODELS, UPLIFT_MODELS)
    with store.transaction():
        store.delete_where(SCORES, "model", [name])
        store.delete_where(MODELS, "name", [name])
        store.append(SCORES, rows, dedupe=False)
        store.append(MODELS, model, dedupe=False)
    return len(rows)


def list_models(store: Store) -> list[dict[str, Any]]:
    """Every saved model with its report, by name."""
    t = store.ensure_table(MODELS, UPLIFT_MODELS)
    frame = store.execute(t.order_by("name"))
    return [_model(r) for r in frame.to_dict("records")]


def get_model(store: Store, name: str) -> dict[str, Any]:
    """One saved model with its report; `NotFoundError` when there is none."""
    t = store.ensure_table(MODELS, UPLIFT_MODELS)
    frame = store.execute(t.filter(t.name == name))
    if frame.empty:
        raise NotFoundError("uplift model", name)
    return _model(frame.to_dict("records")[0])


def _model(row: dict[str, Any]) -> dict[str, Any]:
    return {**{k: row[k] for k in ("name", "source", "treatment", "outcome", "learner")},
            "fitted_at": pd.Timestamp(row["fitted_at"]).isoformat(), "report": json.loads(row["report"] or "{}")}
