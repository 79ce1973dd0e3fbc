"""`qianmian train / recommend / similar / evaluate` end to end."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from qianmian.cli import app

from . import synthetic

runner = CliRunner()


@pytest.fixture(scope="module")
def cli_env(tmp_path_factory):
    from qianmian.store import connect

    root = tmp_path_factory.mktemp("cli")
    url = f"duckdb:///{root / 'store.duckdb'}"
    s = connect(url)
    s.append("events", synthetic.events(n_users=60))
    s.append("items", synthetic.items())
    s.close()
    return url, root / "models"


def run(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def test_train_recommend_similar(cli_env, tmp_path):
    url, models = cli_env
    out = json.loads(run("train", "--as-of", "2024-03-15", "--store", url, "--models-dir", str(models), "--json").stdout)
    assert out["version"] == "v0001" and out["cutoff"] == "2024-03-16T00:00:00"  # through the end of --as-of
    assert set(out["blends"]) == {"home"}
    assert set(out["rankers"]) == {"layers"} and out["rankers"]["layers"]["coefficients"] == 3 * len(out["rankers"]["layers"]["parts"])
    manifest = json.loads((models / "v0001" / "manifest.json").read_text())
    layers = next(m for m in manifest["models"] if m["name"] == "layers")
    assert layers["kind"] == "ranker" and len(layers["params"]["coef"]) == 3 * len(layers["parts"])

    one = json.loads(
        run("recommend", "u3", "--scene", "home", "--k", "5", "--json", "--store", url, "--models-dir", str(models)).stdout
    )
    assert one["user_id"] == "u3" and len(one["items"]) == 5
    assert set(one["items"][0]) == {"item_id", "score", "reason"}

    users = tmp_path / "users.txt"
    users.write_text("u1\nu2\n\nnobody\n")
    lines = run(
        "recommend", "--users", str(users), "--scene", "home", "--k", "3", "--json", "--store", url, "--models-dir", str(models)
    ).stdout.splitlines()
    assert [json.loads(line)["user_id"] for line in lines] == ["u1", "u2", "nobody"]
    assert all(len(json.loads(line)["items"]) == 3 for line in lines)

    sim = json.loads(run("similar", "c2-i1", "--k", "4", "--json", "--store", url, "--models-dir", str(models)).stdout)
    assert len(sim["items"]) == 4 and sim["items"][0]["reason"].startswith("similar to")
    table = run("recommend", "u3", "--scene", "layers", "--k", "3", "--store", url, "--models-dir", str(models)).stdout
    assert "layers for u3" in table


def test_errors_exit_with_a_message(cli_env):
    url, models = cli_env
    bad = runner.invoke(app, ["recommend", "u1", "--scene", "nope", "--store", url, "--models-dir", str(models)])
    assert bad.exit_code == 2 and "scene" in bad.output
    missing = runner.invoke(app, ["train", "--models", "nope", "--store", url, "--models-dir", str(models)])
    assert missing.exit_code == 2 and "--models" in missing.output


def test_evaluate_json_rows(shared_data):
    result = run(
        "evaluate", "--protocol", "R2", "--data", str(shared_data), "--methods", "popularity,trending,history,blend", "--json"
    )
    rows = json.loads(result.stdout)
    assert [r["method"] for r in rows] == ["trending", "history", "blend", "popularity"]
    assert set(rows[0]) == {
        "method", "family", "k", "recall", "recall_se", "ndcg", "hitrate", "coverage", "train_s", "config",
        "cutoff", "recall_lo", "recall_hi", "vs_best_peer", "vs_best_peer_lo", "vs_best_peer_hi",
    }  # fmt: skip
    assert all(0 < r["recall_se"] < 0.05 for r in rows)  # bootstrap over ~800 shoppers
    assert all(r["recall_lo"] < r["recall"] < r["recall_hi"] and r["cutoff"] is None for r in rows)
    peer, history = rows[-1], rows[1]  # the only peer is the best one: its ratio is exactly 1
    assert peer["vs_best_peer"] == peer["vs_best_peer_lo"] == peer["vs_best_peer_hi"] == 1.0
    assert history["vs_best_peer_lo"] < history["vs_best_peer"] < history["vs_best_peer_hi"]
    assert history["vs_best_peer"] == pytest.approx(history["recall"] / peer["recall"], abs=1e-3)
    assert {r["family"] for r in rows} == {"ours", "peer"} and all(r["k"] == 10 for r in rows)
