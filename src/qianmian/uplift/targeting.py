"""Turn a saved uplift model into an audience: "the top k% by predicted uplift".

The audience is an ordinary rule, `uplift_rank("MODEL") <= K`, so it previews, materializes,
exports and picks storefront experiences like any other audience, and it follows the model: saving
the model again (new scores) changes the members at the next materialization.
"""

from __future__ import annotations

from qianmian.audiences.registry import DEFAULT_PRIORITY, Audience, AudienceRegistry
from qianmian.errors import InputError
from qianmian.store import Store
from qianmian.uplift.scores import check_model_name, get_model


def top_rule(model: str, top: float) -> str:
    """The rule text of the top `top` percent of model `model`.

    >>> top_rule("email-visit", 30)
    'uplift_rank("email-visit") <= 30'
    """
    check_model_name(model)
    if isinstance(top, bool) or not isinstance(top, (int, float)) or not 0 < top <= 100:
        raise InputError("top", "a percentage in (0, 100]", top)
    return f'uplift_rank("{model}") <= {top:g}'


def save_top_audience(
    store: Store, *, model: str, audience: str, top: float, priority: int = DEFAULT_PRIORITY,
    description: str = "", replace: bool = False,
) -> Audience:
    """Save audience `audience` = the top `top`% of consumers by the predicted uplift of `model`."""
    saved = get_model(store, model)  # NotFoundError before anything is written
    text = description or f"top {top:g}% by predicted uplift of {saved['outcome']} ({model})"
    return AudienceRegistry(store).create(audience, top_rule(model, top), priority=priority, description=text, replace=replace)
