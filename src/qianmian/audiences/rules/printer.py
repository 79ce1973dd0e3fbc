"""Render a rule tree back to canonical rule text (`to_text`) or to a plain sentence (`to_sentence`).

`parse(to_text(tree)) == tree` for every tree (property-tested): parentheses are added exactly
where precedence (or < and < not < comparison) or a call argument would otherwise change the meaning.
"""

from __future__ import annotations

from qianmian.audiences.rules import tree as T
from qianmian.audiences.rules.catalog import FIELDS

_PREC = {T.Or: 1, T.And: 2, T.Not: 3, T.Compare: 4, T.In: 4}
_ESC = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}


def _prec(node: T.Expr) -> int:
    return _PREC.get(type(node), 5)


def quote(value: str) -> str:
    """A string literal in rule syntax."""
    return '"' + "".join(_ESC.get(c, c) for c in value) + '"'


def literal_text(node: T.Literal) -> str:
    if isinstance(node, T.Str):
        return quote(node.value)
    if isinstance(node, T.Bool):
        return "true" if node.value else "false"
    return repr(node.value) if isinstance(node.value, float) else str(node.value)


def to_text(node: T.Expr | T.Filter) -> str:
    """Canonical rule text, e.g. `aipl = "I" and count(view, category = "coffee", 30d) >= 3`."""
    if isinstance(node, (T.Str, T.Num, T.Bool)):
        return literal_text(node)
    if isinstance(node, T.Window):
        return f"{node.amount}{node.unit}"
    if isinstance(node, T.Name):
        return node.name
    if isinstance(node, T.Filter):
        if node.op == "=":
            return f"{node.key} = {literal_text(node.values[0])}"
        return f"{node.key} in {_list(node.values)}"
    if isinstance(node, T.Call):
        return f"{node.name}({', '.join(_arg(a) for a in node.args)})"
    return _compound(node)


def _compound(node: T.Expr) -> str:
    if isinstance(node, T.Compare):
        return f"{_wrap(node.left, 5)} {node.op} {_wrap(node.right, 5)}"
    if isinstance(node, T.In):
        word = "not in" if node.negated else "in"
        return f"{_wrap(node.operand, 5)} {word} {_list(node.values)}"
    if isinstance(node, T.Not):
        return f"not {_wrap(node.operand, 3)}"
    word, level = ("and", 2) if isinstance(node, T.And) else ("or", 1)
    return f"{_wrap(node.left, level)} {word} {_wrap(node.right, level + 1)}"  # type: ignore[union-attr]


def _wrap(node: T.Expr, at_least: int) -> str:
    text = to_text(node)
    return f"({text})" if _prec(node) < at_least else text


def _arg(node: T.Expr | T.Filter) -> str:
    # `f(category = "x")` is a filter, so an argument whose text would begin `name =` or `name in`
    # (a comparison of a bare name, alone or first in an and/or chain) keeps its parentheses
    return f"({to_text(node)})" if _reads_as_filter(node) else to_text(node)


def _reads_as_filter(node: T.Expr | T.Filter) -> bool:
    """Does the printed text of `node` start with a bare name followed by `=` or `in`?"""
    while isinstance(node, (T.And, T.Or)) and _prec(node.left) >= _prec(node):  # the left side is not wrapped
        node = node.left
    if isinstance(node, T.Compare):
        return node.op == "=" and isinstance(node.left, T.Name)
    if isinstance(node, T.In):
        return not node.negated and isinstance(node.operand, T.Name)
    return False


def _list(values: tuple[T.Literal, ...]) -> str:
    return "(" + ", ".join(literal_text(v) for v in values) + ")"


# -- plain sentences ---------------------------------------------------------------------------------

_OP_WORDS = {"=": "is", "!=": "is not", "<": "is less than", "<=": "is at most", ">": "is more than", ">=": "is at least"}
_BEHAVIOR_WORDS = {"any": "events", "buy": "purchases", "view": "views", "fav": "favourites", "cart": "add-to-carts"}


