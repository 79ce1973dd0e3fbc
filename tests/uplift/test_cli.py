"""`qianmian uplift fit --data FILE …` on Hillstrom, and its errors naming the field."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from qianmian.cli import app

from .conftest import HILLSTROM_FEATURES

runner = CliRunner()


def _fit(hillstrom, *extra: str):
    return runner.invoke(app, ["uplift", "fit", "--data", str(hillstrom), "--treatment", "segment", "--outcome", "visit",
                               "--control", "No E-Mail", *extra])


def test_fit_on_a_file_saves_scores_audience_and_chart(hillstrom, tmp_path):
    url = f"duckdb:///{tmp_path / 's.duckdb'}"
    chart = tmp_path / "qini.html"
    done = _fit(hillstrom, "--treated", "Womens E-Mail", "--features", ",".join(HILLSTROM_FEATURES),
                "--recency-col", "recency", "--monetary-col", "history", "--bootstrap", "50", "--chart", str(chart),
                "--save", "womens-visit", "--audience", "email-movers", "--store", url, "--json")
    assert done.exit_code == 0, done.output
    out = json.loads(done.stdout)
    assert out["arms"] == {"treated": ["Womens E-Mail"], "control": "No E-Mail"}
    assert set(out["qini"]) == {"uplift model", "random", "RFM score", "uplift model - RFM score"}
    assert out["saved"] == {"model": "womens-visit", "scored": 64_000,
                            "audience": {"name": "email-movers", "rule": 'uplift_rank("womens-visit") <= 30', "version": 1}}
    assert "<svg" in chart.read_text() and "Qini" in chart.read_text()
    shown = runner.invoke(app, ["uplift", "show", "womens-visit", "--store", url])
    assert shown.exit_code == 0 and "beats RFM" in shown.stdout.replace("\n", " ")


@pytest.mark.parametrize(("extra", "message"), [
    (["--features", "recency,nope"], "columns: expected columns of the data"),
    (["--treated", "Kids E-Mail"], "treated: expected arms other than the control"),
    (["--features", "recency", "--outcome", "zip_code"], "outcome zip_code: expected a numeric"),
    (["--features", "recency", "--outcome", "segment"], "outcome: expected a column other than the treatment"),
    (["--audience", "x"], "--audience: expected --save MODEL too"),
    (["--learner", "forest"], "learner: expected one of ['t', 'x']"),
])
def test_bad_options_exit_2_naming_the_field(hillstrom, extra, message):
    done = _fit(hillstrom, *extra)
    assert done.exit_code == 2
    assert message in " ".join(done.output.split())


def test_without_rfm_columns_the_model_is_compared_with_random_only(hillstrom):
    done = _fit(hillstrom, "--features", "recency,history,womens", "--bootstrap", "20", "--learner", "t", "--json")
    assert done.exit_code == 0, done.output
    assert set(json.loads(done.stdout)["qini"]) == {"uplift model", "random"}


def test_data_or_experiment_exactly_one():
    done = runner.invoke(app, ["uplift", "fit", "--outcome", "visit"])
    assert done.exit_code == 2 and "exactly one of them" in done.output


def test_a_file_with_one_arm_says_so(hillstrom, tmp_path):
    """Hillstrom's control rows alone: the error names the arm column and the one value it holds."""
    lines = hillstrom.read_text().splitlines()
    one_arm = tmp_path / "control_only.csv"
    one_arm.write_text("\n".join([lines[0], *(x for x in lines[1:] if ",No E-Mail," in x)]) + "\n")
    done = runner.invoke(app, ["uplift", "fit", "--data", str(one_arm), "--treatment", "segment", "--outcome", "visit",
                               "--control", "No E-Mail"])
    shown = " ".join(done.output.split())
    assert done.exit_code == 2, shown
    assert "treatment column 'segment': expected a control arm and at least one treated arm" in shown
    assert "only 'No E-Mail' in every row" in shown
