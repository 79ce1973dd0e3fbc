"""The console's API on the bundled demo slice: every report equals `qianmian … --json`, audiences and
shopper views agree with independent pandas computations, previews are never logged, auth and scopes."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from qianmian.web import STATIC_DIR

from .conftest import AS_OF, SINCE, cli_json, make_app

PERIOD = f"{SINCE}..{AS_OF}"
REPORTS = {  # API path and params → the same report from the CLI
    "aipl": ({"as_of": AS_OF}, ["report", "aipl", "--as-of", AS_OF]),
    "flow": ({"start": SINCE, "end": AS_OF}, ["report", "flow", "--start", SINCE, "--end", AS_OF]),
    "fast": ({"as_of": AS_OF, "since": SINCE}, ["report", "fast", "--as-of", AS_OF, "--since", SINCE]),
    "funnel": ({"period": PERIOD}, ["report", "funnel", "--period", PERIOD]),
    "lifecycle": ({"as_of": AS_OF}, ["report", "lifecycle", "--as-of", AS_OF]),
    "rfm": ({"as_of": AS_OF, "cells": "grid"}, ["report", "rfm", "--as-of", AS_OF, "--cells", "grid"]),
    "tgi": ({"target": "aipl:L", "by": "category_id", "as_of": AS_OF, "min_count": 10, "limit": 15},
            ["report", "tgi", "--target", "aipl:L", "--by", "category_id", "--as-of", AS_OF, "--min-count", "10", "--limit", "15"]),
    "association": ({"level": "category", "basket": "day", "min_support": 0.02}, ["report", "association", "--level", "category", "--basket", "day", "--min-support", "0.02"]),
}


def events(client) -> pd.DataFrame:
    store = client.app.state.store
    return store.execute(store.table("events").select("user_id", "behavior", "ts", "category_id"))


# -- serving -------------------------------------------------------------------------------------
def test_console_is_served_at_the_root_with_its_assets(client):
    root = client.get("/", follow_redirects=False)
    assert root.status_code == 307 and root.headers["location"] == "/console/"
    page = client.get("/console/#/overview")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for ref in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert client.get(ref).status_code == 200, ref
    for module in sorted(p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*.js")):
        assert client.get(f"/static/{module}").headers["content-type"].startswith(("text/javascript", "application/javascript")), module
    missing = client.get("/static/js/nothing.js")
    assert missing.status_code == 404 and missing.json()["error"]["kind"] == "console asset"
    assert client.get("/static/%2e%2e/__init__.py").status_code == 404


def test_assets_reference_no_other_host():
    """No CDN, font or script from elsewhere: the only absolute URL in the assets is the SVG namespace."""
    allowed = {"http://www.w3.org/2000/svg"}
    for path in STATIC_DIR.rglob("*"):
        if path.is_file() and path.suffix in {".html", ".js", ".css", ".svg"}:
            text = path.read_text(encoding="utf-8")
            found = set(re.findall(r"https?://[^\s\"'`)]+", text)) | set(re.findall(r"url\(\s*['\"]?//", text))
            assert found <= allowed, (path.name, found - allowed)
            assert "@import" not in text and "fonts.googleapis" not in text


# -- reports equal the CLI's ------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(REPORTS))
def test_report_equals_cli_json(client, demo_file, name):
    params, args = REPORTS[name]
    got = client.get(f"/v1/reports/{name}", params=params)
    assert got.status_code == 200, got.text
    body = got.json()
    if name == "flow":
        body.pop("links")
    assert body == cli_json(demo_file, *args)


def test_grow_is_empty_without_amounts_and_gta_needs_gmv_or_a_benchmark(client):
    grow = client.get("/v1/reports/grow", params={"base": "2017-11-26..2017-11-29", "current": "2017-11-30..2017-12-03"}).json()
    assert grow["gmv_base"] == grow["gmv_current"] == grow["change"] == 0.0  # the slice has no amounts
    body = {"goal": 1_000_000, "reference": "previous", "period": "2017-12-04..2017-12-12", "as_of": AS_OF}
    refused = client.post("/v1/reports/gta", json=body)
    assert refused.status_code == 422 and refused.json()["error"]["field"] == "reference"
    bench = {"A": {"conversion": 0.02, "value_per_buyer": 150, "share": 0.1}, "L": {"conversion": 0.35, "value_per_buyer": 320, "share": 0.9}}
    plan = {r["stage"]: r for r in client.post("/v1/reports/gta", json={**body, "benchmark": bench}).json()["rows"]}
    assert plan["A"]["needed"] == pytest.approx(1_000_000 * 0.1 / 150 / 0.02)
    aipl = client.get("/v1/reports/aipl", params={"as_of": AS_OF}).json()
    assert plan["L"]["current"] == aipl["counts"]["L"]
    assert plan["L"]["gap"] == pytest.approx(1_000_000 * 0.9 / 320 / 0.35 - aipl["counts"]["L"])


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/v1/reports/aipl", {"as_of": "2017-13-40"}, "as_of"),
    ("/v1/reports/aipl", {"as_of": "0001-01-01"}, "as_of"),
    ("/v1/reports/flow", {"start": AS_OF, "end": SINCE}, "end"),
    ("/v1/reports/grow", {"base": "2017-11-30..2017-11-26", "current": PERIOD}, "period"),
    ("/v1/reports/tgi", {"target": "aipl:X", "by": "category_id", "as_of": AS_OF}, "population"),
    ("/v1/reports/tgi", {"target": "all", "by": "no_such_column"}, "by"),
    ("/v1/shoppers/1000664", {"as_of": "9999-01-01"}, "as_of"),
])
def test_bad_input_is_a_422_naming_the_field(client, path, params, field):
    r = client.get(path, params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field


# -- audiences ------------------------------------------------------------------------------------
def test_rule_check_answers_ok_or_where_it_is_wrong(client):
    good = client.post("/v1/audiences/check", json={"rule": 'count(buy, 30d) >= 2 and aipl = "L"'}).json()
    assert good["ok"] and "at least 2" in good["sentence"]
    bad = client.post("/v1/audiences/check", json={"rule": "count(buy, 30x) >= 2"}).json()
    assert not bad["ok"] and (bad["line"], bad["column"]) == (1, 12) and "30x" in bad["received"] and bad["caret"].endswith("^")
    unknown = client.post("/v1/audiences/check", json={"rule": 'in_audience("nobody")'}).json()
    assert not unknown["ok"]


def _assert_tgi_rows(ev, got, target: set, reference: set, *, days: int, min_count: int) -> None:
    """The response's solid rows equal TGI by category computed with pandas over the last `days` days."""
    end = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)
    week = ev[(ev.ts >= end - pd.Timedelta(days=days)) & (ev.ts < end) & ev.user_id.notna()]
    pairs = week[["user_id", "category_id"]].drop_duplicates()
    tc = pairs[pairs.user_id.isin(target)].groupby("category_id").size()
    rc = pairs[pairs.user_id.isin(reference)].groupby("category_id").size()
    expected = {c: (tc[c] / len(target)) / (rc[c] / len(reference)) * 100 for c in tc.index if tc[c] >= min_count}
    rows = {r["value"]: r for r in got["rows"] if not r["small"]}
    assert set(rows) == set(expected) and expected
    for c, tgi in expected.items():
        assert rows[c]["tgi"] == pytest.approx(tgi) and rows[c]["target_count"] == tc[c]


