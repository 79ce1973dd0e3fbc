"""Experiences: checked when saved, versioned in the store, loaded from TOML."""

from __future__ import annotations

import datetime as dt

import pytest

from qianmian.errors import ConfigError, InputError, NotFoundError
from qianmian.storefront import config
from qianmian.storefront import experiences as xp

NOW = dt.datetime(2017, 12, 4, 10)
COFFEE = {
    "greeting": "{name}, fancy a {need}?",
    "need": "coffee",
    "modules": ["hero", "greeting", "rails", "bundle", "coupon"],
    "hero": {"title": "Coffee week"},
    "rails": [{"title": "For your cup", "scene": "home", "k": 8}, {"title": "Like that", "scene": "similar"}],
    "bundle": {"title": "Barista set", "item_ids": ["101", 102], "price": 129.0},
    "coupon": {"code": "COFFEE15", "title": "15 off", "value": 15, "min_spend": 150},
}


def test_parse_full_experience():
    e = xp.parse_experience("coffee", COFFEE)
    assert e.modules == ("hero", "greeting", "rails", "bundle", "coupon")
    assert [(r.scene, r.k) for r in e.rails] == [("home", 8), ("similar", 10)]
    assert e.bundle.item_ids == ("101", "102") and e.coupon.min_spend == 150
    assert xp.parse_experience("coffee", xp.spec_of(e)) == e  # the stored form round-trips


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"modules": ["hero", "banner"]}, "experience.modules"),
        ({"modules": ["hero", "hero"]}, "experience.modules"),
        ({"modules": []}, "experience.modules"),
        ({"rails": [{"title": "x", "scene": "trending"}]}, "experience.rails[0].scene"),
        ({"rails": [{"title": "x", "k": 0}]}, "experience.rails[0].k"),
        ({"rails": [{"title": "x", "k": True}]}, "experience.rails[0].k"),
        ({"greeting": "Hi {user.password}"}, "experience.greeting"),
        ({"greeting": "Hi {name!r}"}, "experience.greeting"),
        ({"greeting": "Hi {name:>99999}"}, "experience.greeting"),
        ({"greeting": "Hi {"}, "experience.greeting"),
        ({"coupon": {"title": "no code"}}, "experience.coupon.code"),
        ({"coupon": {"code": "X", "value": -5}}, "experience.coupon.value"),
        ({"bundle": {"title": "b", "item_ids": []}}, "experience.bundle.item_ids"),
        ({"hero": {"title": "t", "colour": "red"}}, "experience.hero.colour"),
        ({"banner": "x"}, "experience.banner"),
    ],
)
def test_bad_experience_names_the_field(patch, field):
    with pytest.raises(InputError) as info:
        xp.parse_experience("coffee", {**COFFEE, **patch})
    assert info.value.field == field


def test_save_versions_and_delete(store):
    e = xp.parse_experience("coffee", COFFEE)
    assert xp.save(store, e, now=NOW).version == 1
    assert xp.save(store, e, now=NOW).version == 2
    loaded = xp.load_all(store)
    assert list(loaded) == ["coffee"] and loaded["coffee"].version == 2 and loaded["coffee"].coupon.code == "COFFEE15"
    xp.delete(store, "coffee")
    assert xp.load_all(store) == {}
    with pytest.raises(NotFoundError):
        xp.delete(store, "coffee")


def test_toml_file_experiences_guide_and_labels(tmp_path):
    path = tmp_path / "storefront.toml"
    path.write_text(
        """
[labels.categories]
"4756105" = "coffee"

[experiences.coffee]
greeting = "{name}，今天来杯{need}吗？"
need = "咖啡"
hero = { title = "咖啡周" }
rails = [{ title = "为你推荐", scene = "home", k = 6 }]

[[guide.questions]]
id = "roast"
text = "Light or dark?"
options = [{ label = "Light", tag = "roast-light" }, { label = "Dark", tag = "roast-dark" }]
""",
        encoding="utf-8",
    )
    f = config.load(path)
    assert f.labels == {"4756105": "coffee"}
    assert f.experiences["coffee"].need == "咖啡" and f.experiences["coffee"].rails[0].k == 6
    assert [q.id for q in f.questions] == ["roast"]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("[experiences.x]\nmodules = ['nope']", "experience.modules"),
        ("[colours]\nred = 1", "colours"),
        ("[experiences.x\n", "invalid TOML"),
        ("[[guide.questions]]\nid = 'q'\ntext = 't'\noptions = []", "guide.questions[0].options"),
    ],
)
def test_bad_file_is_a_config_error_naming_file_and_field(tmp_path, text, needle):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as info:
        config.load(path)
    assert needle in str(info.value) and "bad.toml" in str(info.value)


def test_missing_file_and_packaged_default():
    with pytest.raises(ConfigError):
        config.load("/no/such/storefront.toml")
    default = config.packaged_default()
    assert default.audience == "default" and "{name}" in default.greeting
