"""The store contract, shared by every engine: tables, append with dedupe, delete, summary, migrations."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest

from qianmian.errors import InputError, NotFoundError, SchemaError
from qianmian.store import connect, schema
from qianmian.store.migrations import LATEST, current_version
from qianmian.store.summary import summary

pytestmark = pytest.mark.cluster  # the store contract also runs on the sc engine (a real cluster)


def _events(ids, users=None):
    return pd.DataFrame({
        "event_id": ids, "user_id": users or [f"u{i}" for i in range(len(ids))], "behavior": "view",
        "ts": [dt.datetime(2024, 1, 1, 12, 0, i) for i in range(len(ids))],
    })


def test_every_core_table_exists_with_its_schema(store):
    for name, sch in schema.TABLES.items():
        got = store.table(name).schema()
        assert list(got.names) == list(sch.names), name
    assert current_version(store) == LATEST


def test_append_dedupes_on_the_key_within_and_across_batches(store):
    assert store.append("events", _events(["a", "b", "a"])) == 2
    assert store.append("events", _events(["b", "c"])) == 1
    assert sorted(store.execute(store.table("events").event_id)) == ["a", "b", "c"]


def test_append_rejects_unknown_columns(store):
    with pytest.raises(InputError, match="events columns"):
        store.append("events", _events(["a"]).assign(colour="red"))


def test_timestamps_round_trip_as_wall_clock(store):
    store.append("events", _events(["a"]))
    assert store.execute(store.table("events").ts.max()) == pd.Timestamp("2024-01-01 12:00:00")


def test_delete_where_and_summary(store):
    store.append("events", _events(["a", "b", "c"], users=["u1", "u2", "u1"]))
    assert store.delete_where("events", "user_id", ["u1"]) == 2
    s = summary(store)
    assert s["tables"]["events"] == 1 and s["users"] == 1 and s["first_ts"].startswith("2024-01-01")


def test_missing_table_is_a_clear_error(store):
    with pytest.raises(NotFoundError, match="table 'nope' does not exist"):
        store.table("nope")


def test_bad_urls_and_future_schemas(tmp_path):
    with pytest.raises(InputError, match=r"store url: expected duckdb:///path/file\.duckdb"):
        connect("postgres://x")
    url = f"duckdb:///{tmp_path / 'x.duckdb'}"
    s = connect(url)
    s.con.insert("schema_version", pd.DataFrame({"version": [LATEST + 1], "description": ["future"], "applied_at": [dt.datetime(2030, 1, 1)]}))
    s.close()
    with pytest.raises(SchemaError, match="newer than this Qianmian"):
        connect(url)


def test_in_memory_store_and_relative_paths(tmp_path, monkeypatch):
    assert connect("duckdb://").count("events") == 0
    monkeypatch.chdir(tmp_path)
    connect("duckdb:///var/rel.duckdb").close()
    assert (tmp_path / "var" / "rel.duckdb").exists()


def test_missing_values_are_null_on_every_engine(store):
    df = _events(["a", "b"]).assign(item_id=[None, "i1"], amount=[float("nan"), 2.5])
    store.append("events", df)
    ev = store.table("events")
    got = store.execute(ev.aggregate(no_item=ev.item_id.isnull().sum(), no_amount=ev.amount.isnull().sum(), total=ev.amount.sum()))
    assert (int(got.no_item.iloc[0]), int(got.no_amount.iloc[0]), float(got.total.iloc[0])) == (1, 1, 2.5)


def test_pandas_nanosecond_timestamps_append_on_every_engine(store):
    df = _events(["a"]).assign(ts=pd.to_datetime(["2024-01-01 12:00:00.123456789"]))
    assert str(df.ts.dtype) == "datetime64[ns]"
    assert store.append("events", df) == 1
    assert store.execute(store.table("events").ts.max()) == pd.Timestamp("2024-01-01 12:00:00.123456")


def test_a_store_has_one_id_written_at_creation(store):
    assert re.fullmatch(r"[0-9a-f]{16}", store.id)
    assert store.execute(store.table(schema.IDENTITY).count()) == 1


def test_the_id_survives_reopening_and_differs_between_stores(tmp_path):
    first, other = (f"duckdb:///{tmp_path / name}.duckdb" for name in ("a", "b"))
    a = connect(first)
    made = a.id
    a.close()
    again = connect(first)
    assert again.id == made
    again.close()
    b = connect(other)
    assert b.id != made
    b.close()


def test_an_existing_store_gets_an_id_when_it_migrates(tmp_path):
    url = f"duckdb:///{tmp_path / 'old.duckdb'}"
    s = connect(url)
    s.con.drop_table(schema.IDENTITY)  # as a store made before migration 3 was
    s.con.con.execute("DELETE FROM schema_version WHERE version >= 3")
    s.close()
    old = connect(url, migrate=False)
    with pytest.raises(SchemaError, match="no id yet"):
        _ = old.id
    old.close()
    migrated = connect(url)
    assert re.fullmatch(r"[0-9a-f]{16}", migrated.id) and current_version(migrated) == LATEST
    migrated.close()
