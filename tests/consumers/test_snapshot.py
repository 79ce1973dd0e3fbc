"""The shared snapshot: top categories agree with pandas, consent and tags, and updates in place."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from qianmian.consumers.interests import top_categories
from qianmian.consumers.snapshot import Consumers, load_snapshot
from qianmian.consumers.tags import set_tags
from qianmian.consumers.weights import BEHAVIOR_WEIGHTS


def _events(seed: int = 3, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "user_id": rng.choice([f"u{i}" for i in range(12)], n),
            "item_id": rng.choice([f"i{i}" for i in range(30)], n),
            "behavior": rng.choice(["view", "view", "view", "fav", "cart", "buy", "return"], n),
            "ts": pd.Timestamp("2017-11-25") + pd.to_timedelta(rng.integers(0, 20, n), unit="D"),
        }
    ).assign(category_id=lambda d: "c" + (d.item_id.str[1:].astype(int) % 4).astype(str))


def _reference(ev: pd.DataFrame, n: int) -> dict[str, list[str]]:
    w = ev.assign(w=ev.behavior.map(BEHAVIOR_WEIGHTS).fillna(0.0)).groupby(["user_id", "category_id"]).w.sum().reset_index()
    w = w[w.w > 0].sort_values(["user_id", "w", "category_id"], ascending=[True, False, True])
    return {u: g.category_id.head(n).tolist() for u, g in w.groupby("user_id")}


def test_top_categories_match_pandas_over_a_window(store):
    ev = _events()
    store.append("events", ev)
    end = dt.datetime(2017, 12, 5)
    got = store.execute(top_categories(store.table("events"), n=2, end=end, days=7))
    got = {u: g.sort_values("rank").category_id.tolist() for u, g in got.groupby("user_id")}
    window = ev[(ev.ts >= pd.Timestamp(end) - pd.Timedelta(days=7)) & (ev.ts < pd.Timestamp(end))]
    assert got == _reference(window, 2) and got != _reference(ev, 2)  # the window matters


def test_snapshot_profiles_consent_and_tags(store):
    ev = _events()
    store.append("events", ev)
    store.append("users", pd.DataFrame({"user_id": ["u1", "u2"], "name": ["Li", None], "consent": [True, False]}))
    set_tags(store, "u1", ["vegan"], source="self", ts=dt.datetime(2017, 12, 1))
    snap = load_snapshot(store)
    expected = {u: c[0] for u, c in _reference(ev, 1).items() if u != "u2"}
    assert dict(snap.top) == expected
    u1, u2 = snap.profile("u1"), snap.profile("u2")
    assert (u1.name, u1.consent, u1.tags) == ("Li", True, ("vegan",))
    assert not u2.consent and u2.top_category is None
    lean = load_snapshot(store, profiles=False)
    assert lean.opted_out == {"u2"} and lean.tags == {"u1": ("vegan",)} and not lean.top


def test_updates_swap_the_snapshot_and_bump_the_version():
    shared = Consumers()
    shared.put_tags("u1", ["b", "a"])
    shared.put_consent("u2", False)
    assert shared.tags_of("u1") == ("a", "b") and not shared.consents("u2") and shared.version == 2
    shared.forget("u2")
    shared.put_tags("u1", [])
    assert shared.consents("u2") and shared.tags_of("u1") == () and shared.snapshot.tags == {}
