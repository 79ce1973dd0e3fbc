"""CLI output for people: whole numbers of people, percentages, money with the currency setting,
no "None" on screen, and a warning when --as-of is past the data (real Online Retail II data)."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from qianmian.cli import app
from qianmian.cli.common import fmt, past_data_warning

WIDE = {"COLUMNS": "200"}


@pytest.mark.parametrize(("value", "unit", "shown"), [
    (561.6, "count", "562"), (1344, "count", "1,344"), (0.08186, "share", "8.2%"), (1.0, "share", "100.0%"),
    (0.0004, "share", "<0.1%"), (None, "share", "n/a"), (float("nan"), "money", "n/a"), (float("inf"), None, "n/a"),
    (1364.2, "money", "GBP 1,364"), (714.79, "money", "GBP 714.79"), (-9361.13, "money", "GBP -9,361"), (112.4, "index", "112"),
])
def test_fmt(value, unit, shown):
    assert fmt(value, unit, money="GBP") == shown


@pytest.fixture(scope="module")
def retail_url(shared_data, tmp_path_factory):
    """The first 30,000 lines of Online Retail II (2009-12-01 … 2010-01-?), ingested once."""
    import gzip

    from qianmian.ingest import ingest_file
    from qianmian.store import connect

    part = tmp_path_factory.mktemp("retail") / "retail_head.csv"
    with gzip.open(shared_data / "online_retail_ii" / "online_retail_ii_2009_2010.csv.gz", "rt", encoding="utf-8") as src:
        part.write_text("".join(line for _, line in zip(range(30_001), src)), encoding="utf-8")
    url = f"duckdb:///{part.parent / 'store.duckdb'}"
    store = connect(url)
    ingest_file(store, part, layout="online-retail")
    store.close()
    return url


def _run(*args: str, env: dict | None = None):
    result = CliRunner().invoke(app, list(args), env={**WIDE, **(env or {})})
    assert result.exit_code == 0, result.output
    return result


def test_gta_prints_people_as_integers_shares_as_percentages_money_with_currency(retail_url, wide_console):
    out = _run("report", "gta", "--goal", "120%", "--reference", "2009-12-01..2009-12-15", "--as-of", "2009-12-15",
               "--store", retail_url, env={"QIANMIAN_CURRENCY": "GBP"}).stdout
    assert "None" not in out and "nan" not in out
    doc = json.loads(_run("report", "gta", "--goal", "120%", "--reference", "2009-12-01..2009-12-15", "--as-of", "2009-12-15",
                          "--store", retail_url, "--json").stdout)
    new = next(r for r in doc["rows"] if r["stage"] == "new")
    line = next(ln for ln in out.splitlines() if ln.strip("│ ").startswith("new "))
    cells = [c.strip() for c in line.strip().strip("│").split("│")]
    assert cells[1] == f"{new['share']:.1%}"  # GMV share as a percentage
    assert cells[3].startswith("GBP ")  # GMV per buyer carries the currency
    assert cells[5] == f"{-(-new['needed_buyers'] // 1):,.0f}"  # people needed, rounded up
    assert re.search(r"goal GBP [0-9,]+", out)  # the goal in the title


def test_aipl_past_the_data_warns_with_the_last_day_and_shows_no_none(retail_url):
    result = _run("report", "aipl", "--as-of", "2030-01-01", "--store", retail_url)  # click >= 8.2 keeps stderr apart
    last = re.search(r"last day, (\d{4}-\d{2}-\d{2})", result.stderr)
    assert last is not None, result.stderr
    assert last.group(1).startswith("2010-01") or last.group(1).startswith("2009-12")
    assert "None" not in result.stdout and "n/a" in result.stdout  # shares of nobody
    assert re.search(r"│ A\s+│\s+0 │", result.stdout)


def test_no_warning_inside_the_data(retail_url):
    from qianmian.store import connect

    store = connect(retail_url)
    try:
        assert past_data_warning(store, "2009-12-10") is None
        assert "after the data's last day" in past_data_warning(store, "2030-01-01")
    finally:
        store.close()


def test_funnel_rates_are_percentages_with_their_formulas(retail_url):
    out = _run("report", "funnel", "--period", "2009-12-01..2009-12-31", "--store", retail_url).stdout
    rates = next(ln for ln in out.splitlines() if ln.strip("│ ").startswith("all") and "%" in ln)
    assert "%" in rates and "None" not in out
    assert "browse_conversion = consumers who viewed and bought ÷ consumers who viewed" in out


def test_experiment_and_audience_commands_warn_past_the_data(retail_url):
    runner = CliRunner()
    made = runner.invoke(app, ["experiment", "create", "x", "--store", retail_url, "--json"])
    assert made.exit_code == 0, made.output
    # no exposures yet: the report fails, but the warning about the date comes first
    report = runner.invoke(app, ["experiment", "report", "x", "--as-of", "2031-05-01", "--store", retail_url])
    assert report.stderr.startswith("warning: --as-of 2031-05-01 is after the data's last day")
    saved = runner.invoke(app, ["audience", "create", "uk", "--rule", 'trait("country") = "United Kingdom"', "--store", retail_url])
    assert saved.exit_code == 0, saved.output
    result = runner.invoke(app, ["audience", "materialize", "--as-of", "2031-05-01", "--store", retail_url, "--json"])
    assert result.exit_code == 0, result.output
    assert "--as-of 2031-05-01 is after the data's last day" in result.stderr
    json.loads(result.stdout)  # stdout stays one JSON document


@pytest.mark.parametrize("terminal", [True, False])
def test_a_failed_step_leaves_no_spinner_above_its_error(monkeypatch, terminal):
    import io

    import typer
    from rich.console import Console

    import qianmian.cli.common as common
    from qianmian.errors import InputError

    buf = io.StringIO()
    monkeypatch.setattr(common, "err_console", Console(file=buf, force_terminal=terminal, width=80))
    with pytest.raises(typer.Exit), common.errors_to_exit(), common.working("thinking hard"):
        raise InputError("as-of", "a date", "x")
    shown = buf.getvalue()
    last_erase = shown.rfind("\x1b[2K")  # on a terminal, what follows the last line erase is what stays visible
    assert "error: as-of" in re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown)
    assert "thinking hard" not in shown[last_erase:] if terminal else "thinking hard" not in shown