def test_preview_and_tgi_of_a_rule_match_pandas(client):
    ev = events(client)
    end = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)
    window = ev[(ev.ts >= end - pd.Timedelta(days=30)) & (ev.ts < end)]
    buys = window[window.behavior == "buy"].groupby("user_id").size()
    members = set(buys[buys >= 2].index)
    everyone = set(ev[ev.ts < end].user_id.dropna())

    preview = client.post("/v1/audiences/preview", json={"rule": "count(buy, 30d) >= 2", "as_of": AS_OF, "sample": 5}).json()
    assert (preview["size"], preview["total"]) == (len(members), len(everyone))
    assert set(preview["sample"]) <= members and len(preview["sample"]) == 5

    got = client.post("/v1/audiences/tgi", json={"rule": "count(buy, 30d) >= 2", "as_of": AS_OF, "days": 7, "min_count": 20, "limit": 200}).json()
    _assert_tgi_rows(ev, got, members, everyone, days=7, min_count=20)


def test_tgi_against_another_rule_or_audience(client):
    ev = events(client)
    end = pd.Timestamp(AS_OF) + pd.Timedelta(days=1)
    month = ev[(ev.ts >= end - pd.Timedelta(days=30)) & (ev.ts < end)]
    buys = month[month.behavior == "buy"].groupby("user_id").size()
    carts = month[month.behavior == "cart"].groupby("user_id").size()
    heavy, carters = set(buys[buys >= 2].index), set(carts[carts >= 1].index)
    body = {"rule": "count(buy, 30d) >= 2", "as_of": AS_OF, "days": 7, "min_count": 10, "limit": 200,
            "reference": "count(cart, 30d) >= 1"}
    got = client.post("/v1/audiences/tgi", json=body).json()
    assert (got["target_size"], got["reference_size"], got["reference"]) == (len(heavy), len(carters), "count(cart, 30d) >= 1")
    _assert_tgi_rows(ev, got, heavy, carters, days=7, min_count=10)
    saved = client.post("/v1/audiences", json={"name": "api_carters", "rule": "count(cart, 30d) >= 1"})
    assert saved.status_code == 201
    by_name = client.post("/v1/audiences/tgi", json={**body, "reference": "api_carters"}).json()
    assert by_name["rows"] == got["rows"] and by_name["reference"] == "api_carters"
    client.delete("/v1/audiences/api_carters")
    bad = client.post("/v1/audiences/tgi", json={**body, "reference": "count(cart, 30x) >= 1"})
    assert bad.status_code == 422 and bad.json()["error"]["field"].startswith("reference rule at 1:")


