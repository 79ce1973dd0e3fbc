"""`qianmian report clv` on the CDNOW sample: the published parameters, the holdout totals and the chart."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from qianmian.cli import app


def test_report_clv_json_and_chart(cdnow_sample, tmp_path) -> None:
    chart = tmp_path / "clv.png"
    result = CliRunner().invoke(app, ["report", "clv", "--calibration-end", "1997-09-30", "--horizon", "90d",
                                      "--store", cdnow_sample.url, "--json", "--chart", str(chart)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert round(doc["bgnbd"]["r"], 3) == 0.243 and round(doc["bgnbd"]["alpha"], 3) == 4.414
    assert round(doc["gamma_gamma"]["p"], 2) == 6.25 and round(doc["gamma_gamma"]["v"], 1) == 15.4
    h = doc["holdout"]
    assert (h["start"], h["end"], h["days"]) == ("1997-10-01", "1998-06-30", 273)
    assert h["actual_total"] == 1882  # purchase days of the 2,357 consumers after the calibration end
    assert 1500 < h["predicted_total"] < 1882
    assert [b["frequency"] for b in h["buckets"]] == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert sum(b["consumers"] for b in h["buckets"]) == 2357
    assert chart.stat().st_size > 10_000
    assert doc["forecast"]["consumers"] == 2357 and doc["top"][0]["clv_90d"] >= doc["top"][-1]["clv_90d"]


def test_report_clv_text_and_bad_horizon(cdnow_sample) -> None:
    result = CliRunner().invoke(app, ["report", "clv", "--calibration-end", "1997-09-30", "--store", cdnow_sample.url])
    assert result.exit_code == 0, result.output
    assert "holdout repeat purchases: predicted 1,653.4, actual 1,882" in " ".join(result.stdout.split())
    bad = CliRunner().invoke(app, ["report", "clv", "--calibration-end", "1997-09-30", "--horizon", "3 months",
                                   "--store", cdnow_sample.url])
    assert bad.exit_code == 2 and "90d" in bad.output
