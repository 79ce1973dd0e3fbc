"""Compile checked rule trees to Ibis expressions — never to SQL text.

A rule reads two kinds of values:

- consumer fields (`aipl`, `lifecycle`, `monetary`, `trait("country")` …) are columns of the
  feature table (`qianmian.features.consumer_features`);
- windowed event terms (`count(view, category = "coffee", 30d)`, `monetary(365d)`, `orders(90d)`)
  and self-tags (`tag("vegan")`) are aggregates over `events` / active tags grouped by `user_id`,
  computed once for every term of every rule and left-joined to the feature table;
- uplift scores (`uplift("m")`, `uplift_rank("m")`) come from the `uplift_scores` table that
  `qianmian.uplift` writes; a consumer the model did not score has none (comparisons are false).

Each comparison is null-safe: a missing value (no AIPL stage, no trait) makes the comparison false,
so `not aipl = "I"` includes consumers without a stage. Literals become typed Ibis literals, so a
value such as `"; drop table events; --` is only ever compared as data.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import ibis

from qianmian.audiences.rules import tree as T
from qianmian.audiences.rules.catalog import ANY_BEHAVIOR, FIELDS, FILTER_COLUMNS, TRAIT_COLUMNS
from qianmian.errors import InputError

EVENT_TERMS = ("count", "monetary", "orders")
CLV_TERMS = ("expected_purchases", "clv")  # feature-table columns `<name>_<N>d` (see clv_column)
UPLIFT_TERMS = {"uplift": "uplift", "uplift_rank": "rank_pct"}  # function → column of uplift_scores
_OPS: dict[str, Callable] = {
    "=": operator.eq, "!=": operator.ne, "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}


@dataclass(frozen=True)
class Sources:
    """What compiled rules read.

    `features`: one row per consumer (`user_id` + the columns named in `catalog.FIELDS`, trait
    columns and `traits` JSON); `events`: the events table; `tags`: active self-tags as of the
    date (`user_id`, `tag`); `end`: the exclusive end of the `as_of` day; `resolve`: audience
    name → its checked rule tree (for `in_audience`); `uplift`: the `uplift_scores` table (model,
    user_id, uplift, rank_pct), needed only by rules that call `uplift` or `uplift_rank`.
    """

    features: ibis.Table
    events: ibis.Table
    tags: ibis.Table
    end: dt.datetime
    resolve: Callable[[str], T.Expr] | None = None
    uplift: ibis.Table | None = None


def compile_flags(rules: Mapping[str, T.Expr], sources: Sources) -> ibis.Table:
    """One row per consumer: `user_id` and a boolean column per rule name (True = member).

    All windowed terms of all rules share one pass over `events` and one over tags.
    """
    expanded = {name: expand(rule, sources.resolve) for name, rule in rules.items()}
    calls = [n for rule in expanded.values() for n in T.walk(rule) if isinstance(n, T.Call)]
    event_terms = _unique(c for c in calls if c.name in EVENT_TERMS)
    tag_terms = _unique(c for c in calls if c.name == "tag")
    uplift_terms = _unique(c for c in calls if c.name in UPLIFT_TERMS)
    table = _with_terms(sources, event_terms, tag_terms, uplift_terms)
    names = {**{c: f"_term{i}" for i, c in enumerate(event_terms)}, **{c: f"_tag{i}" for i, c in enumerate(tag_terms)},
             **{c: f"_upl{i}" for i, c in enumerate(uplift_terms)}}
    ctx = _Context(table, names)
    return table.select("user_id", **{name: ctx.predicate(rule) for name, rule in expanded.items()})


def compile_members(rule: T.Expr, sources: Sources) -> ibis.Table:
    """The members of one rule: a table with a `user_id` column."""
    flags = compile_flags({"member_flag": rule}, sources)
    return flags.filter(flags.member_flag).select("user_id")


def expand(rule: T.Expr, resolve: Callable[[str], T.Expr] | None, within: tuple[str, ...] = ()) -> T.Expr:
    """Replace every `in_audience("x")` by the rule of audience x (recursively; cycles are an error).

    `within` names the audiences being expanded already (the audience that owns `rule`, if any).
    """
    if isinstance(rule, T.Call) and rule.name == "in_audience":
        name = rule.args[0].value  # type: ignore[union-attr]
        if name in within:
            raise InputError("in_audience", "audiences that do not refer to each other in a cycle", " → ".join((*within, name)))
        if resolve is None:
            raise InputError("in_audience", "a registry to look audiences up", name)
        return expand(resolve(name), resolve, (*within, name))
    if isinstance(rule, (T.And, T.Or)):
        return type(rule)(expand(rule.left, resolve, within), expand(rule.right, resolve, within), pos=rule.pos)
    if isinstance(rule, T.Not):
        return T.Not(expand(rule.operand, resolve, within), pos=rule.pos)
    if isinstance(rule, T.Compare):
        return T.Compare(rule.op, expand(rule.left, resolve, within), expand(rule.right, resolve, within), pos=rule.pos)
    return rule


def _unique(calls) -> list[T.Call]:
    return list(dict.fromkeys(calls))


def _with_terms(sources: Sources, event_terms: list[T.Call], tag_terms: list[T.Call], uplift_terms: list[T.Call]) -> ibis.Table:
    table = sources.features
    if event_terms:
        table = _left_join(table, _event_aggregate(sources.events, event_terms, sources.end), fill=0)
    if tag_terms:
        table = _left_join(table, _tag_aggregate(sources.tags, tag_terms), fill=False)
    if uplift_terms:
        if sources.uplift is None:
            raise InputError("uplift", "a store with saved uplift scores", uplift_terms[0].args[0].value)  # type: ignore[union-attr]
        table = _left_join(table, _uplift_aggregate(sources.uplift, uplift_terms), fill=None)
    return table


def _left_join(left: ibis.Table, right: ibis.Table, *, fill: object) -> ibis.Table:
    measures = [c for c in right.columns if c != "user_id"]
    joined = left.left_join(right, left.user_id == right.user_id)
    return joined.select(left, *[(right[c] if fill is None else right[c].fill_null(fill)).name(c) for c in measures])


def _event_aggregate(events: ibis.Table, terms: list[T.Call], end: dt.datetime) -> ibis.Table:
    longest = max(_window(c).days for c in terms)
    ev = events.filter(events.user_id.notnull(), events.ts < end, events.ts >= end - dt.timedelta(days=longest))
    metrics = {f"_term{i}": _event_measure(ev, c, end) for i, c in enumerate(terms)}
    return ev.group_by("user_id").aggregate(**metrics)


def _window(call: T.Call) -> T.Window:
    return next(a for a in call.positional if isinstance(a, T.Window))


def _event_measure(ev: ibis.Table, call: T.Call, end: dt.datetime) -> ibis.Value:
    """count → events; monetary → buy amount minus return amount; orders → distinct buy orders."""
    cond = ev.ts >= end - dt.timedelta(days=_window(call).days)
    for f in call.filters:
        column = ev[FILTER_COLUMNS[f.key]]
        cond &= column.isin([v.value for v in f.values])
    if call.name == "count":
        behavior = call.positional[0].name  # type: ignore[union-attr]
        if behavior != ANY_BEHAVIOR:
            cond &= ev.behavior == behavior
        return ev.count(where=cond)
    if call.name == "monetary":
        amount = ev.amount.fill_null(0.0)
        signed = ibis.cases((ev.behavior == "return", -amount), else_=amount)
        return signed.sum(where=cond & ev.behavior.isin(["buy", "return"])).fill_null(0.0)
    key = ibis.coalesce(ev.order_id, ev.event_id)
    return key.nunique(where=cond & (ev.behavior == "buy"))


def _tag_aggregate(tags: ibis.Table, terms: list[T.Call]) -> ibis.Table:
    wanted = [c.args[0].value for c in terms]  # type: ignore[union-attr]
    t = tags.filter(tags.tag.isin(wanted))
    metrics = {f"_tag{i}": (t.tag == name).any() for i, name in enumerate(wanted)}
    return t.group_by("user_id").aggregate(**metrics)


def _uplift_aggregate(scores: ibis.Table, terms: list[T.Call]) -> ibis.Table:
    """One row per scored consumer: each term's value (NULL where that model did not score them)."""
    models = [c.args[0].value for c in terms]  # type: ignore[union-attr]
    s = scores.filter(scores.model.isin(models))
    metrics = {f"_upl{i}": s[UPLIFT_TERMS[c.name]].max(where=s.model == m) for i, (c, m) in enumerate(zip(terms, models))}
    return s.group_by("user_id").aggregate(**metrics)


