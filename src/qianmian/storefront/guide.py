"""Guided selling (seed 002's chatbot that asks style and size): a few questions, answers → tags.

The flow has no state of its own: a question is answered when the shopper holds one of its
option tags, so `next_question` is a pure function of the shopper's active self-tags, and the
page changes as soon as an answer is saved (the guide moves on; audiences defined on self-tags
and tag-aware recommendation rules see the new tags).

Questions come from the ``[[guide.questions]]`` tables of the storefront TOML file, else
`DEFAULT_QUESTIONS`.

>>> next_question(DEFAULT_QUESTIONS, {"style-minimal"}).id
'size'
>>> answer_tags(DEFAULT_QUESTIONS, "size", ["M"])
(['size-m'], ['size-s', 'size-l', 'size-xl'])
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

from qianmian.errors import InputError, NotFoundError


@dataclass(frozen=True)
class Option:
    label: str
    tag: str


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    options: tuple[Option, ...]
    multiple: bool = False

    @cached_property
    def tags(self) -> frozenset[str]:
        return frozenset(o.tag for o in self.options)

    @cached_property
    def as_json(self) -> dict[str, Any]:
        """The question as JSON data, built once (pages show it often); do not mutate."""
        return asdict(self)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _opts(*pairs: tuple[str, str]) -> tuple[Option, ...]:
    return tuple(Option(label, tag) for label, tag in pairs)


DEFAULT_QUESTIONS: tuple[Question, ...] = (
    Question("style", "Which style suits you best?", _opts(("Classic", "style-classic"), ("Sporty", "style-sporty"), ("Minimal", "style-minimal"))),
    Question("size", "What size do you usually wear?", _opts(("S", "size-s"), ("M", "size-m"), ("L", "size-l"), ("XL", "size-xl"))),
    Question(
        "preferences",
        "Anything we should keep in mind?",
        _opts(("Unscented only", "unscented"), ("On a budget", "budget"), ("Vegan", "vegan"), ("No preference", "no-preference")),
        multiple=True,
    ),
)


def next_question(questions: Sequence[Question], tags: Collection[str]) -> Question | None:
    """The first question none of whose option tags the shopper holds (None when all answered)."""
    held = set(tags)
    return next((q for q in questions if not q.tags & held), None)


def find(questions: Sequence[Question], question_id: str) -> Question:
    for q in questions:
        if q.id == question_id:
            return q
    raise NotFoundError("guide question", question_id)


def answer_tags(questions: Sequence[Question], question_id: str, choices: Sequence[str]) -> tuple[list[str], list[str]]:
    """``(tags to set, tags to remove)`` for an answer; a choice is an option's label or tag.

    A new answer replaces the previous one: the question's other option tags are removed.
    """
    q = find(questions, question_id)
    if not choices or (len(choices) > 1 and not q.multiple):
        raise InputError("choices", "one choice" if not q.multiple else "one or more choices", list(choices))
    by_key = {o.label.lower(): o.tag for o in q.options} | {o.tag: o.tag for o in q.options}
    chosen: list[str] = []
    for c in choices:
        tag = by_key.get(str(c).strip().lower())
        if tag is None:
            raise InputError("choices", f"options of {q.id!r}: {[o.label for o in q.options]}", c)
        chosen.append(tag)
    return sorted(set(chosen)), [o.tag for o in q.options if o.tag not in chosen]


def parse_questions(data: Any) -> tuple[Question, ...]:
    """Questions from the ``guide`` table of the storefront TOML file."""
    if data is None:
        return DEFAULT_QUESTIONS
    items = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise InputError("guide.questions", "a non-empty list of questions", items)
    return tuple(_question(q, f"guide.questions[{i}]") for i, q in enumerate(items))


def _question(q: Any, path: str) -> Question:
    if not isinstance(q, dict) or not isinstance(q.get("id"), str) or not isinstance(q.get("text"), str):
        raise InputError(path, "a table with id, text and options", q)
    options = q.get("options")
    if not isinstance(options, list) or not options:
        raise InputError(f"{path}.options", "a non-empty list of {label, tag}", options)
    parsed = []
    for j, o in enumerate(options):
        if not isinstance(o, dict) or not isinstance(o.get("label"), str) or not isinstance(o.get("tag"), str):
            raise InputError(f"{path}.options[{j}]", "a table with label and tag", o)
        parsed.append(Option(o["label"], o["tag"].strip().lower()))
    return Question(q["id"], q["text"], tuple(parsed), bool(q.get("multiple", False)))
