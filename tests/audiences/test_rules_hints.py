"""Rule hints: single quotes suggest double quotes; a trait name or value no consumer has gives a
warning naming the known ones, in the checker's companion (`hints`), the CLI and the API."""

from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from qianmian.audiences.rules import RuleError, check
from qianmian.audiences.rules.hints import rule_warnings
from qianmian.cli import app
from qianmian.store import connect


@pytest.mark.parametrize(("rule", "column", "use"), [
    ("trait('country') = \"France\"", 7, '"country"'),
    ('trait("country") = \'United Kingdom\'', 20, '"United Kingdom"'),
    ("lifecycle = 'lost", 13, '"lost"'),
    ('trait("country") = “France”', 20, '"France"'),
])
def test_single_quotes_suggest_double_quotes(rule, column, use):
    with pytest.raises(RuleError) as info:
        check(rule)
    assert info.value.column == column
    assert f"a string in double quotes: use {use}" in str(info.value)


def _messages(store, rule: str) -> list[str]:
    return [w.message for w in rule_warnings(store, check(rule), rule)]


def test_unknown_trait_on_online_retail_says_did_you_mean_country(retail):
    (w,) = rule_warnings(retail, check('trait("contry") = "France"'), 'trait("contry") = "France"')
    assert (w.line, w.column) == (1, 7)
    assert 'no consumer has the trait "contry" (did you mean "country"?)' in w.message and "country" in w.known


def test_value_never_seen_lists_the_known_values(retail):
    rule = 'trait("country") in ("Frnace", "germany", "United Kingdom")'
    frnace, germany = rule_warnings(retail, check(rule), rule)
    assert 'trait("country") = "Frnace" (did you mean "France"?)' in frnace.message
    assert frnace.known[0] == "United Kingdom"  # most common first
    assert 'did you mean "Germany"? values are case-sensitive' in germany.message
    assert _messages(retail, 'trait("country") = "France" and lifecycle = "lost"') == []


@pytest.fixture
def url(tmp_path) -> str:
    """Consumers with traits in the JSON column (skin) and as a column (city)."""
    url = f"duckdb:///{tmp_path / 'hints.duckdb'}"
    store = connect(url)
    store.append("users", pd.DataFrame([
        {"user_id": "u1", "city": "Hangzhou", "traits": json.dumps({"skin": "dry"})},
        {"user_id": "u2", "city": "Shanghai", "traits": json.dumps({"skin": "oily", "vip": True})},
    ]))
    store.append("events", pd.DataFrame([{"event_id": "e1", "user_id": "u1", "behavior": "view", "ts": pd.Timestamp("2024-03-01")}]))
    store.close()
    return url


def test_json_traits_are_known_too(url):
    store = connect(url)
    try:
        assert _messages(store, 'trait("skin") = "dry" and trait("vip") = "true" and trait("city") = "Hangzhou"') == []
        (w,) = _messages(store, 'trait("skn") = "dry"')
        assert 'did you mean "skin"' in w and "known traits: city, skin, vip" in w
    finally:
        store.close()


def test_cli_prints_the_warning_and_keeps_json_clean(url):
    result = CliRunner().invoke(app, ["audience", "preview", 'trait("skin") = "normal"', "--as-of", "2024-03-01",
                                      "--store", url, "--json"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["size"] == 0 and doc["warnings"][0]["known"] == ["dry", "oily"]
    assert 'warning: rule at 1:17: no consumer has trait("skin") = "normal"' in result.stderr


def test_api_check_returns_warnings(url, tmp_path):
    from qianmian.api import create_app
    from qianmian.config import Settings

    settings = Settings(store=url, data_dir=tmp_path / "data", writer_interval_seconds=0.02)
    with TestClient(create_app(settings, clock=lambda: dt.datetime(2024, 3, 2))) as client:
        ok = client.post("/v1/audiences/check", json={"rule": 'trait("cty") = "Hangzhou"'}).json()
        assert ok["ok"] and 'did you mean "city"' in ok["warnings"][0]["message"]
        assert client.post("/v1/audiences/check", json={"rule": 'trait("city") = "Hangzhou"'}).json()["warnings"] == []
        bad = client.post("/v1/audiences/check", json={"rule": "trait('city') = 'Hangzhou'"}).json()
        assert not bad["ok"] and 'use "city"' in bad["message"]
        p = client.post("/v1/audiences/preview", json={"rule": 'trait("city") = "Hangzou"', "as_of": "2024-03-01"}).json()
        assert p["size"] == 0 and 'did you mean "Hangzhou"' in p["warnings"][0]["message"]