def to_sentence(node: T.Expr) -> str:
    """A plain-English reading of the rule for marketers.

    >>> from qianmian.audiences.rules.parser import parse
    >>> to_sentence(parse('lifecycle in ("silent", "churning") and monetary(365d) > 500'))
    'Consumers whose lifecycle state is one of "silent", "churning" and whose spend in the last 365 days is more than 500.'
    """
    return "Consumers " + _say(node) + "."


def _say(node: T.Expr) -> str:
    if isinstance(node, T.Or):
        return f"{_say_group(node.left, T.And)} or {_say_group(node.right, T.And)}"
    if isinstance(node, T.And):
        return f"{_say_group(node.left, T.Or)} and {_say_group(node.right, T.Or)}"
    if isinstance(node, T.Not):
        return _say_not(node.operand)
    if isinstance(node, T.Compare):
        return f"whose {_noun(node.left)} {_OP_WORDS[node.op]} {_noun(node.right)}"
    if isinstance(node, T.In):
        values = ", ".join(literal_text(v) for v in node.values)
        return f"whose {_noun(node.operand)} is {'none' if node.negated else 'one'} of {values}"
    return _say_condition(node)


def _say_group(node: T.Expr, mixed: type) -> str:
    text = _say(node)
    return f"({text})" if isinstance(node, mixed) else text


def _say_not(node: T.Expr) -> str:
    if isinstance(node, T.Call) and node.name == "tag":
        return f"who do not have the self-tag {_noun(node.args[0])}"  # type: ignore[arg-type]
    if isinstance(node, T.Call) and node.name == "in_audience":
        return f"who are not in the audience {_noun(node.args[0])}"  # type: ignore[arg-type]
    return f"not ({_say(node)})"


def _say_condition(node: T.Expr) -> str:
    if isinstance(node, T.Call) and node.name == "tag":
        return f"who have the self-tag {_noun(node.args[0])}"  # type: ignore[arg-type]
    if isinstance(node, T.Call) and node.name == "in_audience":
        return f"who are in the audience {_noun(node.args[0])}"  # type: ignore[arg-type]
    if isinstance(node, T.Name) and node.name == "member":
        return "who are members"
    if isinstance(node, T.Bool):
        return "(everyone)" if node.value else "(no one)"
    return f"for whom {_noun(node)} holds"


def _noun(node: T.Expr) -> str:
    if isinstance(node, (T.Str, T.Num, T.Bool)):
        return literal_text(node)
    if isinstance(node, T.Name):
        return FIELDS[node.name].noun if node.name in FIELDS else node.name
    if isinstance(node, T.Call):
        return _call_noun(node)
    return f"({_say(node)})"


def _call_noun(node: T.Call) -> str:
    pos = node.positional
    where = "".join(f" in {_filter_words(f)}" for f in node.filters)
    window = next((a for a in pos if isinstance(a, T.Window)), None)
    span = f" in the last {window.days} days" if window else ""
    if node.name == "count":
        behavior = pos[0].name if isinstance(pos[0], T.Name) else "events"
        return f"number of {_BEHAVIOR_WORDS.get(behavior, behavior + ' events')}{where}{span}"
    if node.name == "monetary":
        return f"spend{where}{span}"
    if node.name == "orders":
        return f"number of orders{where}{span}"
    if node.name == "trait":
        return f"trait {_noun(pos[0])}" if pos else "trait"
    if node.name == "expected_purchases":
        return f"expected purchases in the next {window.days} days" if window else "expected purchases"
    if node.name == "clv":
        return f"expected value in the next {window.days} days" if window else "expected value"
    if node.name == "uplift":
        return f"predicted uplift from the model {_noun(pos[0])}"
    if node.name == "uplift_rank":
        return f"place by predicted uplift from the model {_noun(pos[0])} (percent from the top)"
    return to_text(node)


def _filter_words(f: T.Filter) -> str:
    values = " or ".join(literal_text(v) for v in f.values)
    return f"{f.key} {values}"
