"""The daily consumer rollup's contract, on every engine: after any sequence of appends and
deletes, a refresh leaves `consumer_days` equal to a fresh aggregation of `events`, and absorbs
only what changed."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from qianmian.errors import InputError
from qianmian.store.rollup import TABLE, Refreshed, aggregate, refresh_rollup
from qianmian.storefront.privacy import erase_user

KEY = ["user_id", "day", "source", "brand_id"]


def _events(rows: list[tuple], first: int = 0) -> pd.DataFrame:
    """(user, behavior, ts, amount, source, brand) tuples; ids e<first>, e<first+1>, …"""
    df = pd.DataFrame(rows, columns=["user_id", "behavior", "ts", "amount", "source", "brand_id"])
    df.insert(0, "event_id", [f"e{first + i}" for i in range(len(df))])
    df["ts"] = pd.to_datetime(df["ts"]).astype("datetime64[us]")
    return df


BASE = [
    ("u1", "view", "2024-01-01 10:00", None, "ing-a", "b1"),
    ("u1", "view", "2024-01-01 11:00", None, "ing-a", "b1"),
    ("u1", "buy", "2024-01-01 12:00", 30.0, "ing-a", "b1"),
    ("u1", "buy", "2024-01-02 09:00", 20.0, "ing-a", "b2"),
    ("u2", "cart", "2024-01-01 23:59", None, "ing-a", None),
    ("u2", "return", "2024-01-02 00:00", 5.0, "api", None),
    (None, "buy", "2024-01-02 08:00", 7.5, "ing-a", "b1"),  # anonymous: kept, so every event is accounted for
    ("u3", "view", "2024-01-03 08:00", None, None, None),  # no source
]


def _rows(store) -> pd.DataFrame:
    frame = store.execute(store.table(TABLE))
    return _canon(frame)


def _fresh(store) -> pd.DataFrame:
    return _canon(store.execute(aggregate(store.table("events"))))


def _canon(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.astype({"day": "datetime64[us]"}).fillna({"user_id": "-", "source": "-", "brand_id": "-"})
    return frame.sort_values(KEY).reset_index(drop=True)


def assert_current(store) -> None:
    assert refresh_rollup(store).events == 0
    pd.testing.assert_frame_equal(_rows(store), _fresh(store), check_dtype=False)


def test_first_refresh_builds_every_cell_with_counts_and_amounts(store):
    store.append("events", _events(BASE))
    assert refresh_rollup(store).events == len(BASE)
    rows = _rows(store)
    u1 = rows[(rows.user_id == "u1") & (rows.day == pd.Timestamp("2024-01-01"))].iloc[0]
    assert (u1.events, u1.n_view, u1.n_buy, u1.amount_buy, u1.amount_view) == (3, 2, 1, 30.0, 0.0)
    assert len(rows) == 6  # u1 day 1, u1 day 2 (brand b2), u2 ×2 (two sources), anonymous, u3
    assert_current(store)


def test_new_batches_and_grown_cells_are_absorbed_alone(store):
    store.append("events", _events(BASE))
    refresh_rollup(store)
    store.append("events", _events([("u4", "view", "2024-01-05 10:00", None, "ing-b", None),
                                    ("u1", "fav", "2024-01-01 13:00", None, "ing-b", "b1")], first=100))
    assert refresh_rollup(store).events == 2  # a new source: its events only
    store.append("events", _events([("u5", "view", "2024-01-02 18:00", None, "api", None)], first=200))
    # the ("api", 2024-01-02) cell grew: that cell (2 events) is rebuilt, nothing else
    assert refresh_rollup(store).events == 2
    assert_current(store)


def test_erasure_removes_the_shopper_and_nothing_is_reabsorbed(store):
    store.append("events", _events(BASE))
    refresh_rollup(store)
    erased = erase_user(store, "u1")
    assert erased[TABLE] == 2 and erased["events"] == 4
    assert "u1" not in set(_rows(store).user_id)
    assert_current(store)


def test_any_other_delete_rebuilds_the_cells_it_touched(store):
    store.append("events", _events(BASE))
    refresh_rollup(store)
    store.delete_where("events", "event_id", ["e0", "e6"])  # a u1 view, the anonymous buy
    assert refresh_rollup(store).events == 4  # both touched cells again: 3 events left on 01-01, 1 on 01-02
    assert_current(store)
    store.delete_where("events", "source", ["ing-a"])  # what recovery does with a torn batch
    assert refresh_rollup(store).events == 0
    assert set(_rows(store).source) == {"api", "-"}
    assert_current(store)


def test_a_delete_then_as_many_appends_in_the_same_cell_is_still_seen(store):
    """Counts alone would match here; the delete hook is what keeps the rollup honest."""
    store.append("events", _events(BASE))
    refresh_rollup(store)
    store.delete_where("events", "event_id", ["e5"])  # u2's api return
    store.append("events", _events([("u9", "share", "2024-01-02 10:00", None, "api", None)], first=300))
    refresh_rollup(store)
    assert "u9" in set(_rows(store).user_id)
    assert_current(store)


def test_rebuild_starts_again(store):
    store.append("events", _events(BASE))
    assert refresh_rollup(store).full
    assert refresh_rollup(store, rebuild=True) == Refreshed(len(BASE), True)
    assert_current(store)


def test_delete_matching_matches_null_and_checks_columns(store):
    store.append("events", _events(BASE))
    refresh_rollup(store)
    assert store.delete_matching(TABLE, {"source": [None], "day": [dt.date(2024, 1, 3)]}) == 1
    assert store.delete_matching(TABLE, {"source": ["api", "nope"], "day": [dt.date(2024, 1, 1)]}) == 0
    with pytest.raises(InputError, match="where"):
        store.delete_matching(TABLE, {"colour": ["red"]})
    assert refresh_rollup(store).events == 1  # the u3 cell deleted above comes back
    assert_current(store)
