"""Bad rows are quarantined one by one with a reason naming the field; good rows still load."""

from __future__ import annotations

import gzip
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from qianmian.errors import ConfigError, InputError
from qianmian.ingest import ingest_file
from qianmian.store import connect

GOOD = ["1,100,7,pv,1511600000", "2,101,7,buy,1511600100", "3,102,8,cart,1511600200"]


@pytest.fixture
def duck(tmp_path):
    return connect(f"duckdb:///{tmp_path / 'store.duckdb'}")


def _quarantine(store) -> pd.DataFrame:
    return store.execute(store.table("quarantine").order_by("row_number"))


def test_each_kind_of_bad_row_is_quarantined_with_its_field(duck, tmp_path):
    lines = [
        GOOD[0],
        "4,103,7,pv,not-a-time",  # wrong type
        "5,104,7,teleport,1511600300",  # unknown behaviour
        ",105,7,pv,1511600400",  # empty user id
        GOOD[1],
        "7,107,7,pv",  # a short line
        GOOD[2],
        "8,108,7,pv,15116",  # truncated last line: the number is cut, so the time is out of range
    ]
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines))
    r = ingest_file(duck, path, layout="taobao")
    assert r.read == r.loaded + r.duplicates + r.quarantined
    q = _quarantine(duck)
    reasons = dict(zip(q.row_number, q.reason))
    assert "timestamp" in reasons[2] and "DOUBLE" in reasons[2]
    assert reasons[3].startswith('behavior: expected one of pv, fav, cart, buy in column "behavior_type", received "teleport"')
    assert reasons[4].startswith("user_id: expected a non-empty value")
    assert "too few columns" in reasons[6] and q.set_index("row_number").raw[6] == "7,107,7,pv"
    assert reasons[8].startswith("ts: expected a time in the dataset's valid range")
    assert (r.read, r.loaded, r.quarantined) == (8, 3, 5)
    loaded = set(duck.execute(duck.table("events").user_id))
    assert loaded == {"1", "2", "3"}


def test_an_unclosed_quote_is_quarantined_alone_and_the_next_lines_load(duck, tmp_path):
    # On the old main the quote swallowed the two lines after it: read 2, loaded 1.
    path = tmp_path / "quote.csv"
    path.write_text("\n".join([GOOD[0], '6,"106,7,pv,1511600500', GOOD[1], GOOD[2]]) + "\n")
    r = ingest_file(duck, path, layout="taobao")
    assert (r.read, r.loaded, r.quarantined) == (4, 3, 1)
    q = _quarantine(duck)
    assert list(q.row_number) == [2] and q.raw.iloc[0] == '6,"106,7,pv,1511600500' and q.field.iloc[0] == "record"
    assert q.reason.iloc[0].startswith("record: expected quotes that close on the same line")


def test_a_line_with_several_errors_is_one_quarantined_record(duck, tmp_path):
    # On the old main each parser error counted: read 4 and quarantined 3 for 3 lines, 2 table rows.
    path = tmp_path / "multi.csv"
    path.write_text("1,2,3,pv,1511600000\nx,y,z,pv,abc,extra\n1,2,3,pv,zz\n")
    r = ingest_file(duck, path, layout="taobao")
    assert (r.read, r.loaded, r.quarantined) == (3, 1, 2)
    q = _quarantine(duck)
    assert len(q) == 2 and list(q.row_number) == [2, 3]
    assert "too many columns" in q.reason.iloc[0] and "; also " in q.reason.iloc[0]


