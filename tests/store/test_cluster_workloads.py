"""The heavier workloads on a real cluster (`sc://`), each equal to the same work on DuckDB: strategy
crowds, association rules, `qianmian train` in its own process, and an export.

The Taobao slice is ingested once for the module, into the cluster's store and into a DuckDB file;
every test then compares the two. What runs in the client (crowds' clustering of micro-groups, the
itemset mining, the models' fitting) gets the same aggregates from both engines, so the results are
equal, not merely close.
"""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from tests.conftest import _reset_spark, qianmian

pytestmark = pytest.mark.cluster

DEMO = Path(__file__).resolve().parents[2] / "src" / "qianmian" / "demo" / "taobao_ub_84k.csv.gz"
AS_OF = "2017-12-03"


@pytest.fixture(scope="module")
def both(sc_store, tmp_path_factory):
    """(cluster store, DuckDB store), each holding the Taobao slice."""
    from qianmian.ingest import ingest_file
    from qianmian.store import connect

    _reset_spark(sc_store)
    duck = connect(f"duckdb:///{tmp_path_factory.mktemp('duck') / 'store.duckdb'}")
    for s in (sc_store, duck):
        assert ingest_file(s, DEMO, layout="taobao").loaded == 84_440
    yield sc_store, duck
    duck.close()


def test_crowds_on_the_cluster_equal_duckdb(both):
    from qianmian.audiences.crowds import crowds

    on_cluster, on_duckdb = (crowds(s, as_of=AS_OF, k=4).to_dict() for s in both)
    assert on_cluster["consumers"] > 500 and on_cluster["micro_groups"] > 10
    assert on_cluster == on_duckdb


def test_association_rules_on_the_cluster_equal_duckdb(both):
    from qianmian.metrics.association import association_report

    on_cluster, on_duckdb = (
        association_report(s, level="category", basket="session", min_support=0.005, min_confidence=0.1).to_dict() for s in both
    )
    assert on_cluster["rules"] > 50 and on_cluster["top_rules"]
    assert on_cluster == on_duckdb


def test_train_in_its_own_process_on_the_cluster_equals_duckdb(spark_cluster, both, tmp_path):
    """`qianmian train` end to end against sc://: the same bundle as on DuckDB, scoring alike."""
    import numpy as np

    from qianmian.recommend.bundle import load_bundle, resolve

    duck_url = both[1].url
    both[1].close()  # the training process opens the DuckDB file itself
    models = "popular,trending,covisit,ease,ease_60d,ease_all,home"  # lean (no holdout): the full default set was checked by hand
    out = {}
    for name, url in (("sc", spark_cluster["store"]), ("duck", duck_url)):
        done = qianmian("train", "--as-of", AS_OF, "--models", models, "--holdout-days", "0", "--store", url,
                        "--models-dir", str(tmp_path / name), "--json")
        out[name] = {k: v for k, v in json.loads(done.stdout).items() if k != "path"}
    assert out["sc"] == out["duck"] and out["sc"]["users"] == 815
    bundles = {name: load_bundle(resolve(tmp_path / name)) for name in out}
    users = np.arange(0, 815, 41)
    for model in ("covisit", "ease", "ease_60d"):
        a, b = (bundles[n].model(model).score(bundles[n].user_matrix(model)[users], users) for n in ("sc", "duck"))
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_export_from_the_cluster_equals_duckdb(spark_cluster, both, tmp_path):
    """`qianmian export features` in its own process writes the same rows from the cluster as from DuckDB."""
    both[1].close()  # the export process opens the DuckDB file itself
    tables = {}
    for name, url in (("sc", spark_cluster["store"]), ("duck", both[1].url)):
        path = tmp_path / f"{name}.parquet"
        done = json.loads(qianmian("export", "features", "--as-of", AS_OF, "--out", str(path), "--store", url, "--json").stdout)
        tables[name] = pq.read_table(path).to_pandas().sort_values("user_id").reset_index(drop=True)
        assert done["rows"] == len(tables[name]) > 500
    assert tables["sc"].equals(tables["duck"])
