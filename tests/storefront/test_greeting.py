"""Greeting templates and the predicted need."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qianmian.errors import InputError
from qianmian.storefront.greeting import FALLBACK_NEED, check_template, predict_need, render

plain = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=20)


@given(st.lists(st.tuples(plain, st.sampled_from(["{name}", "{need}", "{{", "}}"])), max_size=5), st.text(max_size=20).filter(str.strip), st.text(max_size=20))
def test_templates_with_only_name_and_need_always_render(parts, name, need):
    template = "".join(a + b for a, b in parts)
    check_template(template)
    out = render(template, name=name, need=need)
    assert out == template.replace("{name}", "\0N").replace("{need}", "\0D").replace("{{", "{").replace("}}", "}").replace("\0N", name).replace("\0D", need) or "{" in name + need


@pytest.mark.parametrize("bad", ["{0}", "{}", "{name.__class__}", "{need[0]}", "{email}", "{name:10}", "{need!s}", "{", "}"])
def test_other_placeholders_are_refused(bad):
    with pytest.raises(InputError):
        check_template(f"Hi {bad}")


LABELS = {"c1": "coffee", "c2": "candy"}


@pytest.mark.parametrize(
    ("live", "audience", "history", "expected"),
    [
        ("c1", "milk powder", "c2", ("coffee", "recent activity")),
        (None, "milk powder", "c2", ("milk powder", "audience")),
        (None, None, "c2", ("candy", "history")),
        (None, None, "c9", ("category c9", "history")),
        (None, None, None, (FALLBACK_NEED, "no history")),
    ],
)
def test_need_prefers_live_then_audience_then_history(live, audience, history, expected):
    assert predict_need(audience_need=audience, live_category=live, history_category=history, labels=LABELS) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Welcome, {name}! Looking for {need}?", "Welcome! Looking for category 3898483?"),
        ("Welcome back, {name}! New in {need} since your last visit.", "Welcome back! New in category 3898483 since your last visit."),
        ("Hi {name}, still looking for {need}?", "Hi, still looking for category 3898483?"),
        ("{name}, ready to try a {need}?", "Ready to try a category 3898483?"),
        ("Welcome {name}! Gift sets and {need}, bundled for you.", "Welcome! Gift sets and category 3898483, bundled for you."),
    ],
)
def test_a_shopper_without_a_name_is_not_called_there(template, expected):
    for nobody in (None, "", "  "):
        assert render(template, name=nobody, need="category 3898483") == expected


def test_category_words():
    from qianmian.storefront.greeting import category_label

    assert category_label("3898483", {}) == "category 3898483"  # said plainly where the data has no name
    assert category_label("3898483", {"3898483": "face cream"}) == "face cream"
    assert category_label("LANTERN", {}) == "lantern" and category_label("c9", {}) == "category c9"
