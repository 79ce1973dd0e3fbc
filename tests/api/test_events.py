"""`POST /v1/events`: the whole request validated before anything is logged, durability, exactly-once storage, replay."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from qianmian.api.durable import DurableLog
from qianmian.api.events import validate_batch
from qianmian.api.services import rows_frame
from qianmian.ingest.rules import ITEMLESS, plausible_range
from qianmian.store.schema import BEHAVIORS

from .conftest import NOW

SH = ZoneInfo("Asia/Shanghai")
W = plausible_range(NOW)


def ev(i: int, **kw) -> dict:
    return {"event_id": f"e{i}", "user_id": f"u{i % 3}", "item_id": f"i{i % 5}", "category_id": "c1", "behavior": "view", "ts": 1511544070 + i, **kw}


def test_bad_events_come_back_with_field_and_reason_good_ones_are_kept():
    items = [
        ev(1),
        ev(2, behavior="pv"),
        ev(3, ts="yesterday"),
        ev(4, amount=-1),
        ev(5, colour="red"),
        "not an object",
        {"user_id": "u"},
        ev(8, ts=1),  # 1970: outside the plausible range
        ev(9, behavior="buy", amount=12.5, quantity=2, properties={"coupon": "X"}),
        ev(10, behavior="buy", item_id=None),  # a buy names an item
        ev(11, behavior="return", quantity=0),  # … and at least one unit
        ev(12, ts="2018-12-04T10:00:00"),  # a year after the business clock's now
    ]
    good, bad = validate_batch(items, SH, W)
    assert [g["event_id"] for g in good] == ["e1", "e9"]
    assert [(b.index, b.field) for b in bad] == [
        (1, "behavior"), (2, "ts"), (3, "amount"), (4, "colour"), (5, "event"), (6, "event_id"), (7, "ts"),
        (9, "item_id"), (10, "quantity"), (11, "ts"),
    ]
    assert bad[7].reason.startswith("expected an item for behaviour buy")
    assert bad[9].reason == "expected a time in the store's plausible range [2000-01-01 00:00:00, 2017-12-05 10:00:00), received 2018-12-04 10:00:00"
    assert bad[0].event_id == "e2" and "view" in bad[0].reason
    assert good[1]["properties"] == '{"coupon": "X"}' and good[1]["source"] == "api"


@pytest.mark.parametrize(
    ("ts", "wall"),
    [
        (1511544070, "2017-11-25T01:21:10"),  # unix seconds are UTC: Beijing is +8
        ("2017-11-25T01:21:10+08:00", "2017-11-25T01:21:10"),
        ("2017-11-24T17:21:10Z", "2017-11-25T01:21:10"),
        ("2017-11-25T01:21:10", "2017-11-25T01:21:10"),  # naive = already wall-clock
    ],
)
def test_ts_becomes_business_wall_clock(ts, wall):
    good, bad = validate_batch([ev(1, ts=ts)], SH, W)
    assert bad == [] and good[0]["ts"] == wall


def test_numeric_ids_become_strings():
    good, _ = validate_batch([{"event_id": 7, "user_id": 1001, "item_id": 5, "behavior": "fav", "ts": 1511544070}], SH, W)
    assert (good[0]["event_id"], good[0]["user_id"], good[0]["item_id"]) == ("7", "1001", "5")


def test_every_behaviour_of_the_data_model_is_accepted():
    good, bad = validate_batch([ev(i, behavior=b) for i, b in enumerate(BEHAVIORS)], SH, W)
    assert bad == [] and len(good) == len(BEHAVIORS)


def test_batch_over_1000_is_refused(client):
    r = client.post("/v1/events", json={"events": [ev(i) for i in range(1001)]})
    assert r.status_code == 422 and r.json()["error"]["field"] == "body.events"


def _stored(client) -> pd.DataFrame:
    svc = client.app.state.services
    assert svc.log.drain(10)
    return svc.locked(svc.store.execute, svc.store.table("events").order_by("event_id"))


def test_posted_events_land_once_duplicates_ignored(client):
    r = client.post("/v1/events", json={"events": [ev(i) for i in range(10)] + [ev(3)]})
    assert r.status_code == 200 and r.json() == {"accepted": 11, "rejected": []}
    client.post("/v1/events", json={"events": [ev(i) for i in range(5, 15)]})
    stored = _stored(client)
    assert sorted(stored.event_id) == sorted(f"e{i}" for i in range(15))
    row = stored.set_index("event_id").loc["e1"]
    assert row.ts == pd.Timestamp("2017-11-25 01:21:11") and row.source == "api" and row.user_id == "u1"


def test_one_bad_event_refuses_the_request_and_stores_nothing(client):
    # On the old main the good event of this batch was stored (200, partial accept), and a buy
    # without item_id was answered 200 too; an event dated next year was accepted.
    assert client.post("/v1/events", json={"events": [ev(0, user_id="u9")]}).status_code == 200
    before = _stored(client)
    r = client.post("/v1/events", json={"events": [ev(1, user_id="u9"), ev(2, user_id="u9", behavior="buy", item_id=None)]})
    assert r.status_code == 422
    body = r.json()
    assert [(x["index"], x["field"]) for x in body["rejected"]] == [(1, "item_id")]
    assert body["error"]["field"] == "events[1].item_id" and "nothing was stored" in body["error"]["message"]
    future = client.post("/v1/events", json={"events": [ev(3, user_id="u9", ts="2018-12-04T10:00:00")]})
    assert future.status_code == 422 and future.json()["rejected"][0]["field"] == "ts"
    after = _stored(client)
    assert after.equals(before)  # the shopper's events are unchanged
    wal = "".join(f.read_text() for f in (client.app.state.services.settings.data_dir / "wal").glob("*.wal"))
    assert '"e0"' in wal and '"e1"' not in wal and '"e3"' not in wal  # nothing refused reached the log


def test_every_bad_event_is_listed(client):
    batch = [ev(0), ev(1, behavior="teleport"), ev(2), ev(3, ts=1), {"event_id": "x"}]
    r = client.post("/v1/events", json={"events": batch})
    assert r.status_code == 422
    assert [(x["index"], x["field"]) for x in r.json()["rejected"]] == [(1, "behavior"), (3, "ts"), (4, "behavior")]
    assert _stored(client).empty


def test_anonymous_and_itemless_events_are_stored(client):
    # On the old main these were acknowledged, then the live buffer raised (no user / no item).
    batch = [ev(0, user_id=None), *[ev(i + 1, behavior=b, item_id=None) for i, b in enumerate(sorted(ITEMLESS))]]
    r = client.post("/v1/events", json={"events": batch})
    assert r.status_code == 200 and r.json()["accepted"] == 4
    stored = _stored(client)
    assert sorted(stored.event_id) == ["e0", "e1", "e2", "e3"]
    assert stored.set_index("event_id").user_id.isna()["e0"]


def test_unapplied_log_is_replayed_on_start(make_client, tmp_path):
    client = make_client()
    svc = client.app.state.services
    svc.log.writer.stop()  # the writer stops: events stay only in the log, as after a crash
    assert client.post("/v1/events", json={"events": [ev(i) for i in range(4)]}).json()["accepted"] == 4
    assert svc.locked(svc.store.count, "events") == 0
    client.__exit__(None, None, None)
    again = make_client()
    assert again.get("/ready").json()["checks"]["wal"]["replayed"] == 4
    assert sorted(_stored(again).event_id) == ["e0", "e1", "e2", "e3"]


def test_start_up_brings_the_daily_rollup_up_to_date(make_client):
    # events replayed from the log at start-up are in the rollup before the first report asks
    client = make_client()
    svc = client.app.state.services
    svc.log.writer.stop()
    client.post("/v1/events", json={"events": [ev(i) for i in range(6)]})
    client.__exit__(None, None, None)
    again = make_client()
    store = again.app.state.services.store
    rollup = store.execute(store.table("consumer_days"))
    assert rollup["events"].sum() == store.count("events") == 6


def test_writer_applies_exactly_once_on_each_engine(store, tmp_path):
    """The same log replayed twice into a store (either engine) stores each event once."""

    def sink(rows):
        return store.append("events", rows_frame(rows, ("ts",)))

    rows = validate_batch([ev(i) for i in range(6)] + [ev(2)], SH, W)[0]
    for _ in range(2):
        log = DurableLog(tmp_path / "wal", {"events": sink}, interval=0.01)
        log.start()
        # never checkpointing: the second run replays everything again
        log.wal.checkpoint = lambda position: None
        log.writer.checkpoint = lambda position: None
        import asyncio

        asyncio.run(log.write("events", rows))
        assert log.drain(30)
        log.stop()
    stored = store.execute(store.table("events"))
    assert sorted(stored.event_id) == [f"e{i}" for i in range(6)]
    assert stored.ts.min() == pd.Timestamp(dt.datetime(2017, 11, 25, 1, 21, 10))


def test_nothing_dated_after_now_moves_the_default_date(client):
    # old main: one event dated 2030 was accepted and the console's default date became 2030
    assert client.post("/v1/events", json={"events": [ev(i) for i in range(3)]}).status_code == 200
    assert client.post("/v1/events", json={"events": [ev(9, ts="2030-01-01T00:00:00")]}).status_code == 422
    _stored(client)
    assert client.get("/v1/summary").json()["last_ts"] == "2017-11-25T01:21:12"
    svc = client.app.state.services  # a future event stored before intake refused them (e.g. an old store)
    svc.locked(svc.store.append, "events", rows_frame([{**ev(8), "ts": "2030-01-01T00:00:00", "source": "api"}], ("ts",)))
    body = client.get("/v1/summary").json()
    assert body["last_ts"] == "2017-11-25T01:21:12" and body["future_events"] == 1
