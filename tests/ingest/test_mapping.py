"""Mapping files: null markers, targets other than events (items, users, stores) through the same
validation and quarantine, unknown keys refused at every level, text times in a zone."""

from __future__ import annotations

import json

import pytest

from qianmian.errors import ConfigError
from qianmian.ingest import ingest_file
from qianmian.ingest.mapping import parse_mapping
from qianmian.store import connect


@pytest.fixture
def duck(tmp_path):
    store = connect(f"duckdb:///{tmp_path / 'store.duckdb'}")
    yield store
    store.close()


def _ingest(store, tmp_path, mapping: str, content: str, name: str = "f.csv"):
    (tmp_path / "m.toml").write_text(mapping)
    (tmp_path / name).write_text(content)
    return ingest_file(store, tmp_path / name, layout=None, mapping=tmp_path / "m.toml")


def test_na_markers_global_and_per_field(duck, tmp_path):
    # old main: DIGINETICA's "NA" became one consumer with thousands of buys
    mapping = ('null_values = ["NA", "null"]\nid_column = "id"\n[fields]\nuser_id = { column = "u", optional = true }\n'
               'item_id = "i"\nbehavior = "b"\nts = "t"\n'
               'amount = { column = "a", type = "float", optional = true, null_values = ["-"] }\n')
    content = ("id,u,i,b,t,a\ne1,NA,i1,buy,2024-01-01 00:00:00,-\ne2,u2,i1,buy,2024-01-01 00:00:00,3\n"
               "e3,u3,null,view,2024-01-01 00:00:00,NA\n")
    r = _ingest(duck, tmp_path, mapping, content)
    assert (r.read, r.loaded, r.quarantined) == (3, 2, 1)
    ev = duck.execute(duck.table("events").order_by("event_id"))
    assert ev.user_id.isna().tolist() == [True, False] and ev.amount.isna().tolist() == [True, False]
    assert duck.execute(duck.table("quarantine")).reason.iloc[0].startswith('item_id: expected a non-empty value in column "i", received "null"')


def test_a_catalogue_loads_into_items_with_the_same_quarantine(store, tmp_path):
    duck = store
    mapping = ('target = "items"\n[fields]\nitem_id = "sku"\ncategory_id = "cat"\nbrand_id = { column = "brand", optional = true }\n'
               'price = { column = "price", type = "float" }\ntitle = { column = "title", optional = true }\n'
               '[properties]\nscent = "scent"\n')
    content = "sku,cat,brand,price,title,scent\ns1,soap,Nivea,3.5,Soft soap,lavender\ns2,soap,,-1,Bad,\n,soap,,2,No id,\ns1,soap,X,9,Again,\n"
    r = _ingest(duck, tmp_path, mapping, content)
    assert (r.read, r.loaded, r.duplicates, r.quarantined) == (4, 1, 1, 2)
    items = duck.execute(duck.table("items"))
    row = items.iloc[0]
    assert (row.item_id, row.category_id, row.brand_id, row.title, row.price) == ("s1", "soap", "Nivea", "Soft soap", 3.5)
    assert json.loads(items.attributes.iloc[0]) == {"scent": "lavender"}
    q = duck.execute(duck.table("quarantine").order_by("row_number"))
    assert q.reason.tolist()[0].startswith('price: expected a number >= 0 in column "price", received "-1"')
    assert q.reason.tolist()[1].startswith("item_id: expected a non-empty value")
    assert duck.count("events") == 0


def test_users_and_stores_tables_load_from_mapped_files(duck, tmp_path):
    users = 'target = "users"\n[fields]\nuser_id = "id"\ncity = { column = "city", optional = true }\nconsent = { column = "ok", optional = true }\n'
    r = _ingest(duck, tmp_path, users, "id,city,ok\nu1,Paris,yes\nu2,,no\nu3,Rome,maybe\n")
    assert (r.read, r.loaded, r.quarantined) == (3, 2, 1)
    assert duck.execute(duck.table("users").order_by("user_id")).consent.tolist() == [True, False]
    stores = 'target = "stores"\n[fields]\nstore_id = "id"\nname = "name"\nlat = { column = "lat", type = "float" }\nlon = { column = "lon", type = "float" }\n'
    r = _ingest(duck, tmp_path, stores, "id,name,lat,lon\nst1,Bund,31.24,121.49\nst2,Nowhere,north,1\n", "stores.csv")
    assert (r.read, r.loaded, r.quarantined) == (2, 1, 1)


