"""The one reading rule of the self-tag log: latest record wins, a removal wins a same-second tie,
a missing `active` reads as a removal."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from qianmian.consumers.tags import active_tags, load_tags, remove_tags, set_tags
from qianmian.errors import InputError

T = dt.datetime(2024, 3, 1, 12, 0, 0)


def _log(store, rows: list[tuple[str, str, bool | None, dt.datetime]]) -> None:
    frame = pd.DataFrame(rows, columns=["user_id", "tag", "active", "ts"]).assign(source="self")
    store.append("user_tags", frame.astype({"active": "boolean"}), dedupe=False)


def test_a_removal_wins_a_same_second_tie_in_either_order(store):
    set_tags(store, "u1", ["vegan"], source="self", ts=T)
    remove_tags(store, "u1", ["vegan"], source="self", ts=T)
    remove_tags(store, "u2", ["vegan"], source="self", ts=T)  # logged first, set second: still removed
    set_tags(store, "u2", ["vegan"], source="self", ts=T)
    assert active_tags(store, "u1") == [] and active_tags(store, "u2") == []
    set_tags(store, "u1", ["vegan"], source="self", ts=T + dt.timedelta(seconds=1))
    assert active_tags(store, "u1") == ["vegan"]
    assert load_tags(store) == {"u1": ("vegan",)}


def test_missing_active_reads_as_a_removal_and_as_of_cuts_the_log(store):
    _log(store, [("u1", "budget", True, T), ("u1", "budget", None, T + dt.timedelta(days=1)),
                 ("u2", "budget", None, T), ("u3", "budget", True, T + dt.timedelta(days=3))])
    assert load_tags(store) == {"u3": ("budget",)}
    assert active_tags(store, "u1", as_of=T.date()) == ["budget"]  # the NULL record comes the next day
    assert active_tags(store, "u3", as_of=T.date()) == []


def test_tags_are_checked():
    with pytest.raises(InputError, match="tag"):
        set_tags(None, "u1", ["no,commas"], source="self", ts=T)  # type: ignore[arg-type]
