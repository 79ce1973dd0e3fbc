"""The storefront TOML file: experiences per audience, guide questions, category labels.

    [labels.categories]            # category id → the word the greeting uses
    "4756105" = "coffee"

    [experiences.coffee]           # one table per audience (see experiences.py for the fields)
    greeting = "{name}, fancy a {need}?"
    need = "coffee"
    modules = ["hero", "greeting", "rails", "bundle", "coupon"]
    hero = { title = "Coffee week" }
    rails = [{ title = "For your cup", scene = "home", k = 8 }]

    [[guide.questions]]            # optional; DEFAULT_QUESTIONS otherwise
    id = "style"
    text = "Which style suits you?"
    options = [{ label = "Classic", tag = "style-classic" }, { label = "Sporty", tag = "style-sporty" }]

At start-up the file's experiences are saved to the store (the file wins over earlier `PUT`s
for the audiences it names). The packaged `default.toml` provides the `default` experience when
neither the store nor the file has one.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from qianmian.errors import ConfigError, InputError
from qianmian.storefront.experiences import Experience, parse_file_section
from qianmian.storefront.guide import DEFAULT_QUESTIONS, Question, parse_questions


@dataclass(frozen=True)
class StorefrontFile:
    experiences: Mapping[str, Experience] = field(default_factory=dict)
    questions: tuple[Question, ...] = DEFAULT_QUESTIONS
    labels: Mapping[str, str] = field(default_factory=dict)


def parse(data: Mapping[str, Any], source: str) -> StorefrontFile:
    """Check a parsed TOML document (`ConfigError` naming the file and the field)."""
    extra = sorted(set(data) - {"experiences", "guide", "labels"})
    try:
        if extra:
            raise InputError(extra[0], "one of experiences, guide, labels", extra[0])
        labels = data.get("labels", {}).get("categories", {})
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise InputError("labels.categories", "a table of category id = label", labels)
        return StorefrontFile(parse_file_section(data.get("experiences")), parse_questions(data.get("guide")), {str(k): v for k, v in labels.items()})
    except InputError as exc:
        raise ConfigError(f"storefront file {source}: {exc}") from exc


def packaged_default() -> Experience:
    """The `default` experience shipped with Qianmian (used when no one configured one)."""
    text = resources.files("qianmian.storefront").joinpath("default.toml").read_text("utf-8")
    return parse(tomllib.loads(text), "default.toml").experiences["default"]


def load(path: Path | None) -> StorefrontFile:
    """The storefront file at `path` (an empty configuration when None)."""
    if path is None:
        return StorefrontFile()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"experiences_file: expected an existing TOML file, received {str(path)!r}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"storefront file {str(path)!r}: invalid TOML ({exc})") from exc
    return parse(data, str(path))
