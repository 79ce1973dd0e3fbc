"""Tokens of the rule language.

    strings   "coffee"  (double quotes; escapes \\" \\\\ \\n \\t)
    numbers   3  500  0.25  -1  1e6
    windows   30d  2w   (a whole number and a unit: d = days, w = weeks)
    names     aipl  count  category  view
    keywords  and  or  not  in  true  false   (any letter case)
    symbols   ( ) , = == != <> < <= > >=

Anything else (`;`, `--`, `'`, `*` …) is an error at its position: a rule has no way to say SQL.
A single-quoted (or typographic-quoted) string is an error that shows the double-quoted form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from qianmian.audiences.rules.errors import RuleError

Kind = Literal["str", "num", "window", "name", "keyword", "op", "lparen", "rparen", "comma", "end"]
KEYWORDS = frozenset({"and", "or", "not", "in", "true", "false"})
WINDOW_EXPECTED = "a window such as 30d or 2w (a whole number, then d = days or w = weeks)"
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t"}

_DIGITS = frozenset("0123456789")
_SPACE = re.compile(r"\s+")
_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_WORD_TAIL = re.compile(r"[A-Za-z0-9_]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_WINDOW = re.compile(r"([0-9]+)([dw])")
_OPS = ("==", "!=", "<>", "<=", ">=", "=", "<", ">")


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str
    value: object
    pos: int


def tokenize(rule: str) -> list[Token]:
    """Split `rule` into tokens, ending with an `end` token; raises `RuleError` on a bad character."""
    tokens: list[Token] = []
    i = 0
    while True:
        m = _SPACE.match(rule, i)
        if m:
            i = m.end()
        if i >= len(rule):
            tokens.append(Token("end", "", None, i))
            return tokens
        token = _next(rule, i)
        tokens.append(token)
        i = token.pos + len(token.text)


def _next(rule: str, i: int) -> Token:
    ch = rule[i]
    if ch == '"':
        return _string(rule, i)
    if ch in _DIGITS or (ch == "-" and rule[i + 1 : i + 2] in _DIGITS):
        return _number_or_window(rule, i)
    if ch.isascii() and (ch.isalpha() or ch == "_"):
        return _word(rule, i)
    for op in _OPS:
        if rule.startswith(op, i):
            return Token("op", op, {"==": "=", "<>": "!="}.get(op, op), i)
    simple = {"(": "lparen", ")": "rparen", ",": "comma"}
    if ch in simple:
        return Token(simple[ch], ch, ch, i)  # type: ignore[arg-type]
    if ch in "'‘’“”":
        raise _single_quote(rule, i)
    raise RuleError(rule, i, "a name, a value, an operator or a parenthesis", _snippet(rule, i))


def _string(rule: str, start: int) -> Token:
    out: list[str] = []
    i = start + 1
    while i < len(rule):
        ch = rule[i]
        if ch == '"':
            return Token("str", rule[start : i + 1], "".join(out), start)
        if ch == "\\":
            esc = rule[i + 1 : i + 2]
            if esc not in _ESCAPES:
                raise RuleError(rule, i, 'an escape \\" \\\\ \\n or \\t inside a string', "\\" + esc)
            out.append(_ESCAPES[esc])
            i += 2
            continue
        out.append(ch)
        i += 1
    raise RuleError(rule, start, 'a closing " for the string that starts here', _snippet(rule, start))


def _single_quote(rule: str, i: int) -> RuleError:
    """Strings take double quotes: say so, with the string rewritten (`'FR'` → `"FR"`)."""
    end = next((j for j in range(i + 1, len(rule)) if rule[j] in "'‘’“”"), -1)
    inner = rule[i + 1 : end] if end > 0 else rule[i + 1 :].split()[0] if rule[i + 1 :].split() else ""
    hint = '"' + inner.replace("\\", "\\\\").replace('"', '\\"') + '"'
    got = rule[i : end + 1] if end > 0 else _snippet(rule, i)
    return RuleError(rule, i, f"a string in double quotes: use {hint}", got)


def _number_or_window(rule: str, i: int) -> Token:
    m = _NUMBER.match(rule, i)
    assert m is not None
    tail = _WORD_TAIL.match(rule, m.end())
    word = rule[i : tail.end()] if tail else m.group()
    if word == m.group():
        text = m.group()
        value: int | float = float(text) if any(c in text for c in ".eE") else int(text)
        return Token("num", text, value, i)
    w = _WINDOW.fullmatch(word)
    if not w:
        raise RuleError(rule, i, WINDOW_EXPECTED, word)
    return Token("window", word, (int(w.group(1)), w.group(2)), i)


def _word(rule: str, i: int) -> Token:
    m = _NAME.match(rule, i)
    assert m is not None
    text = m.group()
    if text.lower() in KEYWORDS:
        return Token("keyword", text, text.lower(), i)
    return Token("name", text, text, i)


def _snippet(rule: str, i: int, width: int = 20) -> str:
    s = rule[i : i + width]
    return s + ("…" if len(rule) > i + width else "")
