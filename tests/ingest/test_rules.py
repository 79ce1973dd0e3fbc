"""The one per-behaviour table (`ingest.rules`) read by files, `POST /v1/events` and the live buffer."""

from __future__ import annotations

import datetime as dt

import pytest

from qianmian.errors import InputError
from qianmian.ingest import rules
from qianmian.recommend.live import LiveBuffer, LiveEvent
from qianmian.store.schema import BEHAVIORS


def test_every_behaviour_but_three_names_an_item():
    assert {"search", "member_join", "coupon_claim"} == rules.ITEMLESS
    for b in BEHAVIORS:
        assert ("item_id" in rules.REQUIRED[b]) == (b not in rules.ITEMLESS)
        assert "user_id" not in rules.REQUIRED[b]  # anonymous events are always allowed


@pytest.mark.parametrize(("event", "fields"), [
    ({"event_id": "e", "behavior": "buy", "ts": 1, "item_id": "i", "quantity": 2}, []),
    ({"event_id": "e", "behavior": "buy", "ts": 1, "item_id": " "}, ["item_id"]),
    ({"event_id": "e", "behavior": "return", "ts": 1, "item_id": "i", "quantity": 0}, ["quantity"]),
    ({"event_id": "e", "behavior": "search", "ts": 1}, []),
    ({"event_id": "e", "behavior": "member_join", "ts": 1, "user_id": "u"}, []),
    ({"behavior": "view", "ts": 1, "item_id": "i"}, ["event_id"]),
])
def test_problems(event, fields):
    assert [f for f, _ in rules.problems(event)] == fields


def test_the_default_plausible_range_is_2000_to_tomorrow():
    now = dt.datetime(2026, 3, 1, 12, 0)
    assert rules.plausible_range(now) == (dt.datetime(2000, 1, 1), dt.datetime(2026, 3, 2, 12, 0))
    assert rules.plausible_range(now, earliest=dt.datetime(1997, 1, 1))[0] == dt.datetime(1997, 1, 1)


def test_the_live_buffer_takes_what_the_rules_accept_and_skips_what_re_ranks_nothing():
    # old main: LiveEvent.from_dict raised on these after the event was already in the log
    assert LiveEvent.usable({"event_id": "e", "behavior": "view", "ts": 1, "item_id": "i"}) is None  # anonymous
    assert LiveEvent.usable({"event_id": "e", "behavior": "search", "ts": 1, "user_id": "u"}) is None  # item-less
    with pytest.raises(InputError, match=r"event\.item_id"):
        LiveEvent.usable({"event_id": "e", "behavior": "buy", "ts": 1, "user_id": "u"})
    e = LiveEvent.usable({"event_id": "e", "behavior": "cart", "ts": 5, "user_id": "u", "item_id": "i"})
    buffer = LiveBuffer()
    buffer.observe(e)
    assert buffer.recent("u") == [LiveEvent("u", "i", "cart", 5.0)]
