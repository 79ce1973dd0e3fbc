"""The rule tree: small frozen nodes produced by the parser and read by the checker, compiler and printers.

Every node remembers where it started in the rule text (`pos`, a 0-based character offset), but the
position is not part of equality, so `parse(to_text(tree)) == tree` holds for any spacing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal as Lit
from typing import TypeAlias

CompareOp = Lit["=", "!=", "<", "<=", ">", ">="]
COMPARE_OPS: tuple[str, ...] = ("=", "!=", "<", "<=", ">", ">=")
WindowUnit = Lit["d", "w"]
UNIT_DAYS: dict[str, int] = {"d": 1, "w": 7}


@dataclass(frozen=True)
class Node:
    pos: int = field(default=0, compare=False, kw_only=True, repr=False)


@dataclass(frozen=True)
class Str(Node):
    """A string literal, e.g. `"coffee"`."""

    value: str


@dataclass(frozen=True)
class Num(Node):
    """A number literal, e.g. `500` or `0.25`."""

    value: int | float


@dataclass(frozen=True)
class Bool(Node):
    """`true` or `false`."""

    value: bool


@dataclass(frozen=True)
class Window(Node):
    """A time window ending at `as_of`, e.g. `30d` (30 days) or `2w` (14 days)."""

    amount: int
    unit: WindowUnit

    @property
    def days(self) -> int:
        return self.amount * UNIT_DAYS[self.unit]


@dataclass(frozen=True)
class Name(Node):
    """A bare identifier: a consumer field (`aipl`, `monetary`) or a behaviour inside `count(...)`."""

    name: str


Literal: TypeAlias = Str | Num | Bool


@dataclass(frozen=True)
class Filter(Node):
    """A keyword filter inside a call: `category = "coffee"` or `brand in ("a", "b")`."""

    key: str
    values: tuple[Literal, ...]
    op: Lit["=", "in"] = "="


@dataclass(frozen=True)
class Call(Node):
    """A function call such as `count(view, category = "coffee", 30d)` or `tag("vegan")`."""

    name: str
    args: tuple[Expr | Filter, ...] = ()

    @property
    def positional(self) -> tuple[Expr, ...]:
        return tuple(a for a in self.args if not isinstance(a, Filter))

    @property
    def filters(self) -> tuple[Filter, ...]:
        return tuple(a for a in self.args if isinstance(a, Filter))


@dataclass(frozen=True)
class Compare(Node):
    """`left op right` with op one of = != < <= > >=."""

    op: CompareOp
    left: Expr
    right: Expr


@dataclass(frozen=True)
class In(Node):
    """`operand in (v1, v2, ...)` or, negated, `operand not in (...)`."""

    operand: Expr
    values: tuple[Literal, ...]
    negated: bool = False


@dataclass(frozen=True)
class Not(Node):
    operand: Expr


@dataclass(frozen=True)
class And(Node):
    left: Expr
    right: Expr


@dataclass(frozen=True)
class Or(Node):
    left: Expr
    right: Expr


Expr: TypeAlias = Str | Num | Bool | Window | Name | Call | Compare | In | Not | And | Or


def walk(node: Expr | Filter):
    """Yield `node` and every node below it, parents first."""
    yield node
    for child in _children(node):
        yield from walk(child)


def _children(node: Expr | Filter) -> tuple:
    if isinstance(node, Call):
        return node.args
    if isinstance(node, (Compare, And, Or)):
        return (node.left, node.right)
    if isinstance(node, In):
        return (node.operand, *node.values)
    if isinstance(node, Not):
        return (node.operand,)
    if isinstance(node, Filter):
        return node.values
    return ()
