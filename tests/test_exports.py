"""Exports: the bundled real Taobao slice exported as CSV, Parquet and JSON Lines, row for row what
the store holds; opted-out shoppers never exported; the same on Spark; the CLI and the HTTP route;
bad requests named."""

from __future__ import annotations

import datetime as dt
import json
import warnings
from importlib.resources import files

import pandas as pd
import pyarrow.parquet as pq
import pytest

from qianmian.audiences import AudienceRegistry, materialize
from qianmian.consumers.consent import set_consent
from qianmian.errors import InputError, NotFoundError
from qianmian.exports import KINDS, Request, export, format_of
from qianmian.ingest import ingest_file
from qianmian.metrics.aipl import aipl_report
from qianmian.store import connect

SLICE = files("qianmian.demo") / "taobao_ub_84k.csv.gz"
AS_OF = dt.date(2017, 12, 3)
RULE = 'count(view, 7d) >= 30'


def _shop(store):
    ingest_file(store, SLICE, layout="taobao")
    AudienceRegistry(store).create("browsers", RULE)
    materialize(store, AS_OF)
    return store


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    store = _shop(connect(f"duckdb:///{tmp_path_factory.mktemp('exports') / 'store.duckdb'}"))
    yield store
    store.close()


def _read(path):
    if path.suffix == ".parquet":
        return pq.read_table(path).to_pandas()
    if path.suffix == ".jsonl":
        return pd.DataFrame([json.loads(line) for line in path.read_text().splitlines()])
    return pd.read_csv(path, dtype={"user_id": str})


@pytest.mark.parametrize("fmt", ["csv", "parquet", "jsonl"])
def test_audience_members_in_every_format(shop, tmp_path, fmt):
    m = shop.table("audience_members")
    stored = set(shop.execute(m.filter(m.audience == "browsers", m.as_of == AS_OF).user_id))
    assert len(stored) > 20  # the rule selects a real part of the 815 shoppers, not none or all
    result = export(shop, Request("audience", name="browsers"), tmp_path / f"members.{fmt}")
    got = _read(tmp_path / f"members.{fmt}")
    assert result.rows == len(got) == len(stored) and set(got.user_id.astype(str)) == stored
    assert list(got.columns) == ["user_id", "audience", "version", "as_of"] and set(got.audience) == {"browsers"}
    assert list(got.user_id.astype(str)) == sorted(stored)  # sorted, so two exports of the same day are identical files


def test_aipl_export_counts_match_the_report(shop, tmp_path):
    result = export(shop, Request("aipl", as_of=AS_OF), tmp_path / "aipl.parquet")
    got = pq.read_table(tmp_path / "aipl.parquet").to_pandas()
    counts = aipl_report(shop, as_of=AS_OF).counts
    assert got.stage.value_counts().to_dict() == {k: v for k, v in counts.items() if v}
    assert result.rows == sum(counts.values()) == got.user_id.nunique()


def test_features_and_rfm_have_one_row_per_consumer(shop, tmp_path):
    feats = export(shop, Request("features", as_of=AS_OF), tmp_path / "f.csv")
    assert feats.rows == 815 and {"aipl", "lifecycle", "top_category", "tags"} <= set(feats.columns)
    export(shop, Request("rfm", as_of=AS_OF), tmp_path / "r.csv")
    rfm = _read(tmp_path / "r.csv")
    assert len(rfm) > 0 and rfm.user_id.is_unique and set(rfm.cell) <= {"important_value", "important_development", "important_retention",
                                                      "important_winback", "general_value", "general_development",
                                                      "general_retention", "general_winback"}


def test_quarantine_export_is_the_quarantine_table(shop, tmp_path):
    result = export(shop, Request("quarantine"), tmp_path / "q.jsonl")
    got = _read(tmp_path / "q.jsonl")
    assert result.rows == 35 == len(got) and set(got.field) == {"ts"}  # the slice's rows outside its valid time range


def test_gzip_by_name_and_no_half_written_file(shop, tmp_path, monkeypatch):
    import qianmian.exports as ex

    result = export(shop, Request("aipl", as_of=AS_OF), tmp_path / "aipl.csv.gz")
    assert result.format == "csv" and len(pd.read_csv(tmp_path / "aipl.csv.gz", compression="gzip")) == result.rows > 0
    (tmp_path / "old.csv").write_text("the previous export\n")
    real = ex._write

    def fails_midway(batches, path, fmt, **kw):
        real(batches, path, fmt, **kw)
        raise OSError("disk full")

    monkeypatch.setattr(ex, "_write", fails_midway)
    with pytest.raises(OSError):
        export(shop, Request("aipl", as_of=AS_OF), tmp_path / "old.csv")
    assert (tmp_path / "old.csv").read_text() == "the previous export\n"  # untouched, and no partial file beside it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["aipl.csv.gz", "old.csv"]


def test_opted_out_shoppers_are_never_exported(tmp_path):
    store = _shop(connect(f"duckdb:///{tmp_path / 'store.duckdb'}"))
    member = sorted(store.execute(store.table("audience_members").user_id))[0]
    set_consent(store, member, False, now=dt.datetime(2017, 12, 4))  # after materializing: the export itself must drop them
    for kind, name in (("audience", "browsers"), ("aipl", None), ("features", None), ("rfm", None)):
        export(store, Request(kind, name=name, as_of=AS_OF), tmp_path / f"{kind}.csv")
        assert member not in set(_read(tmp_path / f"{kind}.csv").user_id.astype(str)), kind
    store.close()


