"""Audience templates from the seeds (聚星台, seed 000), applied to any store's own categories.

- Nestlé: coffee / milk-powder / candy shoppers (viewed or bought the category lately).
- Nivea: eight crowds — four new-customer product interests (men's cleanser, face cream, serum, care
  sets) and old customers by lifecycle (active, silent, churning, lost). The eight rules are
  mutually exclusive: new customers (no purchase) go to the interest they showed most (ties → the
  earlier slot), old customers to their lifecycle state.
- ZARA: male-leaning / female-leaning / general, from the gender trait or the balance of events in
  men's and women's categories; exclusive as well.

A slot takes the store's categories whose id matches one of its keywords (whole words, any case;
Chinese keywords as substrings). A slot with no match takes the store's next most popular category
(by consumers in the window), so every template works on any data; its description says so.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import ibis

from qianmian.audiences.registry import Audience, AudienceRegistry
from qianmian.audiences.rules import check, to_text
from qianmian.audiences.rules import tree as T
from qianmian.dates import DateLike, end_of
from qianmian.errors import InputError
from qianmian.metrics.common import products
from qianmian.store import Store


@dataclass(frozen=True)
class Draft:
    """An audience a template proposes (not saved until applied)."""

    name: str
    rule: str
    priority: int
    description: str
    categories: tuple[str, ...] = ()  # the store categories a product-interest draft uses


@dataclass(frozen=True)
class Slot:
    """A named product interest and the keywords that find its categories."""

    key: str
    label: str
    keywords: tuple[str, ...]


NESTLE_SLOTS = (
    Slot("coffee", "coffee shoppers", ("coffee", "咖啡")),
    Slot("milk_powder", "milk-powder shoppers", ("milk powder", "formula", "奶粉")),
    Slot("candy", "candy shoppers", ("candy", "sweets", "confectionery", "chocolate", "糖果")),
)
NIVEA_SLOTS = (
    Slot("cleanser", "new customers, men's cleanser", ("cleanser", "face wash", "facial wash", "洁面")),
    Slot("cream", "new customers, men's face cream", ("face cream", "moisturiser", "moisturizer", "cream", "乳霜")),
    Slot("serum", "new customers, men's serum", ("serum", "essence", "精华")),
    Slot("set", "new customers, men's care sets", ("gift set", "care set", "kit", "套装")),
)
ZARA_SLOTS = (
    Slot("male", "prefers men's products or is male", ("men", "man", "male", "男")),
    Slot("female", "prefers women's products or is female", ("women", "woman", "ladies", "lady", "female", "女")),
)
LIFECYCLE_LABELS = {"active": "active", "silent": "silent", "churning": "churning", "lost": "lost"}


def category_popularity(store: Store, *, as_of: DateLike, days: int) -> list[str]:
    """The store's categories, most consumers first, among events in the `days` before the end of `as_of`."""
    end = end_of(as_of)
    ev = products(store.table("events"))
    ev = ev.filter(ev.category_id.notnull(), ev.user_id.notnull(), ev.ts < end, ev.ts >= end - dt.timedelta(days=days))
    ranked = ev.group_by("category_id").aggregate(n=ev.user_id.nunique()).order_by([ibis.desc("n"), "category_id"])
    return store.execute(ranked.select("category_id")).category_id.tolist()


def match_slots(slots: Sequence[Slot], categories: Sequence[str]) -> dict[str, tuple[tuple[str, ...], bool]]:
    """slot key → (category ids, matched by keyword?). Unmatched slots take the next popular unused category."""
    found = {s.key: tuple(c for c in categories if any(_matches(k, c) for k in s.keywords)) for s in slots}
    used = {c for cats in found.values() for c in cats}
    spare = iter(c for c in categories if c not in used)
    out: dict[str, tuple[tuple[str, ...], bool]] = {}
    for s in slots:
        if found[s.key]:
            out[s.key] = (found[s.key], True)
        else:
            fallback = next(spare, None)
            out[s.key] = ((fallback,) if fallback is not None else (), False)
    return out


def _matches(keyword: str, category: str) -> bool:
    if not keyword.isascii():
        return keyword in category
    return re.search(rf"(?<![a-z]){re.escape(keyword.lower())}(?:s|es)?(?![a-z])", category.lower()) is not None


def _interest(cats: tuple[str, ...], days: int) -> T.Call:
    values = tuple(T.Str(c) for c in cats)
    return T.Call("count", (T.Name("any"), T.Filter("category", values, "in"), T.Window(days, "d")))


def _all(*parts: T.Expr) -> T.Expr:
    node = parts[0]
    for p in parts[1:]:
        node = T.And(node, p)
    return node


def _any(*parts: T.Expr) -> T.Expr:
    node = parts[0]
    for p in parts[1:]:
        node = T.Or(node, p)
    return node


