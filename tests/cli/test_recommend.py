"""`qianmian train` on real data: `--as-of D` follows the one time rule (the same last event as
`qianmian report --as-of D`), and trained models belong to the store they came from."""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from qianmian.cli import app
from qianmian.ingest import ingest_file
from qianmian.store import connect

pytestmark = pytest.mark.slow

DAY = dt.date(2009, 12, 10)  # inside the first 30,000 lines of Online Retail II (2009-12-01 on)


def _events(rows: list[tuple[str, str, dt.datetime]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "event_id": [f"edge-{u}" for u, _, _ in rows],
            "user_id": [u for u, _, _ in rows],
            "item_id": [i for _, i, _ in rows],
            "behavior": "buy",
            "ts": [t for _, _, t in rows],
            "quantity": 1,
            "amount": 2.5,
        }
    )


@pytest.fixture(scope="module")
def retail(shared_data, tmp_path_factory):
    """The first 30,000 lines of Online Retail II, plus one buy at 23:59:59 of DAY (store time)
    and one at 00:00:00 of the next day, by two shoppers who have no other event."""
    root = tmp_path_factory.mktemp("retail")
    part = root / "retail_head.csv"
    with gzip.open(shared_data / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz", "rt", encoding="utf-8") as src:
        part.write_text("".join(line for _, line in zip(range(30_001), src)), encoding="utf-8")
    url = f"duckdb:///{root / 'store.duckdb'}"
    store = connect(url)
    ingest_file(store, part, layout="online-retail")
    end = dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time())
    store.append("events", _events([("late", "LATE", end - dt.timedelta(seconds=1)), ("early", "EARLY", end)]))
    store.close()
    return url, root


def _run(*args: str, env: dict | None = None):
    result = CliRunner().invoke(app, list(args), env=env)
    assert result.exit_code == 0, result.output
    return result


def test_train_and_report_as_of_a_day_see_the_same_last_event(retail, tmp_path):
    url, _ = retail
    stages = tmp_path / "stages.csv"
    _run("report", "aipl", "--as-of", DAY.isoformat(), "--consumers", str(stages), "--store", url, "--json")
    reported = set(pd.read_csv(stages, dtype=str).user_id)
    models = tmp_path / "models"
    out = json.loads(
        _run("train", "--as-of", DAY.isoformat(), "--models", "home", "--store", url, "--models-dir", str(models), "--json").stdout
    )
    assert out["cutoff"] == "2009-12-11T00:00:00"
    from qianmian.recommend.bundle import load_bundle

    bundle = load_bundle(out["path"])
    trained = set(bundle.users.to_array())
    assert "late" in reported and "late" in trained  # 23:59:59 of D: in both
    assert "early" not in reported and "early" not in trained  # 00:00 of D+1: in neither
    assert "LATE" in set(bundle.items.to_array()) and "EARLY" not in set(bundle.items.to_array())
    assert bundle.cutoff == "2009-12-11T00:00:00" and bundle.store_id == _store_id(url)


@pytest.fixture(scope="module")
def taobao(tmp_path_factory):
    """The demo's bundled Taobao slice in a store of its own, with no models trained."""
    from importlib.resources import files

    url = f"duckdb:///{tmp_path_factory.mktemp('taobao') / 'store.duckdb'}"
    store = connect(url)
    ingest_file(store, files("qianmian.demo") / "taobao_ub_84k.csv.gz", layout="taobao")
    store.close()
    return url


def _store_id(url: str) -> str:
    store = connect(url)
    try:
        return store.id
    finally:
        store.close()


def test_models_of_another_store_are_refused_by_name(retail, taobao, tmp_path, wide_console):
    """`qianmian recommend 1000664 --store <Taobao>` with an Online Retail bundle in the models dir
    (the old shared ./var/models) fails, naming both stores and what to do; nothing is served."""
    retail_url, _ = retail
    shared = tmp_path / "models"
    _run("train", "--as-of", DAY.isoformat(), "--models", "home", "--store", retail_url, "--models-dir", str(shared), "--json")
    result = CliRunner().invoke(app, ["recommend", "1000664", "--store", taobao, "--models-dir", str(shared), "--json"])
    assert result.exit_code == 2 and result.stdout == ""
    said = " ".join(result.stderr.split())
    assert f"come from store {_store_id(retail_url)} ({retail_url})" in said
    assert f"the open store is {_store_id(taobao)} ({taobao})" in said
    assert f"qianmian train --store {taobao}" in said
    similar = CliRunner().invoke(app, ["similar", "2333346", "--store", taobao, "--models-dir", str(shared)])
    assert similar.exit_code == 2 and "come from store" in " ".join(similar.stderr.split())


def test_models_live_under_the_data_dir_per_store(retail, taobao, tmp_path, wide_console):
    """By default `train` writes <data_dir>/models/<store id>/ and `recommend` reads the open store's
    own folder: the Taobao store finds no models there (said plainly), the retail store its own."""
    retail_url, _ = retail
    env = {"QIANMIAN_DATA_DIR": str(tmp_path / "data")}
    out = json.loads(_run("train", "--as-of", DAY.isoformat(), "--models", "home", "--store", retail_url, "--json", env=env).stdout)
    own = tmp_path / "data" / "models" / _store_id(retail_url)
    assert out["path"] == str(own / "v0001")
    missing = CliRunner().invoke(app, ["recommend", "1000664", "--store", taobao, "--json"], env=env)
    said = " ".join(missing.stderr.split())
    assert missing.exit_code == 2 and f"trained models of store {_store_id(taobao)} ({taobao})" in said
    assert f"qianmian train --store {taobao}" in said
    answer = json.loads(_run("recommend", "late", "--store", retail_url, "--k", "3", "--json", env=env).stdout)
    assert answer["user_id"] == "late" and len(answer["items"]) == 3