@pytest.mark.parametrize(("doc", "message"), [
    ({"target": "bogus", "fields": {"user_id": "u", "behavior": "b", "ts": "t"}}, "target: expected one of events, items, users, stores"),
    ({"tagret": "events", "fields": {"behavior": "b", "ts": "t"}}, "unknown keys ['tagret']; known keys: "),
    ({"fields": {"behavior": "b", "ts": {"column": "t", "fromat": "%Y"}}}, "[fields].ts: unknown keys ['fromat']; known keys: abs, column"),
    ({"fields": {"behavior": "b", "ts": "t", "colour": "c"}}, "[fields].colour: unknown field; known fields: user_id"),
    ({"fields": {"behavior": "b", "ts": "t"}, "users": {"nick": "n"}}, "[users]: unknown keys ['nick']"),
    ({"fields": {"behavior": "b", "ts": "t"}, "values": {"behaviour": {"a": "view"}}}, "[values]: unknown keys ['behaviour']; known keys: behavior, ts"),
    ({"fields": {"behavior": {"constant": "buy", "when": {"column": "c", "prefix": "C", "value": "return", "x": 1}}, "ts": "t"}},
     "[fields].behavior.when: unknown keys ['x']"),
    ({"fields": {"behavior": "b", "ts": "t"}, "timezone": "Mars/Olympus"}, "timezone: expected an IANA zone"),
    ({"target": "items", "fields": {"category_id": "c"}}, "[fields].item_id is required"),
])
def test_unknown_or_wrong_keys_are_refused_naming_the_known_ones(doc, message):
    # old main: target = "bogus" loaded 184,047 events; unknown keys were ignored
    with pytest.raises(ConfigError) as err:
        parse_mapping(doc, "m.toml")
    assert message in str(err.value)


def test_text_times_in_a_zone_become_the_stores_wall_clock(duck, tmp_path):
    mapping = 'timezone = "UTC"\n[fields]\nuser_id = "u"\nitem_id = "i"\nbehavior = "b"\nts = "t"\n'
    content = "u,i,b,t\nu1,i1,view,2024-01-01 20:30:00\nu1,i1,view,2024-07-01 00:00:00\n"
    (tmp_path / "m.toml").write_text(mapping)
    (tmp_path / "f.csv").write_text(content)
    ingest_file(duck, tmp_path / "f.csv", layout=None, mapping=tmp_path / "m.toml", timezone="Europe/London")
    ts = [str(t) for t in duck.execute(duck.table("events").order_by("ts")).ts]
    assert ts == ["2024-01-01 20:30:00", "2024-07-01 01:00:00"]  # London is UTC in winter, UTC+1 in summer


def test_multiline_mappings_let_a_quoted_field_span_lines(duck, tmp_path):
    base = '[fields]\nuser_id = "u"\nitem_id = "i"\nbehavior = "b"\nts = "t"\n[properties]\nnote = "note"\n'
    content = 'u,i,b,t,note\nu1,i1,view,2024-01-01 00:00:00,"two\nlines"\nu2,i2,view,2024-01-01 00:00:00,one\n'
    r = _ingest(duck, tmp_path, base, content)
    assert (r.read, r.loaded, r.quarantined) == (3, 1, 2)  # fields never span lines: both halves quarantined
    r = _ingest(duck, tmp_path, "multiline = true\n" + base, content, "g.csv")
    assert (r.read, r.loaded, r.quarantined) == (2, 1, 0) and r.duplicates == 1  # the record whole; u2 seen before