def test_bad_rows_never_count_twice_and_the_file_ingests_idempotently(duck, tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_text("\n".join(GOOD + ["9,1,1,pv,oops"]) + "\n")
    first = ingest_file(duck, path, layout="taobao")
    second = ingest_file(duck, path, layout="taobao")
    assert (first.loaded, first.quarantined) == (3, 1)
    assert (second.loaded, second.duplicates, second.quarantined) == (0, 3, 1)
    assert duck.count("quarantine") == 1


def test_duplicate_rows_inside_one_file_load_once(duck, tmp_path):
    path = tmp_path / "dups.csv"
    path.write_text("\n".join([GOOD[0], GOOD[0], GOOD[1]]))
    r = ingest_file(duck, path, layout="taobao")
    assert (r.read, r.loaded, r.duplicates) == (3, 2, 1)


MAPPING = """
name = "shop-export"
header = true
timezone = "Europe/London"
id_column = "id"

[fields]
user_id = "customer"
item_id = "sku"
behavior = "action"
amount = { column = "value", type = "float", optional = true }
channel = { column = "channel", optional = true }
ts = { column = "when", format = ["%Y-%m-%dT%H:%M:%S", "%d/%m/%Y %H:%M"] }

[values.behavior]
looked = "view"
basket = "cart"
paid = "buy"

[properties]
coupon = "coupon"
"""


def test_mapping_file_maps_columns_values_and_formats(duck, tmp_path):
    (tmp_path / "m.toml").write_text(MAPPING)
    csv = tmp_path / "export.csv"
    csv.write_text(
        "id,customer,sku,action,value,channel,when,coupon\n"
        "e1,c1,s1,looked,,app,2024-03-01T10:00:00,\n"
        "e2,c1,s1,paid,19.9,app,01/03/2024 10:05,SPRING\n"
        "e3,c2,s2,paid,abc,web,2024-03-01T11:00:00,\n"
        "e4,c2,s2,looked,,web,yesterday,\n"
    )
    r = ingest_file(duck, csv, layout=None, mapping=tmp_path / "m.toml")
    assert (r.read, r.loaded, r.quarantined) == (4, 2, 2)
    ev = duck.execute(duck.table("events").order_by("event_id"))
    assert list(ev.event_id) == ["e1", "e2"] and list(ev.behavior) == ["view", "buy"]
    # text times written in the mapping's zone (London, UTC+0 in March) become the store's (Beijing, UTC+8)
    assert ev.amount.iloc[1] == pytest.approx(19.9) and str(ev.ts.iloc[1]) == "2024-03-01 18:05:00"
    assert json.loads(ev.properties.iloc[1]) == {"coupon": "SPRING"}
    q = _quarantine(duck)
    assert q.reason.iloc[0].startswith('amount: expected a number in column "value", received "abc"')
    assert q.reason.iloc[1].startswith('ts: expected a time like %Y-%m-%dT%H:%M:%S or %d/%m/%Y %H:%M in column "when", received "yesterday"')


def test_json_lines_and_parquet_take_the_same_path(duck, tmp_path):
    (tmp_path / "m.toml").write_text(MAPPING)
    rows = [
        {"id": "j1", "customer": "c9", "sku": "s1", "action": "basket", "value": None, "channel": "app", "when": "2024-03-02T09:00:00", "coupon": None},
        {"id": "j2", "customer": "c9", "sku": "s2", "action": "paid", "value": "5", "channel": "app", "when": "2024-03-02T09:10:00", "coupon": None},
    ]
    jl = tmp_path / "events.jsonl.gz"
    with gzip.open(jl, "wt") as fh:
        fh.write("\n".join(json.dumps(r) for r in rows) + "\n{not json}\n")
    r = ingest_file(duck, jl, layout=None, mapping=tmp_path / "m.toml")
    assert (r.read, r.loaded, r.quarantined) == (3, 2, 1)
    assert _quarantine(duck).reason.iloc[0].startswith("line: expected a JSON object")
    pq.write_table(pa.Table.from_pylist([{**rows[0], "id": "p1"}, {**rows[1], "id": "p2"}]), tmp_path / "e.parquet")
    r = ingest_file(duck, tmp_path / "e.parquet", layout=None, mapping=tmp_path / "m.toml")
    assert (r.read, r.loaded) == (2, 2)


def test_retailrocket_layout_on_rows_we_write(duck, tmp_path):
    path = tmp_path / "events.csv"
    path.write_text(
        "timestamp,visitorid,event,itemid,transactionid\n"
        "1433221332117,257597,view,355908,\n"
        "1433224214164,992329,addtocart,248676,\n"
        "1433221999827,111016,transaction,111,4000\n"
        "1433221999827,111016,refund,111,4000\n"
    )
    r = ingest_file(duck, path, layout="retailrocket")
    assert (r.read, r.loaded, r.quarantined) == (4, 3, 1)
    ev = duck.execute(duck.table("events").order_by("ts"))
    assert list(ev.behavior) == ["view", "buy", "cart"]
    assert ev.order_id.iloc[1] == "4000" and str(ev.ts.iloc[0]) == "2015-06-02 05:02:12.117000"


def test_online_retail_i_header_spellings(duck, tmp_path):
    path = tmp_path / "retail_i.csv"
    path.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,12/1/2010 8:26,2.55,17850,United Kingdom\n"
        "C536379,D,Discount,-1,12/1/2010 9:41,27.5,14527,United Kingdom\n"
        "536366,22633,HAND WARMER UNION JACK,6,12/1/2010 8:28,1.85,,United Kingdom\n"
    )
    r = ingest_file(duck, path, layout="online-retail")
    assert (r.read, r.loaded, r.quarantined) == (3, 3, 0)
    ev = duck.execute(duck.table("events").order_by("ts"))
    assert list(ev.behavior) == ["buy", "buy", "return"]
    assert ev.amount.round(2).tolist() == [15.3, 11.1, 27.5] and ev.quantity.tolist() == [6, 6, 1]
    assert ev.user_id.isna().tolist() == [False, True, False]


