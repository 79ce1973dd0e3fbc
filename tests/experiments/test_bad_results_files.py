"""Results files cut from Hillstrom that DuckDB's sniffer would misread, and malformed --weights:
`experiment analyze` and `uplift fit --data` refuse them naming the file, what was expected and
what was found (QA pass)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from qianmian.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def cut(shared_data, tmp_path_factory):
    """empty, header-only, stray-quote (an opening quote on line 502) and clean 2,000-row cuts."""
    path = shared_data / "hillstrom" / "hillstrom.csv"
    if not path.is_file():
        pytest.skip(f"{path} missing")
    lines = path.read_text().splitlines()[:2001]
    d = tmp_path_factory.mktemp("cuts")
    stray = list(lines)
    stray[501] = stray[501].replace(",", ',"', 1)
    files = {"empty": "", "header": lines[0] + "\n", "stray": "\n".join(stray) + "\n", "clean": "\n".join(lines) + "\n"}
    for name, text in files.items():
        (d / f"{name}.csv").write_text(text)
    return d


ANALYZE = ["--variant-col", "segment", "--control", "No E-Mail", "--metric", "visit"]
UPLIFT = ["--treatment", "segment", "--control", "No E-Mail", "--outcome", "visit", "--bootstrap", "20"]
CASES = [("empty", "received 'empty.csv: an empty file'"), ("header", "received 'header.csv: no data rows'"),
         ("stray", "header's columns, received 'stray.csv: an unbalanced quote (\") on line 502'")]


@pytest.mark.parametrize(("name", "message"), CASES)
def test_analyze_refuses_a_misread_file(cut, name, message) -> None:
    done = runner.invoke(app, ["experiment", "analyze", str(cut / f"{name}.csv"), *ANALYZE])
    assert done.exit_code == 2
    assert "error: file: expected" in done.output and message in " ".join(done.output.split())
    assert "Traceback" not in done.output


@pytest.mark.parametrize(("name", "message"), CASES)
def test_uplift_fit_refuses_a_misread_file(cut, name, message) -> None:
    done = runner.invoke(app, ["uplift", "fit", "--data", str(cut / f"{name}.csv"), *UPLIFT])
    assert done.exit_code == 2
    assert "error: file: expected" in done.output and message in " ".join(done.output.split())


def test_uplift_fit_checks_the_model_name_before_reading_or_fitting(cut, tmp_path) -> None:
    done = runner.invoke(app, ["uplift", "fit", "--data", str(cut / "stray.csv"), *UPLIFT, "--save", "my model",
                               "--store", f"duckdb:///{tmp_path / 's.duckdb'}"])
    assert done.exit_code == 2
    assert "model name: expected 1-64 letters" in done.output and "stray.csv" not in done.output


@pytest.mark.parametrize(("weights", "message"), [
    ("No E-Mail:1e400,Mens E-Mail:1,Womens E-Mail:1", "positive finite weights"),
    ("No E-Mail:nan,Mens E-Mail:1,Womens E-Mail:1", "positive finite weights"),
    ("No E-Mail:1,No E-Mail:2,Mens E-Mail:1,Womens E-Mail:1", "each variant named once, received 'No E-Mail'"),
])
def test_analyze_refuses_malformed_weights(cut, weights, message) -> None:
    done = runner.invoke(app, ["experiment", "analyze", str(cut / "clean.csv"), *ANALYZE, "--weights", weights])
    assert done.exit_code == 2
    assert message in " ".join(done.output.split())
    assert "RuntimeWarning" not in done.output


def test_analyze_clean_cut_still_reads(cut) -> None:
    done = runner.invoke(app, ["experiment", "analyze", str(cut / "clean.csv"), *ANALYZE, "--json"])
    assert done.exit_code == 0, done.output
    import json

    assert sum(json.loads(done.stdout)["units"].values()) == 2000
