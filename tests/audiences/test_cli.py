"""`qianmian audience …`, `qianmian crowds`, `qianmian tags set`: --json prints one document; bad rules exit 2."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from qianmian.cli import app
from qianmian.store import connect


@pytest.fixture
def url(tmp_path) -> str:
    url = f"duckdb:///{tmp_path / 'cli.duckdb'}"
    store = connect(url)
    rows = [{"event_id": f"e{i}", "user_id": f"u{i % 7}", "behavior": "buy" if i % 3 == 0 else "view",
             "category_id": f"c{i % 4}", "ts": pd.Timestamp("2024-03-01") + pd.Timedelta(hours=i), "amount": 5.0 * i}
            for i in range(120)]
    store.append("events", pd.DataFrame(rows))
    store.close()
    return url


def _run(*args: str) -> object:
    result = CliRunner().invoke(app, list(args))
    return result


def _json(*args: str) -> dict:
    result = _run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_audience_commands(url: str) -> None:
    made = _json("audience", "create", "buyers", "--rule", "count(buy, 30d) >= 3", "--priority", "2", "--store", url)
    assert made["version"] == 1 and made["sentence"].startswith("Consumers whose number of purchases")
    preview = _json("audience", "preview", "buyers", "--as-of", "2024-03-31", "--store", url)
    assert preview["size"] == 7 and preview["total"] == 7
    assert _json("audience", "preview", 'count(view, category = "c1", 30d) >= 5', "--as-of", "2024-03-31", "--store", url)["size"] >= 0
    assert [a["name"] for a in _json("audience", "list", "--store", url)] == ["buyers"]
    assert _json("audience", "show", "buyers", "--store", url)["versions"] == [1]
    assert _json("audience", "explain", "buyers", "--store", url)["rule"] == "count(buy, 30d) >= 3"
    assert _json("audience", "materialize", "--as-of", "2024-03-31", "--store", url)["counts"] == {"buyers": 7}
    assert _json("audience", "delete", "buyers", "--store", url)["deleted"] == "buyers"
    assert _json("audience", "list", "--store", url) == []


@pytest.mark.parametrize("rule", ["count(view, 30x) > 1", '"; drop table events; --', "foo(1)", "(aipl = \"I\""])
def test_bad_rule_exits_2_with_a_caret(url: str, rule: str) -> None:
    result = _run("audience", "create", "bad", "--rule", rule, "--store", url)
    assert result.exit_code == 2
    assert "expected" in result.output and "^" in result.output
    assert _json("audience", "list", "--store", url) == []


def test_tags_and_crowds(url: str, tmp_path) -> None:
    out = _json("tags", "set", "u1", "Vegan", "budget", "--at", "2024-03-02T10:00", "--store", url)
    assert out["tags"] == ["budget", "vegan"]
    assert _json("tags", "show", "u1", "--store", url)["tags"] == ["budget", "vegan"]
    assert _run("tags", "set", "u1", "bad,tag", "--store", url).exit_code == 2
    result = _run("crowds", "--k", "2", "--as-of", "2024-03-31", "--store", url)
    assert result.exit_code == 2 and "micro-groups" in result.output  # 7 consumers cannot make 3 groups of 5


def test_crowds_json_and_chart(retail, tmp_path) -> None:
    chart = tmp_path / "crowds.html"
    out = _json("crowds", "--k", "6", "--as-of", "2010-12-09", "--chart", str(chart), "--store", retail.url)
    assert out["k"] == 6 and sum(c["size"] for c in out["crowds"]) == out["consumers"]
    assert chart.read_text().count("<svg") == 1