def test_saving_an_audience_and_materializing_reaches_the_storefront(client):
    rule = 'count(buy, 30d) >= 5'
    saved = client.post("/v1/audiences", json={"name": "api_heavy_buyers", "rule": rule, "priority": 1})
    assert saved.status_code == 201 and saved.json()["version"] == 1
    again = client.post("/v1/audiences", json={"name": "api_heavy_buyers", "rule": rule})
    assert again.status_code == 409
    bad = client.post("/v1/audiences", json={"name": "api_bad", "rule": "count(buy 30d)"})
    assert bad.status_code == 422 and bad.json()["error"]["field"].startswith("rule at")
    assert "api_bad" not in {a["name"] for a in client.get("/v1/audiences").json()}
    done = client.post("/v1/audiences/materialize", json={"as_of": AS_OF}).json()
    member = client.post("/v1/audiences/preview", json={"rule": rule, "as_of": AS_OF, "sample": 1}).json()["sample"][0]
    assert done["counts"]["api_heavy_buyers"] > 0
    listed = {a["name"]: a for a in client.get("/v1/audiences").json()}
    assert listed["api_heavy_buyers"]["members"] == done["counts"]["api_heavy_buyers"]
    view = client.get(f"/v1/shoppers/{member}", params={"as_of": AS_OF}).json()
    assert view["audiences"][0] == "api_heavy_buyers"  # priority 1 comes first
    assert client.delete("/v1/audiences/api_heavy_buyers").json()["deleted"] == "api_heavy_buyers"


# -- shoppers -------------------------------------------------------------------------------------
def test_shopper_stage_and_lifecycle_equal_the_whole_population_computation(client):
    from qianmian.metrics.aipl import aipl_stages
    from qianmian.metrics.lifecycle import lifecycle_states

    store = client.app.state.store
    stages = store.execute(aipl_stages(store.table("events"), as_of=AS_OF)).set_index("user_id").stage
    states = store.execute(lifecycle_states(store.table("events"), as_of=AS_OF)).set_index("user_id")
    some = [r["user_id"] for r in client.get("/v1/shoppers", params={"as_of": AS_OF, "limit": 40}).json()]
    assert len(some) == 40
    for user in some[::4]:
        view = client.get(f"/v1/shoppers/{user}", params={"as_of": AS_OF, "recent": 5}).json()
        assert view["stage"] == stages.get(user)
        assert (view["lifecycle"] or {}).get("state") == (states.state.get(user) if user in states.index else None)
        assert len(view["recent"]) == 5 and view["recent"][0]["ts"] >= view["recent"][-1]["ts"]
    unknown = client.get("/v1/shoppers/nobody-at-all", params={"as_of": AS_OF}).json()
    assert unknown["known"] is False and unknown["stage"] is None


