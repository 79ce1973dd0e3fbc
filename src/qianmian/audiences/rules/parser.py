"""Recursive-descent parser: rule text → frozen tree (`qianmian.audiences.rules.tree`).

Grammar (lowest precedence first)::

    rule    := or END
    or      := and ("or" and)*
    and     := not ("and" not)*
    not     := "not" not | compare
    compare := primary [ op primary | ["not"] "in" list ]        op: = != < <= > >=
    primary := STRING | NUMBER | WINDOW | true | false | NAME | NAME "(" [arg ("," arg)*] ")" | "(" or ")"
    arg     := NAME "=" literal | NAME "in" list | or             (NAME = … inside a call is a filter)
    list    := "(" literal ("," literal)* ")"

`and` and `or` associate to the left; comparisons do not chain.
"""

from __future__ import annotations

from qianmian.audiences.rules import tree as T
from qianmian.audiences.rules.errors import RuleError, line_column
from qianmian.audiences.rules.lexer import Token, tokenize

MAX_LENGTH = 10_000
MAX_DEPTH = 100


def parse(rule: str) -> T.Expr:
    """Parse `rule` into a tree; raises `RuleError` (position, expected, received) when it is not valid syntax.

    >>> parse('aipl = "I" and not tag("staff")')
    And(left=Compare(op='=', left=Name(name='aipl'), right=Str(value='I')), right=Not(operand=Call(name='tag', args=(Str(value='staff'),))))
    """
    if not isinstance(rule, str):
        raise RuleError(str(rule), 0, "the rule as text", type(rule).__name__)
    if len(rule) > MAX_LENGTH:
        raise RuleError(rule, MAX_LENGTH, f"a rule of at most {MAX_LENGTH} characters", len(rule))
    return _Parser(rule).parse()


def _describe(tok: Token) -> str:
    return "the end of the rule" if tok.kind == "end" else tok.text


class _Parser:
    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.tokens = tokenize(rule)
        self.i = 0
        self.depth = 0

    # -- token helpers ---------------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, ahead: int = 1) -> Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def advance(self) -> Token:
        tok = self.tok
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def is_kw(self, word: str, tok: Token | None = None) -> bool:
        t = tok or self.tok
        return t.kind == "keyword" and t.value == word

    def error(self, expected: str, tok: Token | None = None) -> RuleError:
        t = tok or self.tok
        return RuleError(self.rule, t.pos, expected, _describe(t))

    def expect(self, kind: str, expected: str) -> Token:
        if self.tok.kind != kind:
            raise self.error(expected)
        return self.advance()

    def closing(self, opener: Token) -> Token:
        line, col = line_column(self.rule, opener.pos)
        return self.expect("rparen", f"')' to close the '(' at {line}:{col}")

    # -- grammar -----------------------------------------------------------------------------
    def parse(self) -> T.Expr:
        if self.tok.kind == "end":
            raise self.error("a condition such as aipl = \"I\"")
        node = self.or_()
        if self.tok.kind != "end":
            raise self.error("'and', 'or' or the end of the rule")
        return node

    def or_(self) -> T.Expr:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"at most {MAX_DEPTH} nested parts")
        node = self.and_()
        while self.is_kw("or"):
            op = self.advance()
            node = T.Or(node, self.and_(), pos=op.pos)
        self.depth -= 1
        return node

    def and_(self) -> T.Expr:
        node = self.not_()
        while self.is_kw("and"):
            op = self.advance()
            node = T.And(node, self.not_(), pos=op.pos)
        return node

    def not_(self) -> T.Expr:
        if self.is_kw("not"):
            op = self.advance()
            self.depth += 1
            if self.depth > MAX_DEPTH:
                raise self.error(f"at most {MAX_DEPTH} nested parts")
            node = T.Not(self.not_(), pos=op.pos)
            self.depth -= 1
            return node
        return self.compare()

    def compare(self) -> T.Expr:
        left = self.primary()
        if self.tok.kind == "op":
            op = self.advance()
            return T.Compare(op.value, left, self.primary(), pos=op.pos)  # type: ignore[arg-type]
        if self.is_kw("in") or (self.is_kw("not") and self.is_kw("in", self.peek())):
            start = self.tok.pos
            negated = self.is_kw("not")
            self.advance() if negated else None
            self.advance()
            return T.In(left, self.literal_list(), negated, pos=start)
        return left

    def primary(self) -> T.Expr:
        tok = self.tok
        if tok.kind in ("str", "num") or self.is_kw("true") or self.is_kw("false"):
            return self.literal()
        if tok.kind == "window":
            self.advance()
            amount, unit = tok.value  # type: ignore[misc]
            return T.Window(amount, unit, pos=tok.pos)
        if tok.kind == "name":
            self.advance()
            if self.tok.kind == "lparen":
                return self.call(tok)
            return T.Name(tok.text, pos=tok.pos)
        if tok.kind == "lparen":
            self.advance()
            node = self.or_()
            self.closing(tok)
            return node
        raise self.error("a value, a name, a function call or '('")

    def literal(self) -> T.Literal:
        tok = self.tok
        if tok.kind == "str":
            self.advance()
            return T.Str(tok.value, pos=tok.pos)  # type: ignore[arg-type]
        if tok.kind == "num":
            self.advance()
            return T.Num(tok.value, pos=tok.pos)  # type: ignore[arg-type]
        if self.is_kw("true") or self.is_kw("false"):
            self.advance()
            return T.Bool(tok.value == "true", pos=tok.pos)
        raise self.error('a value: a "string", a number, true or false')

    def literal_list(self) -> tuple[T.Literal, ...]:
        opener = self.expect("lparen", "'(' starting a list of values, e.g. (\"silent\", \"churning\")")
        values = [self.literal()]
        while self.tok.kind == "comma":
            self.advance()
            values.append(self.literal())
        self.closing(opener)
        return tuple(values)

    def call(self, name: Token) -> T.Call:
        opener = self.advance()
        args: list[T.Expr | T.Filter] = []
        if self.tok.kind != "rparen":
            args.append(self.argument())
            while self.tok.kind == "comma":
                self.advance()
                args.append(self.argument())
        self.closing(opener)
        return T.Call(name.text, tuple(args), pos=name.pos)

    def argument(self) -> T.Expr | T.Filter:
        tok, nxt = self.tok, self.peek()
        if tok.kind == "name" and nxt.kind == "op" and nxt.value == "=":
            self.i += 2
            return T.Filter(tok.text, (self.literal(),), "=", pos=tok.pos)
        if tok.kind == "name" and self.is_kw("in", nxt):
            self.i += 2
            return T.Filter(tok.text, self.literal_list(), "in", pos=tok.pos)
        return self.or_()