class _Context:
    def __init__(self, table: ibis.Table, names: dict[T.Call, str]) -> None:
        self.table = table
        self.names = names

    def predicate(self, node: T.Expr) -> ibis.BooleanValue:
        if isinstance(node, T.And):
            return self.predicate(node.left) & self.predicate(node.right)
        if isinstance(node, T.Or):
            return self.predicate(node.left) | self.predicate(node.right)
        if isinstance(node, T.Not):
            return ~self.predicate(node.operand)
        if isinstance(node, T.Compare):
            return _OPS[node.op](self.value(node.left), self.value(node.right)).fill_null(False)
        if isinstance(node, T.In):
            inside = self.value(node.operand).isin([v.value for v in node.values]).fill_null(False)
            return ~inside if node.negated else inside
        return self.value(node).fill_null(False)

    def value(self, node: T.Expr) -> ibis.Value:
        if isinstance(node, (T.Str, T.Num, T.Bool)):
            return ibis.literal(node.value)
        if isinstance(node, T.Name):
            return self.table[FIELDS[node.name].column]
        if isinstance(node, T.Call) and node.name == "trait":
            return trait_value(self.table, node.args[0].value)  # type: ignore[union-attr]
        if isinstance(node, T.Call) and node.name in CLV_TERMS:
            return self.table[clv_column(node)]
        if isinstance(node, T.Call) and node in self.names:
            return self.table[self.names[node]]
        return self.predicate(node)


def clv_column(call: T.Call) -> str:
    """The feature-table column of `expected_purchases(90d)` / `clv(365d)`: expected_purchases_90d, clv_365d."""
    return f"{call.name}_{_window(call).days}d"


def trait_value(table: ibis.Table, key: str) -> ibis.StringValue:
    """A trait: the `users` column of that name when there is one, else the key of the `traits` JSON.

    The JSON value is read with a regular expression (strings and bare numbers/booleans), which
    works the same on DuckDB and Spark; `key` is a checked identifier, so it is safe in the pattern.
    """
    if key in TRAIT_COLUMNS and key in table.columns:
        return table[key]
    text = table.traits
    quoted = text.re_extract(rf'"{key}"\s*:\s*"((?:[^"\\]|\\.)*)"', 1).nullif("")
    bare = text.re_extract(rf'"{key}"\s*:\s*(-?[0-9.eE+]+|true|false)', 1).nullif("")
    return ibis.coalesce(quoted, bare)
