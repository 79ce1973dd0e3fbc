"""Small parts: the live buffer, tag parsing, self-tag conflicts, pins."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from qianmian.errors import InputError
from qianmian.recommend.catalog import Catalog
from qianmian.recommend.ids import IdMap
from qianmian.recommend.live import LiveBuffer
from qianmian.recommend.rules import Rules, blocked, excluded_tags, pin


def test_live_buffer_keeps_the_last_events_and_expires_with_a_given_now():
    buf = LiveBuffer(max_events=3, max_users=2, ttl_seconds=60)
    for t in range(5):
        buf.observe({"user_id": "a", "item_id": f"i{t}", "behavior": "view", "ts": 1000 + t})
    assert [e.item_id for e in buf.recent("a")] == ["i2", "i3", "i4"]
    buf.observe({"user_id": "b", "item_id": "x", "behavior": "cart", "ts": 1900})
    buf.observe({"user_id": "c", "item_id": "y", "behavior": "buy", "ts": 2000})
    assert buf.recent("a") == [] and len(buf) == 2  # least recently active shopper dropped
    assert buf.expire(now=2030) == 1 and buf.recent("b") == [] and len(buf.recent("c")) == 1
    iso = buf.observe({"user_id": "d", "item_id": "x", "behavior": "fav", "ts": "2024-01-01T00:00:00"})
    assert abs(iso.ts - 1_704_067_200) <= 14 * 3600  # naive ISO text: the machine's time zone
    with pytest.raises(InputError, match="behavior"):
        buf.observe({"user_id": "a", "item_id": "i", "behavior": "stare"})


def test_tags_come_from_tags_and_attributes():
    items = IdMap.from_values(["a", "b", "c", "d"])
    frame = pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "zzz"],
            "tags": ["Scented, consumable", None, "", "x"],
            "attributes": ['{"scent": "none"}', '{"scent": "Rose", "vegan": true}', "not json", None],
            "stock": [5, None, 0, 1],
        }
    )
    cat = Catalog.from_frame(frame, items)
    assert cat.has_any(["scented"]).tolist() == [True, False, False, False]
    assert cat.has_any(["scent"]).tolist() == [False, True, False, False]  # "none" is false-like
    assert cat.has_any(["scent=rose", "vegan"]).tolist() == [False, True, False, False]
    assert cat.out_of_stock().tolist() == [False, False, True, False]  # unknown stock is available
    assert cat.consumable().tolist() == [True, False, False, False]


def test_self_tag_conflicts_and_bought_rule():
    assert excluded_tags(["Unscented"]) >= {"scented", "scent"}
    assert excluded_tags(["no-nuts", "budget"]) == {"nuts"}
    items = IdMap.from_values(["a", "b", "c"])
    cat = Catalog.from_frame(pd.DataFrame({"item_id": ["a", "b"], "tags": ["scented", "consumable"]}), items)
    mask = blocked(cat, Rules(), user_tags=["unscented"], bought=np.array([1, 2]))
    assert mask.tolist() == [True, False, True]  # b is consumable: may be bought again
    assert blocked(cat, Rules(rebuy_consumables=False), bought=np.array([1])).tolist() == [False, True, False]


def test_pins_go_first_only_when_allowed():
    ids, scores = pin(
        np.array([5, 3, 1]), np.array([3.0, 2.0, 1.0], np.float32), np.array([1, 7]), np.array([True] * 7 + [False])
    )
    assert ids.tolist() == [1, 5, 3] and scores[0] == 3.0
    with pytest.raises(InputError):
        Rules(max_per_category=0)