def test_page_previews_are_never_logged(client):
    store = client.app.state.store
    before = store.count("exposures")
    user = client.get("/v1/shoppers", params={"as_of": AS_OF, "limit": 1}).json()[0]["user_id"]
    now = client.get(f"/v1/shoppers/{user}/page").json()
    as_default = client.get(f"/v1/shoppers/{user}/page", params={"audience": "default"}).json()
    as_loyal = client.get(f"/v1/shoppers/{user}/page", params={"audience": "nivea_old_active"}).json()
    client.app.state.services.log.drain()
    assert store.count("exposures") == before
    assert as_default["experience"]["audience"] == "default" and as_default["experiment"] is None
    assert as_loyal["experience"]["audience"] == "nivea_old_active" and as_loyal["audience"] == "nivea_old_active"
    assert as_loyal["reasons"][-1] == as_loyal["decision"]["notes"][-1] == (
        "preview as audience 'nivea_old_active': the shopper's own audiences and experiment arm are set aside")
    greeting = next(m for m in as_loyal["modules"] if m["type"] == "greeting")
    assert greeting["text"].startswith("Welcome back")
    rails = [m for m in now["modules"] if m["type"] == "rail"]
    assert rails and all(item["reason"] for m in rails for item in m["items"])
    assert set(now["items"]) == {i["item_id"] for m in rails for i in m["items"]}


def _suggested(client) -> dict:
    return client.get("/v1/shoppers/suggestions", params={"as_of": AS_OF}).json()


def test_suggestions_cover_each_arm_and_each_audience(client):
    sug = _suggested(client)
    assert sug["experiment"] == {"name": "storefront-2-8", "variants": ["personalized", "control"], "control": "control"}
    by_arm = {s["variant"]: s for s in sug["shoppers"] if " arm " in s["why"]}
    assert set(by_arm) == {"personalized", "control"} and by_arm["control"]["arm"] == "control" and by_arm["personalized"]["arm"] == "test"
    for s in sug["shoppers"]:  # the arm said is the one the storefront serves
        assert client.get(f"/v1/shoppers/{s['user_id']}/page").json()["experiment"]["variant"] == s["variant"]
    members = client.get("/v1/audiences").json()
    with_members = {a["name"] for a in members if a.get("members")}
    assert with_members and with_members <= {s["audience"] for s in sug["shoppers"]}
    assert all(s["audience"] in s["audiences"] for s in sug["shoppers"])


