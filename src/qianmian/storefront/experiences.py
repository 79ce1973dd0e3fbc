"""Experiences: what each audience sees — hero, module order, rails, bundle, coupon, greeting.

Marketers configure one experience per audience (`PUT /v1/experiences/{audience}` or the
``[experiences.<audience>]`` tables of the storefront TOML file); the experience named
``default`` is shown to everyone else (and to shoppers who opted out). Experiences are checked
when saved: an unknown module, scene or greeting placeholder is an `InputError` naming the field.

>>> e = parse_experience("coffee", {"greeting": "{name}, fancy a {need}?", "need": "coffee",
...                                  "rails": [{"title": "For you", "scene": "home"}]})
>>> e.modules[:3], e.rails[0].k
(('hero', 'greeting', 'rails'), 10)
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any, Final, Literal, get_args

import ibis
import ibis.expr.datatypes as ibt
import pandas as pd

from qianmian.errors import InputError, NotFoundError
from qianmian.store import Store
from qianmian.storefront.greeting import check_template

Module = Literal["hero", "greeting", "guide", "rails", "bundle", "coupon", "nearby_store"]
Scene = Literal["home", "similar", "cart", "post_purchase", "popular"]
MODULES: Final[tuple[str, ...]] = get_args(Module)
SCENES: Final[tuple[str, ...]] = get_args(Scene)
DEFAULT_AUDIENCE: Final = "default"
DEFAULT_MODULES: Final[tuple[str, ...]] = ("hero", "greeting", "guide", "rails", "bundle", "coupon")
TABLE: Final = "experiences"
EXPERIENCES: Final = ibis.schema(
    {"audience": ibt.String(nullable=False), "spec": ibt.String(), "version": ibt.Int64(), "updated_at": ibt.Timestamp()}
)


@dataclass(frozen=True)
class Hero:
    title: str
    subtitle: str = ""
    image: str = ""
    link: str = ""


@dataclass(frozen=True)
class Rail:
    """A product rail filled by a recommendation `scene` (k items)."""

    title: str
    scene: Scene = "home"
    k: int = 10


@dataclass(frozen=True)
class Bundle:
    title: str
    item_ids: tuple[str, ...]
    price: float | None = None


@dataclass(frozen=True)
class Coupon:
    code: str
    title: str
    value: float | None = None
    min_spend: float | None = None


@dataclass(frozen=True)
class Experience:
    """What one audience sees. `need` names the audience's likely need (used by the greeting)."""

    audience: str
    hero: Hero
    greeting: str = "Welcome, {name}!"
    modules: tuple[Module, ...] = DEFAULT_MODULES  # type: ignore[assignment]
    rails: tuple[Rail, ...] = (Rail("Picked for you", "home"),)
    bundle: Bundle | None = None
    coupon: Coupon | None = None
    need: str | None = None
    anonymous_name: str = ""  # what to call a shopper without a name; empty: the greeting leaves the name out
    version: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _text(data: Mapping[str, Any], key: str, path: str, default: str | None = None, *, limit: int = 500) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or len(value) > limit:
        raise InputError(f"{path}.{key}", f"a string of at most {limit} characters", value)
    return value


def _number(value: Any, path: str, *, integer: bool = False, low: float = 0, high: float = 1e9) -> Any:
    kinds = (int,) if integer else (int, float)
    if value is None and not integer:
        return None
    if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
        raise InputError(path, f"{'an integer' if integer else 'a number'} in [{low:g}, {high:g}]", value)
    return value