def test_clear_errors_for_bad_arguments(duck, tmp_path):
    with pytest.raises(InputError, match="path: expected an existing file"):
        ingest_file(duck, tmp_path / "missing.csv")
    with pytest.raises(ConfigError, match="layout: expected one of taobao, online-retail, retailrocket"):
        ingest_file(duck, __file__, layout="amazon")
    (tmp_path / "bad.toml").write_text('[fields]\nuser_id = "u"\n')
    with pytest.raises(ConfigError, match=r"\[fields\].behavior is required"):
        ingest_file(duck, __file__, layout=None, mapping=tmp_path / "bad.toml")
    (tmp_path / "f.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match=r"file columns: expected a header with the columns .*, found a, b"):
        ingest_file(duck, tmp_path / "f.csv", layout="online-retail")


def test_column_names_cannot_inject_sql(duck, tmp_path):
    path = tmp_path / "evil.csv"
    path.write_text('id,"customer""); DROP TABLE events; --",sku,action,when\ne1,c1,s1,view,2024-01-01 00:00:00\n')
    (tmp_path / "m.toml").write_text(
        'id_column = "id"\n[fields]\nuser_id = \'customer"); DROP TABLE events; --\'\nitem_id = "sku"\nbehavior = "action"\nts = "when"\n'
    )
    r = ingest_file(duck, path, layout=None, mapping=tmp_path / "m.toml")
    assert r.loaded == 1 and "events" in duck.list_tables()
    assert duck.execute(duck.table("events").user_id).tolist() == ["c1"]


def test_ingest_leaves_no_working_tables_behind(tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("\n".join(GOOD + ["9,1,1,pv,oops"]) + "\n")
    store = connect(f"duckdb:///{tmp_path / 's.duckdb'}")
    ingest_file(store, path, layout="taobao")
    assert [t for t in store.con.list_tables() if t.startswith("_qm_")] == []
    store.close()
    reopened = connect(f"duckdb:///{tmp_path / 's.duckdb'}")
    assert [t for t in reopened.con.list_tables() if t.startswith(("_qm_", "ibis_"))] == []


def test_the_wrong_layout_is_one_line_at_once_for_every_pair(shared_data, tmp_path):
    # old main: --format taobao on Online Retail crashed with TypeError after 17 s
    import time

    from qianmian.ingest import LAYOUTS
    from qianmian.ingest.layout_check import LayoutMismatch

    rr = tmp_path / "retailrocket.csv"
    rr.write_text("timestamp,visitorid,event,itemid,transactionid\n1433221332117,257597,view,355908,\n")
    files = {
        "taobao": shared_data / "taobao_userbehavior/ub_tail_10k.csv",
        "online-retail": shared_data / "online_retail_ii/online_retail_ii_2009_2010.csv.gz",
        "retailrocket": rr,
        "cdnow": shared_data / "cdnow/CDNOW_master.txt",
    }
    assert set(files) <= set(LAYOUTS)
    for actual, path in files.items():
        for layout in (x for x in files if x != actual):
            store = connect("duckdb://")
            started = time.perf_counter()
            with pytest.raises(LayoutMismatch) as err:
                ingest_file(store, path, layout=layout)
            assert time.perf_counter() - started < 1.0, (actual, layout)
            assert str(err.value).startswith("file columns: expected ") and ", found " in str(err.value)
            assert "\n" not in str(err.value) and store.count("events") == 0
