"""The greeting: a template with the shopper's name and predicted need (seed 000's 自动导购).

Templates use two placeholders, ``{name}`` and ``{need}``; anything else (attribute access,
format specs, other names) is refused when the experience is saved, so rendering can never fail
or leak data.

The predicted need is, in order: the category of what the shopper is doing right now (their
live events this session, weighted by behaviour as in `qianmian.consumers.activity.live_category`:
view 1, fav 2, cart 3); else the need their
audience names (a "coffee" audience needs coffee); else the category they engaged with most in
their history; else a neutral fallback. Category ids become words through the `labels` map; a
category without a label is said plainly ("category 3898483"), unless its id is itself a word
(Online Retail's product nouns: "LANTERN" → "lantern").

A shopper without a name is not called "there": the name and the comma or space that joins it
to the sentence are left out ("Welcome back, {name}! New in …" → "Welcome back! New in …").

>>> render("{name}, fancy a {need}?", name="Li Lei", need="coffee")
'Li Lei, fancy a coffee?'
>>> render("{name}, fancy a {need}?", name=None, need="coffee")
'Fancy a coffee?'
>>> render("Welcome back, {name}! New in {need}.", name="", need="category 3898483")
'Welcome back! New in category 3898483.'
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from typing import Final

from qianmian.errors import InputError

PLACEHOLDERS: Final = frozenset({"name", "need"})
FALLBACK_NEED: Final = "something you'll love"


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


_LEADING_NAME = re.compile(r"^\s*\{name\}[ \t]*[,:!]?[ \t]*")
_JOINED_NAME = re.compile(r"[ \t]*,?[ \t]*\{name\}")


def without_name(template: str) -> str:
    """The template with ``{name}`` and the separator that joins it removed (capitalized when it led)."""
    led = _LEADING_NAME.match(template)
    if led:
        rest = template[led.end():]
        template = rest[:1].upper() + rest[1:]
    return _JOINED_NAME.sub("", template)


def render(template: str, *, name: str | None, need: str) -> str:
    """Fill a checked template; without a name (None or blank) the name is left out, not replaced."""
    if name is None or not name.strip():
        return without_name(template).format(need=need)
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


def category_label(category: str, labels: Mapping[str, str]) -> str:
    """The word for a category: its label, else the id when it is a word, else "category <id>"."""
    if category in labels:
        return labels[category]
    if len(category) >= 3 and not any(c.isdigit() for c in category) and any(c.isalpha() for c in category):
        return category.lower() if category.isupper() else category
    return f"category {category}"


_label = category_label
