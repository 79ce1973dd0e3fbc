"""Guided selling: answers become tags, the next question follows from the tags."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qianmian.errors import InputError, NotFoundError
from qianmian.storefront.guide import DEFAULT_QUESTIONS, answer_tags, next_question

ALL_TAGS = sorted({o.tag for q in DEFAULT_QUESTIONS for o in q.options})


def test_flow_walks_the_questions_in_order():
    tags: set[str] = set()
    asked = []
    while (q := next_question(DEFAULT_QUESTIONS, tags)) is not None:
        asked.append(q.id)
        add, _ = answer_tags(DEFAULT_QUESTIONS, q.id, [q.options[-1].label])
        tags |= set(add)
    assert asked == ["style", "size", "preferences"]


def test_new_answer_replaces_the_old_one_multiple_allows_several():
    assert answer_tags(DEFAULT_QUESTIONS, "style", ["sporty"]) == (["style-sporty"], ["style-classic", "style-minimal"])
    add, drop = answer_tags(DEFAULT_QUESTIONS, "preferences", ["Unscented only", "budget"])
    assert add == ["budget", "unscented"] and "vegan" in drop


@pytest.mark.parametrize(("qid", "choices", "error"), [("size", ["XXL"], InputError), ("size", ["S", "M"], InputError), ("size", [], InputError), ("colour", ["red"], NotFoundError)])
def test_bad_answers(qid, choices, error):
    with pytest.raises(error):
        answer_tags(DEFAULT_QUESTIONS, qid, choices)


@given(st.sets(st.sampled_from(ALL_TAGS + ["budget-x", "other"])))
def test_next_question_is_the_first_without_an_answer(tags):
    q = next_question(DEFAULT_QUESTIONS, tags)
    unanswered = [x.id for x in DEFAULT_QUESTIONS if not x.tags & tags]
    assert (q.id if q else None) == (unanswered[0] if unanswered else None)
