"""`qianmian report …` end to end: every report prints one JSON document, on DuckDB and on Spark."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from qianmian.cli import app

from .helpers import events_frame

COLUMNS = ("user_id", "behavior", "ts", "category_id", "order_id", "amount")
ROWS = [
    ("u1", "view", "2024-05-20 10:00", "toys", None, None), ("u1", "cart", "2024-05-20 10:05", "toys", None, None),
    ("u1", "buy", "2024-05-20 10:09", "toys", "o1", 40.0), ("u1", "buy", "2024-05-20 10:09", "books", "o1", 10.0),
    ("u1", "buy", "2024-06-02 09:00", "toys", "o2", 30.0),
    ("u2", "view", "2024-06-01 10:00", "books", None, None), ("u2", "fav", "2024-06-01 10:01", "books", None, None),
    ("u2", "buy", "2024-06-03 10:00", "books", "o3", 20.0), ("u2", "buy", "2024-06-03 10:00", "toys", "o3", 25.0),
    ("u3", "view", "2024-06-10 10:00", "toys", None, None),
    ("u4", "buy", "2024-01-05 10:00", "books", "o4", 15.0),
    (None, "buy", "2024-06-11 10:00", "toys", "o5", 12.0),
]

COMMANDS = {
    "aipl": ["--as-of", "2024-06-30"],
    "flow": ["--start", "2024-05-31", "--end", "2024-06-30"],
    "fast": ["--as-of", "2024-06-30", "--since", "2024-05-31"],
    "grow": ["--base", "2024-05-01..2024-05-31", "--current", "2024-06-01..2024-06-30"],
    "gta": ["--goal", "120%", "--reference", "previous", "--period", "2024-06-01..2024-06-30", "--as-of", "2024-06-30"],
    "tgi": ["--target", "aipl:L", "--as-of", "2024-06-30", "--by", "category_id", "--min-count", "1"],
    "funnel": ["--as-of", "2024-06-30", "--days", "60", "--by", "day"],
    "lifecycle": ["--as-of", "2024-06-30"],
    "rfm": ["--as-of", "2024-06-30", "--cells", "grid"],
    "association": ["--level", "category", "--min-support", "0.3", "--min-confidence", "0.1"],
}


@pytest.fixture
def cli_store(store, tmp_path):
    store.append("events", events_frame(ROWS, COLUMNS))
    return store.url if store.engine == "duckdb" else "spark:local[2]"  # Spark reuses the test session


def _json(url: str, name: str, *extra: str) -> dict:
    result = CliRunner().invoke(app, ["report", name, *COMMANDS[name], *extra, "--store", url, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_every_report_prints_one_json_document(cli_store):
    out = {name: _json(cli_store, name) for name in COMMANDS}
    assert out["aipl"]["counts"] == {"A": 1, "I": 0, "P": 2, "L": 1}  # u3 A; u2, u4 P (one day each); u1 L (two days)
    assert out["flow"]["counts"]["P"]["L"] == 1  # u1: P on 05-31, L on 06-30
    assert out["fast"]["F"] == 4
    g = out["grow"]
    assert g["gain"] + g["retain"] + g["boost"] + g["widen"] == pytest.approx(g["change"])
    assert sum(r["needed_gmv"] for r in out["gta"]["rows"]) == pytest.approx(out["gta"]["goal"])
    assert {r["value"] for r in out["tgi"]["rows"]} == {"toys", "books"}
    assert out["lifecycle"]["total"] == 3
    assert out["association"]["baskets"] == 5 and out["association"]["itemsets"] >= 2
    assert out["funnel"]["by"] == "day" and out["rfm"]["total"] == 3


@pytest.fixture
def duck(tmp_path):
    """A DuckDB store for checks that do not depend on the engine."""
    from qianmian.store import connect

    s = connect(f"duckdb:///{tmp_path / 'cli.duckdb'}")
    s.append("events", events_frame(ROWS, COLUMNS))
    yield s
    s.close()


def test_charts_png_and_html(duck, tmp_path):
    store = duck
    for name, suffix in [("aipl", "png"), ("flow", "html"), ("grow", "png"), ("tgi", "html"), ("funnel", "png")]:
        path = tmp_path / f"{name}.{suffix}"
        _json(store.url, name, "--chart", str(path))
        assert path.stat().st_size > 1000
        if suffix == "html":
            text = path.read_text()
            assert "<svg" in text and "http://" not in text.split("<svg", 1)[0]


def test_bad_input_exits_with_a_message(duck):
    result = CliRunner().invoke(app, ["report", "aipl", "--as-of", "yesterday", "--store", duck.url])
    assert result.exit_code == 2 and "as_of" in result.output
