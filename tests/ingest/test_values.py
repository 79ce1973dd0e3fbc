"""Values as the checked table computes them: content ids, trimming, numbers out of range, ids from the source."""

from __future__ import annotations

import hashlib

import pytest

from qianmian.ingest import ingest_file
from qianmian.store import connect


@pytest.fixture
def duck(tmp_path):
    return connect(f"duckdb:///{tmp_path / 'store.duckdb'}")


def _events(store):
    return store.execute(store.table("events").order_by("ts"))


def test_content_id_is_the_md5_of_layout_and_fields(duck, tmp_path):
    """The documented id (so stores written by earlier versions dedupe against new ingests)."""
    lines = ["1,100,7,pv,1511600000", "2,101,7,buy,1511600100.5"]
    path = tmp_path / "e.csv"
    path.write_text("\n".join(lines) + "\n")
    ingest_file(duck, path, layout="taobao")
    expected = [hashlib.md5("\x1f".join(["taobao", *line.split(",")]).encode()).hexdigest() for line in lines]
    assert list(_events(duck).event_id) == expected


def test_surrounding_whitespace_is_trimmed_and_inner_kept(duck, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text(" 12\t,100 , 7 a,\tpv ,1511600000\n13,\x0b101,8,buy\x0c,1511600100\n")
    r = ingest_file(duck, path, layout="taobao")
    assert (r.loaded, r.quarantined) == (2, 0)
    ev = _events(duck)
    assert list(ev.user_id) == ["12", "13"] and list(ev.item_id) == ["100", "101"]
    assert list(ev.category_id) == ["7 a", "8"] and list(ev.behavior) == ["view", "buy"]


def test_numbers_beyond_64_bits_are_quarantined_not_fatal(duck, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("1,100,7,pv,1e300\n2,101,7,buy,1511600100\n3,102,7,pv,1e15\n4,103,7,pv,-1e19\n")
    r = ingest_file(duck, path, layout="taobao")
    assert (r.read, r.loaded, r.quarantined) == (4, 1, 3)
    q = duck.execute(duck.table("quarantine").order_by("row_number"))
    assert list(q.row_number) == [1, 3, 4]
    assert q.reason.iloc[0] == 'ts: expected unix seconds from 1970 to 2099 in column "timestamp", received "1e+300"'
    assert q.raw.iloc[0] == "1,100,7,pv,1e+300" and q.field.iloc[0] == "ts"


def test_an_empty_source_id_is_quarantined(duck, tmp_path):
    (tmp_path / "m.toml").write_text(
        'id_column = "id"\n[fields]\nuser_id = "customer"\nbehavior = "action"\nts = "when"\nitem_id = "sku"\n'
    )
    path = tmp_path / "e.csv"
    path.write_text("id,customer,action,when,sku\ne1,c1,view,2024-03-01 10:00:00,s1\n ,c2,view,2024-03-01 11:00:00,s1\n")
    r = ingest_file(duck, path, layout=None, mapping=tmp_path / "m.toml")
    assert (r.read, r.loaded, r.quarantined) == (2, 1, 1)
    q = duck.execute(duck.table("quarantine"))
    assert q.reason.iloc[0] == 'event_id: expected a non-empty value in column "id", received " "'
    assert q.row_number.iloc[0] == 3


def test_unix_times_outside_1970_to_2099_are_quarantined_and_far_dates_do_not_stall(duck, tmp_path):
    # No valid range in this mapping: only the unix-time guard stands between a row dated in the
    # year ~33,000 and a time-zone conversion spanning it.
    (tmp_path / "m.toml").write_text(
        'timezone = "Europe/London"\n[fields]\nuser_id = "customer"\nbehavior = "action"\nitem_id = "sku"\n'
        'ts = { column = "when", unit = "s" }\n'
    )
    path = tmp_path / "e.csv"
    path.write_text("customer,action,when,sku\nc1,view,1700000000,s\nc2,view,1000000000000,s\nc3,view,-5,s\nc4,view,4102444800,s\n")
    r = ingest_file(duck, path, layout=None, mapping=tmp_path / "m.toml")
    assert (r.read, r.loaded, r.quarantined) == (4, 1, 3)
    q = duck.execute(duck.table("quarantine").order_by("row_number"))
    assert list(q.row_number) == [3, 4, 5]
    assert q.reason.iloc[0] == 'ts: expected unix seconds from 1970 to 2099 in column "when", received "1000000000000"'
    assert str(_events(duck).ts.iloc[0]) == "2023-11-14 22:13:20"  # London winter time = UTC


@pytest.mark.parametrize("tz", ["Europe/London", "America/New_York", "Asia/Shanghai", "Australia/Lord_Howe", "America/Sao_Paulo", "UTC"])
def test_offset_steps_match_an_hour_by_hour_scan(tz):
    import datetime as dt
    from zoneinfo import ZoneInfo

    from qianmian.ingest.transform import offset_steps

    lo, hi = 1262304000, 1388534400  # 2010 … 2014, DST rule changes included (Sao Paulo, Lord Howe)
    zone, expected = ZoneInfo(tz), []
    for hour in range(lo, hi + 3600, 3600):
        off = int(dt.datetime.fromtimestamp(hour, zone).utcoffset().total_seconds())
        if not expected or expected[-1][1] != off:
            expected.append((hour, off))
    assert offset_steps(tz, lo, hi) == expected


@pytest.mark.parametrize(("description", "noun"), [
    ("15CM CHRISTMAS GLASS BALL 20 LIGHTS", "LIGHT"),
    ("PAPER CHAIN KIT 50'S CHRISTMAS ", "KIT"),  # a describing word is skipped before it is made singular
    ("ROUND SNACK BOXES SET OF4 WOODLAND ", "SNACK"),  # BOXES → BOX, a describing word (packaging)
    ("PACK OF 6 PANNETONE GIFT BOXES", "GIFT"),
    ("SET OF 3 CAKE TINS PANTRY DESIGN ", "CAKE"),
    ("ASSORTED COLOUR BIRD ORNAMENT", "ORNAMENT"), ("LUNCH BOX WITH CUTLERY", "CUTLERY"), ("WASHING DISHES", "DISH"),
    ("RED RETROSPOT PICNIC BAG", "BAG"),
    ("WHITE HANGING HEART T-LIGHT HOLDER", "HOLDER"),
    ("DOORMAT UNION FLAG", "FLAG"),
    ("SET OF 4 KNICK KNACK TINS DOILY ", "DOILY"),
    ("HAND WARMER SCOTTY DOG DESIGN", "DOG"),
    ("CACTUS", "CACTUS"), ("TENNIS", "TENNIS"),
    ("RED GLASS", None),  # every word describes: no noun
])
def test_product_noun(description, noun):
    import ibis

    from qianmian.ingest.transform import product_noun

    t = ibis.memtable({"d": [description]})
    got = ibis.duckdb.connect().execute(t.select(n=product_noun(t.d))).n.iloc[0]
    assert (None if got is None or got != got else got) == noun
