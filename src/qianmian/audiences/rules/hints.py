"""Warnings about a rule that type-checks but looks at data that does not exist.

`trait("contry") = "France"` is a valid rule with 0 members: no consumer has a trait called
"contry". `trait("country") = "Frnace"` too: no consumer has that value. Neither is an error (the
data may arrive later), so the editor, the CLI and the API show a warning that names what is known:

    rule at 1:7: no consumer has the trait "contry" (did you mean "country"?); known traits: city, country, gender

The store is asked once per trait the rule names (which traits exist; the values of that trait,
most common first, at most `MAX_VALUES`).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import ibis

from qianmian.audiences.rules import tree as T
from qianmian.audiences.rules.catalog import TRAIT_COLUMNS
from qianmian.audiences.rules.compiler import UPLIFT_TERMS, trait_value
from qianmian.audiences.rules.errors import line_column
from qianmian.audiences.rules.scores import scores_table
from qianmian.store import Store

MAX_VALUES = 1000
"""Distinct values of a trait read to tell whether a value was ever seen (the most common first)."""
SHOWN = 8
"""Known names or values listed in a warning."""
TRAIT_DOCS_READ = 2000
"""Distinct `users.traits` JSON documents read to learn the trait names."""


@dataclass(frozen=True)
class RuleWarning:
    """Something the rule names that no consumer has; `known` lists what exists instead."""

    position: int
    line: int
    column: int
    message: str
    known: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "known": list(self.known)}


def trait_uses(tree: T.Expr) -> list[tuple[T.Str, tuple[T.Str, ...]]]:
    """Every `trait("name")` in the rule with the string values it is compared with."""
    out: list[tuple[T.Str, tuple[T.Str, ...]]] = []
    seen: set[int] = set()
    for node in T.walk(tree):
        pairs: list[tuple[T.Expr, tuple[T.Expr, ...]]] = []
        if isinstance(node, T.Compare) and node.op in ("=", "!="):
            pairs = [(node.left, (node.right,)), (node.right, (node.left,))]
        elif isinstance(node, T.In):
            pairs = [(node.operand, node.values)]
        for side, values in pairs:
            if _is_trait(side):
                out.append((side.args[0], tuple(v for v in values if isinstance(v, T.Str))))  # type: ignore[union-attr]
                seen.add(id(side))
    for node in T.walk(tree):
        if _is_trait(node) and id(node) not in seen:
            out.append((node.args[0], ()))  # type: ignore[union-attr]
    return out


def _is_trait(node: object) -> bool:
    return isinstance(node, T.Call) and node.name == "trait" and len(node.args) == 1 and isinstance(node.args[0], T.Str)


def rule_warnings(store: Store, tree: T.Expr, text: str) -> list[RuleWarning]:
    """Warnings for unknown trait names and trait values no consumer has (see the module docstring),
    and for uplift models without saved scores."""
    out = uplift_warnings(store, tree, text)
    uses = trait_uses(tree)
    if not uses:
        return out
    users = store.table("users")
    names = known_traits(store)
    values_of: dict[str, list[str]] = {}
    for name_node, values in uses:
        name = name_node.value
        if name not in names:
            out.append(_warning(text, name_node, f'no consumer has the trait "{name}"{_did_you_mean(name, names)}; '
                                f"known traits: {_listing(names)}", names))
            continue
        if name not in values_of:
            values_of[name] = trait_values(store, users, name)
        known = values_of[name]
        for v in values:
            if v.value not in known:
                out.append(_warning(text, v, f'no consumer has trait("{name}") = "{v.value}"{_did_you_mean(v.value, known)}; '
                                    f"known values (most common first): {_listing(known)}", known))
    return out


def known_traits(store: Store) -> list[str]:
    """Trait names some consumer has: `users` trait columns with a value, then `traits` JSON keys."""
    users = store.table("users")
    cols = [c for c in TRAIT_COLUMNS if c in users.columns]
    present = store.execute(users.aggregate(**{c: users[c].notnull().any() for c in cols}, n=users.count())).iloc[0]
    names = [c for c in cols if bool(present[c])]
    docs = users.filter(users.traits.notnull()).select("traits").distinct().limit(TRAIT_DOCS_READ)
    keys: list[str] = []
    for doc in store.execute(docs)["traits"]:
        keys += _json_keys(doc)
    return names + sorted(set(keys) - set(names))


def _json_keys(doc: object) -> list[str]:
    try:
        value = json.loads(str(doc))
    except ValueError:
        return []
    return [str(k) for k in value] if isinstance(value, dict) else []


def trait_values(store: Store, users: ibis.Table, name: str) -> list[str]:
    """The values consumers have for trait `name`, most common first (at most `MAX_VALUES`)."""
    t = users.select(v=trait_value(users, name).cast("string"))
    t = t.filter(t.v.notnull())
    counts = t.group_by("v").aggregate(n=t.count()).order_by([ibis.desc("n"), "v"]).limit(MAX_VALUES)
    return [str(v) for v in store.execute(counts)["v"]]


def _did_you_mean(word: str, options: Iterable[str]) -> str:
    opts = list(options)
    lower = {o.lower(): o for o in opts}
    if word.lower() in lower:
        return f' (did you mean "{lower[word.lower()]}"? values are case-sensitive)'
    close = difflib.get_close_matches(word.lower(), list(lower), n=1, cutoff=0.6)
    return f' (did you mean "{lower[close[0]]}"?)' if close else ""


def _listing(options: list[str]) -> str:
    if not options:
        return "none yet"
    more = len(options) - SHOWN
    return ", ".join(options[:SHOWN]) + (f" and {more} more" if more > 0 else "")


def _warning(text: str, node: T.Node, message: str, known: list[str]) -> RuleWarning:
    line, column = line_column(text, node.pos)
    return RuleWarning(node.pos, line, column, f"rule at {line}:{column}: {message}", tuple(known[:SHOWN]))


def uplift_warnings(store: Store, tree: T.Expr, text: str) -> list[RuleWarning]:
    """`uplift("m")` / `uplift_rank("m")` naming a model with no saved scores (the rule has 0 members)."""
    calls = [n for n in T.walk(tree) if isinstance(n, T.Call) and n.name in UPLIFT_TERMS and isinstance(n.args[0], T.Str)]
    if not calls:
        return []
    scores = scores_table(store)
    models = sorted(store.execute(scores.select("model").distinct())["model"])
    return [
        _warning(text, c.args[0], f'no uplift model "{c.args[0].value}" has saved scores{_did_you_mean(c.args[0].value, models)}; '  # type: ignore[union-attr]
                 f"saved models: {_listing(models)} (qianmian uplift fit --save NAME)", models)
        for c in calls if c.args[0].value not in models  # type: ignore[union-attr]
    ]
