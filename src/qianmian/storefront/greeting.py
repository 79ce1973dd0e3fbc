"""The greeting: a template with the shopper's name and predicted need (seed 000's 自动导购).

Templates use two placeholders, ``{name}`` and ``{need}``; anything else (attribute access,
format specs, other names) is refused when the experience is saved, so rendering can never fail
or leak data.

The predicted need is, in order: the category of what the shopper is doing right now (their
live events this session, weighted by behaviour: view 1, fav 2, cart 3); else the need their
audience names (a "coffee" audience needs coffee); else the category they engaged with most in
their history; else a neutral fallback. Category ids become words through the `labels` map.

>>> render("{name}, fancy a {need}?", name="Li Lei", need="coffee")
'Li Lei, fancy a coffee?'
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Final

from qianmian.errors import InputError

PLACEHOLDERS: Final = frozenset({"name", "need"})
FALLBACK_NEED: Final = "something you'll love"
BEHAVIOR_WEIGHT: Final[Mapping[str, float]] = {"view": 1.0, "click": 1.0, "search": 1.0, "fav": 2.0, "cart": 3.0}


def check_template(template: str, field: str = "greeting") -> str:
    """`template` when it only uses ``{name}`` and ``{need}``; `InputError` otherwise."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise InputError(field, "a template using only {name} and {need}", template) from exc
    for _, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in PLACEHOLDERS or spec or conversion:
            raise InputError(field, "placeholders {name} and {need} only (no format specs)", "{" + name + "}")
    return template


def render(template: str, *, name: str, need: str) -> str:
    """Fill a checked template."""
    return template.format(name=name, need=need)


def predict_need(
    *,
    audience_need: str | None,
    live_category: str | None,
    history_category: str | None,
    labels: Mapping[str, str],
) -> tuple[str, str]:
    """``(need, why)``: the label of the predicted need and where it came from."""
    if live_category:
        return _label(live_category, labels), "recent activity"
    if audience_need:
        return audience_need, "audience"
    if history_category:
        return _label(history_category, labels), "history"
    return FALLBACK_NEED, "no history"


def _label(category: str, labels: Mapping[str, str]) -> str:
    return labels.get(category, f"category {category}")