def test_test_and_control_pages_of_one_shopper_and_why(client):
    shopper = next(s for s in _suggested(client)["shoppers"] if s["arm"] == "test")
    uid = shopper["user_id"]
    test = client.get(f"/v1/shoppers/{uid}/page", params={"variant": "personalized"}).json()
    control = client.get(f"/v1/shoppers/{uid}/page", params={"variant": "control"}).json()
    audience = test["audience"]  # the first of the shopper's audiences with an experience
    assert test["personalized"] and audience in shopper["audiences"] and audience == test["decision"]["audience"] == test["experience"]["audience"]
    assert test["decision"]["arm"] == "test" and test["decision"]["audiences"] == shopper["audiences"]
    assert any(r.startswith(f"experience of audience {audience!r} (v{test['experience']['version']})") for r in test["reasons"])
    assert test["reasons"][0].startswith(f"audience {shopper['audiences'][0]!r}")
    assert not control["personalized"] and control["experience"]["audience"] == "default" and control["decision"]["withheld"] == audience
    assert any(f"does not see the experience of audience {audience!r}" in r for r in control["reasons"])
    events = sum(client.get(f"/v1/shoppers/{uid}", params={"as_of": AS_OF}).json()["behaviors"].values())
    assert events > 0 and not [r for r in test["reasons"] + control["reasons"] if "from no history" in r]
    for page in (test, control):
        items = [i["item_id"] for m in page["modules"] if m["type"] == "rail" for i in m["items"]]
        assert items and len(items) == len(set(items))  # no product twice on a page: the rails differ
        greeting = next(m["text"] for m in page["modules"] if m["type"] == "greeting")
        assert "there" not in greeting and ", !" not in greeting and "  " not in greeting
        assert all(v["category"] == f"category {v['category_id']}" for v in page["items"].values())  # the slice has no names
    left = [r for r in control["decision"]["rails"] if r["left_out"]]
    assert [r["title"] for r in left] == ["Picked for you"] and "would repeat 'Popular right now'" in left[0]["left_out"]
    bad = client.get(f"/v1/shoppers/{uid}/page", params={"variant": "treatment"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "variant"


def test_a_draft_experience_is_previewed_but_not_saved(client):
    saved = client.get("/v1/experiences/default").json()
    user = client.get("/v1/shoppers", params={"as_of": AS_OF, "limit": 1}).json()[0]["user_id"]
    draft = {"greeting": "Draft for {name}", "hero": {"title": "Draft hero"}, "modules": ["hero", "greeting"]}
    page = client.post(f"/v1/shoppers/{user}/page", json={"audience": "default", "experience": draft}).json()
    assert [m["type"] for m in page["modules"]] == ["hero", "greeting"] and page["modules"][1]["text"].startswith("Draft for")
    assert client.get("/v1/experiences/default").json() == saved
    bad = client.post(f"/v1/shoppers/{user}/page", json={"audience": "default", "experience": {"greeting": "Hi {nme}"}})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "experience.greeting"


# -- experiments ----------------------------------------------------------------------------------
def test_experiment_report_and_closeout_equal_the_cli(client, demo_file):
    listed = {e["name"]: e for e in client.get("/v1/experiments").json()}
    demo = listed["demo-aa-2to8"]
    assert demo["shoppers"] == demo["exposures"] == 815 and demo["campaign"] == "demo-week"
    report = client.get("/v1/experiments/demo-aa-2to8/report", params={"as_of": AS_OF}).json()
    assert report == cli_json(demo_file, "experiment", "report", "demo-aa-2to8", "--as-of", AS_OF)
    assert sum(report["units"].values()) == 815 and report["srm"]["mismatch"] is False
    close = client.get("/v1/closeout/demo-week", params={"as_of": AS_OF}).json()
    lifts = close.pop("lifts")
    assert close == cli_json(demo_file, "closeout", "demo-week", "--as-of", AS_OF)
    assert lifts[0]["label"].startswith("all") and {s["dimension"] for s in close["segments"]} == {"audience", "creative", "customer"}


def test_creating_an_experiment_checks_it(client):
    body = {"name": "api-hero-test", "variants": [{"name": "test", "weight": 2}, {"name": "control", "weight": 8}],
            "audience": "nivea_old_active", "metrics": ["purchase_conversion", "exists:click@hero"], "start": "2017-12-04"}
    made = client.post("/v1/experiments", json=body)
    assert made.status_code == 201 and made.json()["start_ts"] == "2017-12-04T00:00:00"
    assert client.post("/v1/experiments", json=body).status_code == 409
    bad = client.post("/v1/experiments", json={**body, "name": "api-bad", "metrics": ["nonsense"]})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "metric"
    none_yet = client.get("/v1/experiments/api-hero-test/report", params={"as_of": AS_OF})
    assert none_yet.status_code == 404


# -- data -----------------------------------------------------------------------------------------
def test_ingestion_history_and_quarantine(client):
    loads = client.get("/v1/data/ingests").json()
    assert [(r["layout"], r["read"], r["loaded"], r["quarantined"]) for r in loads] == [("taobao", 84475, 84440, 35)]
    q = client.get("/v1/data/quarantine", params={"limit": 10, "offset": 30}).json()
    assert q["total"] == 35 and len(q["rows"]) == 5 and q["offset"] == 30
    assert sum(r["rows"] for r in q["reasons"]) == 35 and all("received" not in r["reason"] for r in q["reasons"])
    only_ts = client.get("/v1/data/quarantine", params={"field": "ts"}).json()
    assert only_ts["total"] == sum(r["rows"] for r in q["reasons"] if r["field"] == "ts")


# -- sign-in --------------------------------------------------------------------------------------
def test_session_and_scopes_with_auth_on(demo_file, tmp_path):
    from qianmian.api import keys

    with TestClient(make_app(demo_file, tmp_path, auth=True)) as c:
        svc = c.app.state.services
        read_key, key = keys.create_key(svc.store, ["read"], name="analyst", now=dt.datetime(2017, 12, 4))
        svc.keyring.add(keys.hash_key(read_key), key)
        assert c.get("/console/").status_code == 200  # the page itself is public; the data is not
        assert c.get("/v1/console/session").json() | {"version": None} == {
            "version": None, "auth": True, "loopback": True, "engine": "duckdb", "signed_in": False, "scopes": [], "key_id": None}
        wrong = c.get("/v1/console/session", headers={"X-API-Key": "qm_nope_nope"}).json()
        assert wrong["signed_in"] is False and "unknown" in wrong["message"]
        me = c.get("/v1/console/session", headers={"X-API-Key": read_key}).json()
        assert me["signed_in"] and me["scopes"] == ["read"] and me["key_id"] == key.key_id
        assert c.get("/v1/reports/aipl", params={"as_of": AS_OF}).status_code == 401
        assert c.get("/v1/reports/aipl", params={"as_of": AS_OF}, headers={"X-API-Key": read_key}).status_code == 200
        denied = c.post("/v1/audiences", json={"name": "x", "rule": "aipl = \"L\""}, headers={"X-API-Key": read_key})
        assert denied.status_code == 403