@pytest.mark.spark
def test_spark_exports_the_same_rows(spark_store, shop, tmp_path):
    from tests.conftest import _reset_spark

    _reset_spark(spark_store)
    _shop(spark_store)
    for kind, name in (("audience", "browsers"), ("aipl", None)):
        duck = _read_path(export(shop, Request(kind, name=name, as_of=AS_OF), tmp_path / f"d-{kind}.parquet").path)
        spark = _read_path(export(spark_store, Request(kind, name=name, as_of=AS_OF), tmp_path / f"s-{kind}.parquet").path)
        pd.testing.assert_frame_equal(duck.astype(str), spark.astype(str))


def _read_path(path: str) -> pd.DataFrame:
    return pq.read_table(path).to_pandas()


def test_bad_requests_name_the_field(shop, tmp_path):
    with pytest.raises(InputError) as info:
        export(shop, Request("everything"), tmp_path / "x.csv")
    assert info.value.field == "kind" and "audience" in str(info.value)
    with pytest.raises(InputError) as info:
        export(shop, Request("audience"), tmp_path / "x.csv")
    assert info.value.field == "name"
    with pytest.raises(InputError) as info:
        export(shop, Request("aipl"), tmp_path / "x.xlsx")
    assert info.value.field == "format" and "xlsx" in str(info.value)
    with pytest.raises(NotFoundError):
        export(shop, Request("audience", name="nobody"), tmp_path / "x.csv")
    with pytest.raises(NotFoundError) as nf:
        export(shop, Request("audience", name="browsers", as_of=dt.date(2017, 11, 1)), tmp_path / "x.csv")
    assert "materialize" in str(nf.value)
    assert format_of(tmp_path / "a.PARQUET", None) == "parquet" and format_of(tmp_path / "a.txt", "jsonl") == "jsonl"
    assert set(KINDS) == {"audience", "features", "aipl", "rfm", "crowds", "clv", "quarantine"}


def test_cli_writes_the_file_and_reports_json(shop, tmp_path):
    from typer.testing import CliRunner

    from qianmian.cli import app

    out = tmp_path / "m.parquet"
    r = CliRunner().invoke(app, ["export", "audience", "browsers", "--out", str(out), "--store", shop.url, "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout.strip().splitlines()[-1])
    assert report["rows"] == pq.read_table(out).num_rows > 0 and report["format"] == "parquet"
    r = CliRunner().invoke(app, ["export", "audience", "--out", str(out), "--store", shop.url])
    assert r.exit_code == 2 and "name" in r.output


def test_http_download_needs_admin_and_sends_the_file(make_client_with_shop):
    from qianmian.api import keys

    client = make_client_with_shop
    svc = client.app.state.services
    secrets = {}
    for scope in ("read", "admin"):
        secret, key = keys.create_key(svc.store, [scope], now=dt.datetime(2017, 12, 4))
        svc.keyring.add(keys.hash_key(secret), key)
        secrets[scope] = secret
    url = "/v1/exports/audience?name=browsers&format=csv"
    assert client.get(url).status_code == 401
    assert client.get(url, headers={"X-API-Key": secrets["read"]}).status_code == 403
    r = client.get(url, headers={"X-API-Key": secrets["admin"]})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="audience-browsers.csv"' in r.headers["content-disposition"]
    lines = r.text.strip().splitlines()
    assert lines[0] == '"user_id","audience","version","as_of"' and len(lines) - 1 == int(r.headers["x-rows"]) > 20
    bad = client.get("/v1/exports/everything", headers={"X-API-Key": secrets["admin"]})
    assert bad.status_code == 422
    bad = client.get("/v1/exports/aipl?as_of=2017-13-01", headers={"X-API-Key": secrets["admin"]})
    assert bad.status_code == 422 and "as_of" in bad.text
    missing = client.get("/v1/exports/audience?name=nobody", headers={"X-API-Key": secrets["admin"]})
    assert missing.status_code == 404
    assert client.get("/v1/exports/crowds?k=1", headers={"X-API-Key": secrets["admin"]}).status_code == 422
    crowds = client.get("/v1/exports/crowds?k=3&as_of=2017-12-03&format=jsonl", headers={"X-API-Key": secrets["admin"]})
    assert crowds.status_code == 200 and crowds.headers["content-type"].startswith("application/x-ndjson")
    assert {json.loads(line)["crowd"] for line in crowds.text.splitlines()} == {1, 2, 3}


@pytest.fixture
def make_client_with_shop(tmp_path):
    warnings.filterwarnings("ignore", message=".*httpx.*")
    from fastapi.testclient import TestClient

    from qianmian.api import create_app
    from qianmian.config import Settings

    db = tmp_path / "store.duckdb"
    store = _shop(connect(f"duckdb:///{db}"))
    store.close()
    settings = Settings(store=f"duckdb:///{db}", data_dir=tmp_path / "data", auth=True)
    with TestClient(create_app(settings, clock=lambda: dt.datetime(2017, 12, 4, 10))) as client:
        yield client


def test_crowds_export_gives_each_clustered_consumer_its_crowd(shop, tmp_path):
    from qianmian.audiences.crowds import crowds

    result = export(shop, Request("crowds", as_of=AS_OF, k=3), tmp_path / "crowds.parquet")
    got = pq.read_table(tmp_path / "crowds.parquet").to_pandas()
    clustered = crowds(shop, as_of=AS_OF, k=3)
    assert result.rows == clustered.consumers == len(got) and got.user_id.is_unique
    sizes = got.groupby(["crowd", "crowd_name"]).size().to_dict()
    assert sizes == {(c.crowd, c.name): c.size for c in clustered.crowds}
    assert got.micro_group.nunique() == clustered.micro_groups
    with pytest.raises(InputError) as info:
        export(shop, Request("crowds", as_of=AS_OF, k=1), tmp_path / "x.csv")
    assert info.value.field == "k"