def _described(slot: Slot, cats: tuple[str, ...], matched: bool) -> str:
    how = "categories matching its keywords" if matched else "no category matched; the store's next top category"
    return f"{slot.label}: {', '.join(cats) or '(none)'} ({how})"


def _name(prefix: str, slot: Slot) -> str:
    return f"{prefix}_{slot.key}"  # stable across stores: experiences are keyed by audience name


def nestle(store: Store, *, as_of: DateLike, days: int = 90, slots: Sequence[Slot] = NESTLE_SLOTS) -> list[Draft]:
    """Category shoppers: viewed or bought one of the slot's categories in the last `days` days (priority = slot order)."""
    matched = match_slots(slots, category_popularity(store, as_of=as_of, days=days))
    drafts = []
    for i, s in enumerate(slots, start=1):
        cats, ok = matched[s.key]
        if not cats:
            continue
        rule = T.Compare(">=", _interest(cats, days), T.Num(1))
        drafts.append(Draft(_name("nestle", s), to_text(rule), i, _described(s, cats, ok), cats))
    return drafts


def nivea(store: Store, *, as_of: DateLike, days: int = 30, slots: Sequence[Slot] = NIVEA_SLOTS) -> list[Draft]:
    """Eight exclusive crowds: new customers by strongest product interest, old customers by lifecycle state."""
    matched = match_slots(slots, category_popularity(store, as_of=as_of, days=days))
    live = [(s, *matched[s.key]) for s in slots if matched[s.key][0]]
    counts = [_interest(cats, days) for _, cats, _ in live]
    drafts = []
    for i, (s, cats, ok) in enumerate(live):
        beats = [T.Compare(">" if j < i else ">=", counts[i], counts[j]) for j in range(len(live)) if j != i]
        rule = _all(T.Compare("=", T.Name("frequency"), T.Num(0)), T.Compare(">", counts[i], T.Num(0)), *beats)
        drafts.append(Draft(_name("nivea_new", s), to_text(rule), 10 + i, _described(s, cats, ok), cats))
    for k, state in enumerate(LIFECYCLE_LABELS):
        rule = T.Compare("=", T.Name("lifecycle"), T.Str(state))
        drafts.append(Draft(f"nivea_old_{state}", to_text(rule), 20 + k, f"old customers, {state}"))
    return drafts


def zara(store: Store, *, as_of: DateLike, days: int = 90, slots: Sequence[Slot] = ZARA_SLOTS) -> list[Draft]:
    """Male-leaning, female-leaning (exclusive) and general consumers."""
    if len(slots) != 2:
        raise InputError("slots", "two slots (male, female)", [s.key for s in slots])
    matched = match_slots(slots, category_popularity(store, as_of=as_of, days=days))
    (m_cats, m_ok), (f_cats, f_ok) = matched[slots[0].key], matched[slots[1].key]
    gender = T.Call("trait", (T.Str("gender"),))
    male_n, female_n = _interest(m_cats or ("-",), days), _interest(f_cats or ("-",), days)
    male_name, female_name = _name("zara", slots[0]), _name("zara", slots[1])
    not_male = T.Not(T.Call("in_audience", (T.Str(male_name),)))
    not_female = T.Not(T.Call("in_audience", (T.Str(female_name),)))
    male = _any(T.Compare("=", gender, T.Str("male")),
                _all(T.Not(T.Compare("=", gender, T.Str("female"))), T.Compare(">", male_n, female_n)))
    female = _all(not_male, _any(T.Compare("=", gender, T.Str("female")), T.Compare(">", female_n, male_n)))
    return [  # in this order: each rule may only refer to audiences saved before it
        Draft(male_name, to_text(male), 1, _described(slots[0], m_cats, m_ok), m_cats),
        Draft(female_name, to_text(female), 2, _described(slots[1], f_cats, f_ok), f_cats),
        Draft("zara_general", to_text(_all(not_male, not_female)), 3, "general: neither male- nor female-leaning"),
    ]


TEMPLATES: Mapping[str, Callable[..., list[Draft]]] = {"nestle": nestle, "nivea": nivea, "zara": zara}


def template(name: str, store: Store, *, as_of: DateLike) -> list[Draft]:
    """The drafts of template `name` (nestle, nivea or zara) for this store."""
    if name not in TEMPLATES:
        raise InputError("template", f"one of {', '.join(TEMPLATES)}", name)
    return TEMPLATES[name](store, as_of=as_of)


def apply(registry: AudienceRegistry, drafts: Sequence[Draft], *, replace: bool = False, at: dt.datetime | None = None) -> list[Audience]:
    """Save every draft as an audience, in order (a draft may refer to the ones before it).

    All rules are parsed and type-checked before the first is written.
    """
    for d in drafts:
        check(d.rule)
    return [registry.create(d.name, d.rule, priority=d.priority, description=d.description, replace=replace, at=at) for d in drafts]
