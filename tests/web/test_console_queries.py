"""The console routers' own queries on both engines (DuckDB and Spark), on tiny tables built in code
whose answers are worked out by hand."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from qianmian.api.routers.data import ingest_history, quarantine_page
from qianmian.api.routers.shoppers import active_shoppers, item_labels, shopper

DAY = dt.date(2024, 6, 30)
EVENTS = [  # user, behaviour, ts, item, category
    ("u1", "view", "2024-06-01 10:00", "i1", "c1"), ("u1", "cart", "2024-06-01 10:05", "i1", "c1"),
    ("u1", "buy", "2024-06-01 10:09", "i1", "c1"), ("u1", "buy", "2024-06-20 09:00", "i2", "c2"),
    ("u1", "view", "2024-07-02 09:00", "i3", "c2"),  # after the day: never counted
    ("u2", "view", "2024-06-25 10:00", "i2", "c2"), ("u2", "view", "2024-06-25 10:01", "i3", "c2"),
    ("u3", "view", "2024-06-29 10:00", "i1", "c1"),
]


def _load(store) -> None:
    ev = pd.DataFrame(EVENTS, columns=["user_id", "behavior", "ts", "item_id", "category_id"])
    ev.insert(0, "event_id", [f"e{i}" for i in range(len(ev))])
    ev["ts"] = pd.to_datetime(ev["ts"])
    store.append("events", ev)
    store.append("items", pd.DataFrame({"item_id": ["i1"], "title": ["Kettle"], "category_id": ["c1"], "price": [30.0]}))
    t = pd.Timestamp("2024-06-30 12:00")
    store.append("ingests", pd.DataFrame({
        "ingest_id": ["a", "b"], "source": ["/x/one.csv", "/x/two.csv"], "layout": ["taobao", "taobao"],
        "started_at": [t, t + pd.Timedelta(hours=1)], "read": [10, 5], "loaded": [8, 5], "duplicates": [0, 0], "quarantined": [2, 0]}))
    store.append("quarantine", pd.DataFrame({
        "ingest_id": ["a", "a", "a"], "source": ["/x/one.csv"] * 3, "row_number": [3, 7, 9], "raw": ["r3", "r7", "r9"],
        "field": ["ts", "ts", "behavior"], "quarantined_at": [t] * 3,
        "reason": ["ts: expected a time in range, received 1999-01-01", "ts: expected a time in range, received 2099-01-01",
                   "behavior: expected one of view, buy, received 'poke'"]}))


def test_console_queries_on_both_engines(store):
    _load(store)
    assert [r["ingest_id"] for r in ingest_history(store, limit=10)] == ["b", "a"]  # newest first
    q = quarantine_page(store, ingest_id="a", field=None, offset=1, limit=1)
    assert q["total"] == 3 and [r["row_number"] for r in q["rows"]] == [7]
    assert [(r["field"], r["reason"], r["rows"]) for r in q["reasons"]] == [
        ("ts", "ts: expected a time in range", 2), ("behavior", "behavior: expected one of view, buy", 1)]
    assert quarantine_page(store, ingest_id=None, field="behavior", offset=0, limit=5)["total"] == 1

    assert [(r["user_id"], r["events"], r["buys"]) for r in active_shoppers(store, as_of=DAY, limit=2)] == [("u1", 4, 2), ("u2", 2, 0)]
    one = shopper(store, "u1", as_of=DAY, recent=2)
    assert one["stage"] == "L"  # bought on two days within the window
    assert one["behaviors"] == {"view": 1, "cart": 1, "buy": 2}
    assert [r["item_id"] for r in one["recent"]] == ["i2", "i1"]  # latest first; 07-02 is after the day
    assert one["lifecycle"]["frequency"] == 2 and one["lifecycle"]["customer"] in ("new", "returning")
    assert shopper(store, "u3", as_of=DAY, recent=5)["lifecycle"] is None  # never bought

    labels = item_labels(store, ["i1", "i3", "nope"])
    assert labels["i1"]["title"] == "Kettle" and labels["i3"] == {"item_id": "i3", "category_id": "c2", "title": None, "price": None, "category": "category c2"}
    assert "nope" not in labels
