"""Type-check a rule tree before it is saved: every error carries the position, what was expected and what was received.

Checks: known fields, functions, behaviours and filters; argument counts and types; windows between
1 day and 10 years; comparisons between values of the same type (ordering only for numbers);
string values a field can take (`aipl = "X"` is an error); the whole rule is a condition; named
audiences exist (when a resolver is given).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable

from qianmian.audiences.rules import tree as T
from qianmian.audiences.rules.catalog import (
    BEHAVIOR_NAMES,
    FIELDS,
    FILTER_COLUMNS,
    FUNCTIONS,
    MAX_WINDOW_DAYS,
    FunctionSpec,
    Type,
)
from qianmian.audiences.rules.errors import RuleError
from qianmian.audiences.rules.parser import parse
from qianmian.audiences.rules.printer import to_text

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_ARTICLE: dict[str, str] = {
    "bool": "a condition (true/false)", "number": "a number", "string": "a string",
    "window": "a window such as 30d", "behavior": "a behaviour such as view or buy",
}


def check(rule: str | T.Expr, *, text: str | None = None, audience_exists: Callable[[str], bool] | None = None) -> T.Expr:
    """Parse (if needed) and type-check `rule`; returns the tree or raises `RuleError`.

    `text` is the original rule text (for positions) when a tree is passed; `audience_exists`
    tells whether `in_audience("name")` refers to a saved audience.

    >>> check('monetary(365d) > 500 and lifecycle in ("silent", "churning")')  # doctest: +ELLIPSIS
    And(...)
    """
    tree = parse(rule) if isinstance(rule, str) else rule
    source = rule if isinstance(rule, str) else (text or "")
    got = _Checker(source, audience_exists).type_of(tree)
    if got != "bool":
        raise RuleError(source, tree.pos, "a condition such as monetary(365d) > 500", f"{_ARTICLE[got]} on its own")
    return tree


def _suggest(name: str, options: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(options), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _literal_text(node: T.Expr) -> str:
    if isinstance(node, T.Str):
        return f'"{node.value}"'
    if isinstance(node, T.Bool):
        return "true" if node.value else "false"
    if isinstance(node, T.Num):
        return repr(node.value)
    return type(node).__name__.lower()


class _Checker:
    def __init__(self, text: str, audience_exists: Callable[[str], bool] | None) -> None:
        self.text = text
        self.audience_exists = audience_exists

    def fail(self, node: T.Node, expected: str, received: object) -> RuleError:
        return RuleError(self.text, node.pos, expected, received)

    def type_of(self, node: T.Expr) -> Type:
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node)

    def _str(self, node: T.Str) -> Type:
        return "string"

    def _num(self, node: T.Num) -> Type:
        return "number"

    def _bool(self, node: T.Bool) -> Type:
        return "bool"

    def _window(self, node: T.Window) -> Type:
        if not 1 <= node.days <= MAX_WINDOW_DAYS:
            raise self.fail(node, f"a window from 1d to {MAX_WINDOW_DAYS}d", f"{node.amount}{node.unit}")
        return "window"

    def _name(self, node: T.Name) -> Type:
        if node.name in FIELDS:
            return FIELDS[node.name].type
        if node.name in FUNCTIONS:
            raise self.fail(node, f"a call such as {FUNCTIONS[node.name].summary.split(':')[0]}", node.name)
        raise self.fail(node, f"a field: one of {', '.join(FIELDS)}{_suggest(node.name, FIELDS)}", node.name)

    def _not(self, node: T.Not) -> Type:
        self.expect(node.operand, "bool", "'not' to apply to a condition")
        return "bool"

    def _and(self, node: T.And | T.Or) -> Type:
        word = type(node).__name__.lower()
        self.expect(node.left, "bool", f"a condition on the left of '{word}'")
        self.expect(node.right, "bool", f"a condition on the right of '{word}'")
        return "bool"

    _or = _and

    def expect(self, node: T.Expr, want: Type, what: str) -> None:
        got = self.type_of(node)
        if got != want:
            raise self.fail(node, what, _ARTICLE[got])

    def _compare(self, node: T.Compare) -> Type:
        left, right = self.type_of(node.left), self.type_of(node.right)
        if left in ("window", "behavior") or right in ("window", "behavior"):
            bad = node.left if left in ("window", "behavior") else node.right
            raise self.fail(bad, "a value to compare (a window or behaviour only goes inside a call)", _literal_text(bad))
        if left != right:
            raise self.fail(node.right, f"{_ARTICLE[left]} to compare with {to_text(node.left)}", _ARTICLE[right])
        if node.op not in ("=", "!=") and left != "number":
            raise self.fail(node, f"'=' or '!=' (only numbers are ordered with {node.op})", node.op)
        self.check_values(node.left, (node.right,))
        self.check_values(node.right, (node.left,))
        return "bool"

    def _in(self, node: T.In) -> Type:
        got = self.type_of(node.operand)
        if got not in ("string", "number"):
            raise self.fail(node.operand, "a string or a number before 'in'", _ARTICLE[got])
        for value in node.values:
            if self.type_of(value) != got:
                raise self.fail(value, f"{_ARTICLE[got]} in the list", _literal_text(value))
        self.check_values(node.operand, node.values)
        return "bool"

    def check_values(self, field: T.Expr, values: Iterable[T.Expr]) -> None:
        """A field with a closed set of values (aipl, lifecycle, customer) only equals one of them."""
        if not (isinstance(field, T.Name) and field.name in FIELDS and FIELDS[field.name].values):
            return
        allowed = FIELDS[field.name].values
        for value in values:
            if isinstance(value, T.Str) and value.value not in allowed:
                options = ", ".join(f'"{v}"' for v in allowed)
                raise self.fail(value, f"one of {options} for {field.name}", value.value)

    def _call(self, node: T.Call) -> Type:
        spec = FUNCTIONS.get(node.name)
        if spec is None:
            raise self.fail(node, f"a function: one of {', '.join(FUNCTIONS)}{_suggest(node.name, FUNCTIONS)}", node.name)
        self.check_filters(node, spec)
        args = node.positional
        if len(args) != len(spec.params):
            raise self.fail(node, f"{len(spec.params)} argument(s): {spec.summary}", f"{len(args)} argument(s)")
        for arg, want in zip(args, spec.params):
            self.check_arg(node, spec, arg, want)
        return spec.returns

    def check_filters(self, node: T.Call, spec: FunctionSpec) -> None:
        for f in node.filters:
            if not spec.filters:
                raise self.fail(f, f"no filters in {node.name}(): {spec.summary}", f.key)
            if f.key not in FILTER_COLUMNS:
                raise self.fail(f, f"a filter: one of {', '.join(FILTER_COLUMNS)}{_suggest(f.key, FILTER_COLUMNS)}", f.key)
            for value in f.values:
                if not isinstance(value, T.Str):
                    raise self.fail(value, f'a string id for {f.key}, e.g. {f.key} = "123"', _literal_text(value))

    def check_arg(self, call: T.Call, spec: FunctionSpec, arg: T.Expr, want: Type) -> None:
        if want == "behavior":
            if not (isinstance(arg, T.Name) and arg.name in BEHAVIOR_NAMES):
                got = arg.name if isinstance(arg, T.Name) else _literal_text(arg)
                hint = _suggest(got, BEHAVIOR_NAMES) if isinstance(arg, T.Name) else ""
                raise self.fail(arg, f"a behaviour: one of {', '.join(BEHAVIOR_NAMES)}{hint}", got)
            return
        if spec.literal_args and not isinstance(arg, T.Str):
            raise self.fail(arg, f'a "quoted" name in {call.name}(): {spec.summary}', _literal_text(arg))
        got = self.type_of(arg)
        if got != want:
            raise self.fail(arg, f"{_ARTICLE[want]} in {call.name}(): {spec.summary}", _ARTICLE[got])
        if call.name == "trait" and not _IDENT.fullmatch(arg.value):  # type: ignore[union-attr]
            raise self.fail(arg, 'a trait name of letters, digits and _, e.g. trait("gender")', arg.value)  # type: ignore[union-attr]
        if call.name == "in_audience" and self.audience_exists is not None:
            name = arg.value  # type: ignore[union-attr]
            if not self.audience_exists(name):
                raise self.fail(arg, "the name of a saved audience", name)
