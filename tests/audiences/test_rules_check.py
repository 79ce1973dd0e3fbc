"""The checker: every bad rule gives a RuleError naming the position, what was expected and what was received."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qianmian.audiences.rules import RuleError, check
from qianmian.errors import InputError

BAD = [
    # (rule, 1-based column of the problem, words in the expectation, received)
    ('foo(3) > 1', 1, "a function: one of count", "foo"),
    ('count(view, 30d) > "three"', 20, "a number to compare with count(view, 30d)", "a string"),
    ('aipl = 3', 8, "a string to compare with aipl", "a number"),
    ('(aipl = "I" and monetary(30d) > 5', 34, "')' to close the '(' at 1:1", "the end of the rule"),
    ('aipl = "I")', 11, "'and', 'or' or the end of the rule", ")"),
    ('count(view, 30x) > 1', 13, "a window such as 30d", "30x"),
    ('"; drop table events; --', 1, 'a closing " for the string', '"; drop table events…'),
    ('aipl = "I"; drop table events; --', 11, "a name, a value, an operator or a parenthesis", "; drop table events;…"),
    ("aipl = 'I'", 8, 'a string in double quotes: use "I"', "'I'"),
    ('aipl = "X"', 8, 'one of "A", "I", "P", "L" for aipl', "X"),
    ('lifecycl = "lost"', 1, "did you mean lifecycle?", "lifecycl"),
    ('count(pv, 30d) > 1', 7, "a behaviour: one of expose, view", "pv"),
    ('count(view, colour = "red", 30d) > 1', 13, "a filter: one of category", "colour"),
    ('count(view, category = 7, 30d) > 1', 24, 'a string id for category', "7"),
    ('monetary(365d)', 1, "a condition such as", "a number on its own"),
    ('monetary(0d) > 1', 10, "a window from 1d to 3650d", "0d"),
    ('monetary(9999d) > 1', 10, "a window from 1d to 3650d", "9999d"),
    ('monetary(30d, 60d) > 1', 1, "1 argument(s)", "2 argument(s)"),
    ('aipl > "A"', 6, "'=' or '!='", ">"),
    ('lifecycle in ("silent", 3)', 25, "a string in the list", "3"),
    ('tag(aipl)', 5, 'a "quoted" name in tag()', "name"),
    ('trait("a b") = "x"', 7, "a trait name of letters", "a b"),
    ('aipl = "I" and monetary', 16, "a condition on the right of 'and'", "a number"),
    ('not frequency', 5, "'not' to apply to a condition", "a number"),
    ('', 1, "a condition", "the end of the rule"),
    ('aipl = = "I"', 8, "a value, a name, a function call or '('", "="),
    ('in_audience("nobody")', 13, "the name of a saved audience", "nobody"),
]


@pytest.mark.parametrize(("rule", "column", "expected", "received"), BAD)
def test_bad_rules_name_position_expectation_and_value(rule: str, column: int, expected: str, received: str) -> None:
    with pytest.raises(RuleError) as info:
        check(rule, audience_exists=lambda name: name == "staff")
    err = info.value
    assert isinstance(err, InputError) and isinstance(err, ValueError)
    assert err.column == column, str(err)
    assert expected in err.expected, str(err)
    assert err.received == received, str(err)
    assert f"rule at 1:{column}: expected" in str(err)


def test_caret_marks_the_problem() -> None:
    with pytest.raises(RuleError) as info:
        check('monetary(365d) > 500 and\ncount(view, 30x) > 1')
    assert (info.value.line, info.value.column) == (2, 13)
    assert info.value.caret() == "count(view, 30x) > 1\n            ^"


def test_injection_inside_a_string_is_only_data() -> None:
    tree = check(r'trait("country") = "\"; drop table events; --"')
    assert tree.right.value == '"; drop table events; --'


GOOD = [
    'aipl = "I" and count(view, category = "coffee", 30d) >= 3 and not in_audience("staff")',
    'lifecycle in ("silent", "churning") and monetary(365d) > 500',
    'tag("unscented") or trait("gender") = "female"',
    'customer = "new" and count(view, category = "a", 30d) > count(view, category = "b", 30d)',
    'member and orders(52w) >= 2 and recency < 30.5 and tenure > 365',
    'top_category != "coffee" or count(buy, item in ("i1", "i2"), 7d) = 0',
]


@pytest.mark.parametrize("rule", GOOD)
def test_good_rules_check(rule: str) -> None:
    check(rule, audience_exists=lambda name: name == "staff")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_check_never_raises_anything_but_rule_error(text: str) -> None:
    with contextlib.suppress(RuleError):
        check(text)