def _table(data: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InputError(path, "an object", data)
    return data


def _only(data: Mapping[str, Any], allowed: set[str], path: str) -> None:
    extra = sorted(set(data) - allowed)
    if extra:
        raise InputError(f"{path}.{extra[0]}", f"one of {sorted(allowed)}", extra[0])


def parse_hero(data: Any, path: str) -> Hero:
    d = _table(data, path)
    _only(d, {"title", "subtitle", "image", "link"}, path)
    return Hero(*(_text(d, k, path, "") for k in ("title", "subtitle", "image", "link")))


def parse_rail(data: Any, path: str) -> Rail:
    d = _table(data, path)
    _only(d, {"title", "scene", "k"}, path)
    scene = d.get("scene", "home")
    if scene not in SCENES:
        raise InputError(f"{path}.scene", f"one of {list(SCENES)}", scene)
    return Rail(_text(d, "title", path, "", limit=200), scene, _number(d.get("k", 10), f"{path}.k", integer=True, low=1, high=100))


def parse_bundle(data: Any, path: str) -> Bundle | None:
    if data is None:
        return None
    d = _table(data, path)
    _only(d, {"title", "item_ids", "price"}, path)
    items = d.get("item_ids", [])
    if not isinstance(items, list) or not 1 <= len(items) <= 20 or not all(isinstance(i, (str, int)) and not isinstance(i, bool) for i in items):
        raise InputError(f"{path}.item_ids", "a list of 1-20 item ids", items)
    return Bundle(_text(d, "title", path, "", limit=200), tuple(str(i) for i in items), _number(d.get("price"), f"{path}.price"))


def parse_coupon(data: Any, path: str) -> Coupon | None:
    if data is None:
        return None
    d = _table(data, path)
    _only(d, {"code", "title", "value", "min_spend"}, path)
    code = _text(d, "code", path, "", limit=64)
    if not code:
        raise InputError(f"{path}.code", "a non-empty coupon code", code)
    return Coupon(code, _text(d, "title", path, "", limit=200), _number(d.get("value"), f"{path}.value"), _number(d.get("min_spend"), f"{path}.min_spend"))


def parse_modules(data: Any, path: str) -> tuple[str, ...]:
    if not isinstance(data, list) or not data or len(data) > len(MODULES):
        raise InputError(path, f"a non-empty list of distinct modules from {list(MODULES)}", data)
    for m in data:
        if m not in MODULES:
            raise InputError(path, f"modules from {list(MODULES)}", m)
    if len(set(data)) != len(data):
        raise InputError(path, "each module at most once", data)
    return tuple(data)


FIELDS: Final = {"hero", "greeting", "modules", "rails", "bundle", "coupon", "need", "anonymous_name"}


def parse_experience(audience: str, data: Any, *, version: int = 0) -> Experience:
    """Check and build an experience from JSON/TOML data (`InputError` names the bad field)."""
    check_audience(audience)
    d = _table(data, "experience")
    _only(d, FIELDS, "experience")
    rails = d.get("rails", [{"title": "Picked for you", "scene": "home"}])
    if not isinstance(rails, list) or len(rails) > 10:
        raise InputError("experience.rails", "a list of at most 10 rails", rails)
    greeting = _text(d, "greeting", "experience", "Welcome, {name}!")
    check_template(greeting, "experience.greeting")
    need = d.get("need")
    return Experience(
        audience=audience,
        hero=parse_hero(d.get("hero", {"title": ""}), "experience.hero"),
        greeting=greeting,
        modules=parse_modules(d.get("modules", list(DEFAULT_MODULES)), "experience.modules"),  # type: ignore[arg-type]
        rails=tuple(parse_rail(r, f"experience.rails[{i}]") for i, r in enumerate(rails)),
        bundle=parse_bundle(d.get("bundle"), "experience.bundle"),
        coupon=parse_coupon(d.get("coupon"), "experience.coupon"),
        need=None if need is None else _text(d, "need", "experience", limit=100),
        anonymous_name=_text(d, "anonymous_name", "experience", "", limit=100),
        version=version,
    )


def check_audience(audience: str) -> str:
    if not isinstance(audience, str) or not 1 <= len(audience) <= 100 or not audience.strip():
        raise InputError("audience", "an audience name of 1-100 characters", audience)
    return audience


def spec_of(e: Experience) -> dict[str, Any]:
    """The JSON form stored and returned by the API (everything but audience and version)."""
    d = json.loads(json.dumps(e.to_dict()))  # tuples become lists, as in JSON
    for key in ("audience", "version"):
        d.pop(key)
    return d


# -- persistence ---------------------------------------------------------------------------------
def ensure(store: Store) -> ibis.Table:
    return store.ensure_table(TABLE, EXPERIENCES)


def load_all(store: Store) -> dict[str, Experience]:
    """Every saved experience by audience."""
    frame = store.execute(ensure(store))
    return {r["audience"]: parse_experience(r["audience"], json.loads(r["spec"]), version=int(r["version"])) for r in frame.to_dict("records")}


def save(store: Store, experience: Experience, *, now: dt.datetime) -> Experience:
    """Insert or replace the experience of its audience; the version goes up by one."""
    t = ensure(store)
    previous = store.execute(t.filter(t.audience == experience.audience).version.max())
    version = 1 if previous is None or pd.isna(previous) else int(previous) + 1
    saved = replace(experience, version=version)
    row = pd.DataFrame({"audience": [saved.audience], "spec": [json.dumps(spec_of(saved), ensure_ascii=False)], "version": [version], "updated_at": [pd.Timestamp(now)]})
    with store.transaction():
        store.delete_where(TABLE, "audience", [saved.audience])
        store.append(TABLE, row, dedupe=False)
    return saved


def delete(store: Store, audience: str) -> None:
    if store.delete_where(TABLE, "audience", [check_audience(audience)]) == 0:
        raise NotFoundError("experience", audience)


def parse_file_section(data: Any) -> dict[str, Experience]:
    """The ``[experiences.<audience>]`` tables of a storefront TOML document."""
    section = _table(data or {}, "experiences")
    return {name: parse_experience(name, spec) for name, spec in section.items()}
