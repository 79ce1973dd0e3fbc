"""The experiment commands end to end: one JSON document with --json, charts written."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from qianmian.cli import app
from qianmian.experiments import log_exposures
from qianmian.store import connect

from .scenario import scenario

runner = CliRunner()


def run(*args: str) -> dict | list:
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


@pytest.fixture
def url(tmp_path):
    u = f"duckdb:///{tmp_path / 'cli.duckdb'}"
    exp, ev = scenario(1200, seed=9)
    s = connect(u)
    log_exposures(s, exp)
    s.append("events", ev)
    s.close()
    return u


def test_create_list_assign_report_closeout(url, tmp_path):
    run("experiment", "create", "cny-hero", "--variants", "test:2,control:8", "--campaign", "cny-2024",
        "--start", "2024-02-25", "--end", "2024-03-09", "--window-days", "7", "--pre-days", "14", "--store", url, "--json")
    assert [e["name"] for e in run("experiment", "list", "--store", url, "--json")] == ["cny-hero"]
    got = run("experiment", "assign", "cny-hero", "u1", "--store", url, "--json")
    assert got["variant"] in ("test", "control")
    png = tmp_path / "lifts.png"
    rep = run("experiment", "report", "cny-hero", "--as-of", "2024-03-08", "--metric", "purchase_conversion",
              "--metric", "gmv_per_visitor", "--sequential", "--store", url, "--json", "--chart", str(png))
    assert rep["units"]["test"] > 0 and not rep["srm"]["mismatch"]
    assert {r["metric"] for r in rep["results"]} == {"purchase_conversion", "gmv_per_visitor"}
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = tmp_path / "closeout.html"
    co = run("closeout", "cny-2024", "--as-of", "2024-03-08", "--metric", "purchase_conversion", "--store", url, "--json", "--chart", str(html))
    assert {s["dimension"] for s in co["segments"]} == {"customer", "audience", "creative"}
    assert "Close-out of campaign cny-2024" in co["summary"]
    assert "<svg" in html.read_text()


def test_report_text_and_errors(url):
    run("experiment", "create", "x", "--store", url, "--json")
    res = runner.invoke(app, ["experiment", "create", "x", "--store", url])
    assert res.exit_code == 2 and "already exists" in res.output
    res = runner.invoke(app, ["experiment", "report", "nope", "--as-of", "2024-03-08", "--store", url])
    assert res.exit_code == 2 and "does not exist" in res.output


def test_analyze_parquet_json_contract(shared_data, tmp_path):
    import pandas as pd

    path = shared_data / "hillstrom" / "hillstrom.csv"
    if not path.is_file():
        pytest.skip("hillstrom missing")
    pq.write_table(pa.Table.from_pandas(pd.read_csv(path)), tmp_path / "h.parquet")
    doc = run("experiment", "analyze", str(tmp_path / "h.parquet"), "--variant-col", "segment", "--control", "No E-Mail",
              "--metric", "visit", "--metric", "conversion", "--json")
    rows = doc["results"]
    assert len(rows) == 6
    assert doc["correction"] == "holm" and all(r["p_adjusted"] >= r["p_value"] for r in rows if r["p_value"] is not None)
    # Hillstrom's three arms were drawn with equal chances: the sample-ratio check passes
    assert doc["units"] == {"Mens E-Mail": 21307, "No E-Mail": 21306, "Womens E-Mail": 21387}
    assert doc["srm"]["p_value"] > 0.5 and not doc["srm"]["mismatch"]
    mens = next(r for r in rows if r["metric"] == "visit" and r["variant"] == "Mens E-Mail")
    assert {"metric", "variant", "n", "mean", "lift_abs", "lift_rel", "ci_low", "ci_high", "p_value"} <= set(mens)
    assert round(mens["mean"], 4) == 0.1828 and mens["ci_low"] < mens["lift_rel"] < mens["ci_high"]


def test_analyze_srm_with_expected_weights(shared_data):
    path = shared_data / "hillstrom" / "hillstrom.csv"
    args = ("experiment", "analyze", str(path), "--variant-col", "segment", "--control", "No E-Mail", "--metric", "visit")
    doc = run(*args, "--weights", "No E-Mail:2,Mens E-Mail:1,Womens E-Mail:1", "--json")
    assert doc["srm"]["mismatch"] and doc["srm"]["p_value"] < 1e-9  # a 2:1:1 plan does not match equal arms
    text = runner.invoke(app, [*args, "--weights", "No E-Mail:2,Mens E-Mail:1,Womens E-Mail:1"], env={"COLUMNS": "200"})
    assert text.exit_code == 0 and "MISMATCH" in text.stdout and "flagged below 0.001" in text.stdout
    bad = runner.invoke(app, [*args, "--weights", "control:1,test:1"])
    assert bad.exit_code == 2 and "one weight for each variant" in bad.output


def test_plan_and_offpolicy(shared_data):
    plan = run("experiment", "plan", "--baseline", "0.04", "--lift", "0.1", "--weights", "8:2", "--json")
    assert 100_000 < plan["units_needed"] < 130_000
    for bad in ("A:2:3", "8", "8:0", "8:inf", "x:2"):  # each names --weights, never another option
        res = runner.invoke(app, ["experiment", "plan", "--baseline", "0.04", "--lift", "0.1", "--weights", bad])
        assert res.exit_code == 2 and "weights" in res.output and "layer-range" not in res.output, (bad, res.output)
    base = shared_data / "open_bandit"
    if not base.is_dir():
        pytest.skip("open bandit missing")
    out = run("experiment", "offpolicy", str(base / "random/men/men.csv"), "--policy-log", str(base / "bts/men/men.csv"), "--json")
    assert out["ips"]["ci"][0] <= out["new_policy_on_policy_value"]["value"] <= out["ips"]["ci"][1]


def test_report_text_for_people(url, wide_console):
    run("experiment", "create", "cny-hero", "--variants", "test:2,control:8", "--start", "2024-02-25", "--end", "2024-03-09",
        "--window-days", "7", "--pre-days", "14", "--store", url, "--json")
    res = runner.invoke(app, ["experiment", "report", "cny-hero", "--as-of", "2024-03-08", "--metric", "purchase_conversion",
                              "--metric", "gmv_per_visitor", "--store", url], env={"COLUMNS": "220", "QIANMIAN_CURRENCY": "CNY"})
    assert res.exit_code == 0, res.output
    out = res.stdout
    assert "None" not in out and "nan" not in out
    rows = [ln for ln in out.splitlines() if ln.startswith("│ purchase_conversion") or ln.startswith("│ gmv_per_visitor")]
    assert rows and all("%" in ln.split("│")[4] for ln in rows if "purchase_conversion" in ln)  # a rate as a percentage
    assert all("CNY " in ln.split("│")[4] for ln in rows if "gmv_per_visitor" in ln)  # money with the currency
