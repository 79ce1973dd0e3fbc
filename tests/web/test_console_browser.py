"""The console in headless Chromium on the demo slice: every page opens with no request leaving the
machine, the overview shows the CLI's numbers, an audience is created through the form, an
experience change shows in the preview, an experiment result is read, sign-in by API key.

Screenshots go to tests/artifacts/ (git-ignored). Needs Debian's chromium at /usr/bin/chromium
(`make browser`); Playwright never downloads a browser here.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

from .conftest import AS_OF, LiveServer, cli_json, make_app

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
LOCAL = {"127.0.0.1"}  # the live server's address: any other host is a request leaving the machine
PAGES = ["overview", "gta", "audiences", "shopper", "experiences", "experiments", "data"]


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Debian's chromium at {CHROMIUM} (run `make browser`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


@dataclass
class Tab:
    """A page in a fresh context that refuses (and records) every request to another host."""

    page: object
    base: str
    outside: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, hash_path: str) -> None:
        self.page.goto(f"{self.base}/console/#/{hash_path}")
        self.settle()

    def settle(self) -> None:
        self.page.wait_for_timeout(150)
        self.page.wait_for_function("!document.querySelector('.loading')", timeout=30_000)

    def shot(self, name: str) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.page.evaluate("window.scrollTo(0, 0)")
        self.page.screenshot(path=str(ARTIFACTS / f"console-{name}.png"), full_page=True)

    def value(self, testid: str) -> str:
        return self.page.get_attribute(f"[data-testid={testid}]", "data-value")


def leaves_machine(url: str) -> bool:
    """True for a request to any host but the loopback test server (data: and blob: URLs stay in the page)."""
    parsed = urlparse(url)
    return parsed.scheme not in ("data", "blob") and parsed.hostname not in LOCAL


def new_tab(browser, base: str) -> Tab:
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    tab = Tab(context.new_page(), base)

    def guard(route) -> None:
        if not leaves_machine(route.request.url):
            route.continue_()
        else:
            tab.outside.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    tab.page.on("pageerror", lambda e: tab.errors.append(str(e)))
    return tab


@pytest.fixture
def tab(browser, live) -> Iterator[Tab]:
    t = new_tab(browser, live.url)
    yield t
    t.page.context.close()
    assert t.outside == [], f"requests to other hosts: {t.outside}"
    assert t.errors == [], f"script errors: {t.errors}"


def test_every_page_opens_with_nothing_fetched_from_elsewhere(tab, live):
    expected = {"overview": "aipl-A", "gta": "gta-table", "audiences": "audience-list", "shopper": "store-page",
                "experiences": "store-page", "experiments": "exp-summary", "data": "quarantine-rows"}
    seen: list[str] = []
    tab.page.on("request", lambda r: seen.append(r.url))
    for name in PAGES:
        tab.open(name)
        if name == "gta":  # the slice has no amounts: the planner opens on the benchmark rates and says why
            tab.page.wait_for_selector("[data-testid=gta-note]")
            assert "no GMV" in tab.page.inner_text("[data-testid=gta-note]")
            assert tab.page.is_checked("[data-testid=gta-benchmark]")
        tab.page.wait_for_selector(f"[data-testid={expected[name]}]")
        assert tab.page.locator("[data-testid=error]").count() == 0, tab.page.inner_text("[data-testid=error]")
        assert tab.page.get_attribute(f"#nav a[data-page={name}]", "class") == "active"
        tab.shot(name)
    assert seen and not [u for u in seen if leaves_machine(u)]
    assert "auth off" in tab.page.inner_text("[data-testid=auth-badge]")


def test_api_reference_loads_offline(tab, live):
    """Swagger UI comes from the app's own packaged assets: it renders with every other host refused."""
    seen: list[str] = []
    tab.page.on("request", lambda r: seen.append(r.url))
    tab.page.goto(f"{live.url}/docs")
    tab.page.wait_for_selector(".opblock", timeout=30_000)
    assert tab.page.locator(".opblock").count() > 20  # the operations are listed, not a blank page
    assert "Qianmian" in tab.page.inner_text(".info")
    assert seen and not [u for u in seen if leaves_machine(u)]
    tab.shot("api-reference")


def _overview_numbers(tab: Tab) -> dict:
    """The numbers the overview shows (each element carries its raw value in `data-value`)."""
    number = lambda v: None if v == "" else float(v)  # noqa: E731
    return {
        "aipl": {s: int(tab.value(f"aipl-{s}")) for s in "AIPL"},
        "total": int(tab.value("aipl-total")),
        "fast": {k: number(tab.value(f"fast-{k}")) for k in "FAST"},
        "flow": {k: int(tab.value(f"flow-{k}")) for k in ("up", "down", "stayed", "churned", "new")},
    }


def _cli_numbers(demo_file, as_of: str, since: str) -> dict:
    aipl = cli_json(demo_file, "report", "aipl", "--as-of", as_of)
    fast = cli_json(demo_file, "report", "fast", "--as-of", as_of, "--since", since)
    flow = cli_json(demo_file, "report", "flow", "--start", since, "--end", as_of)
    return {"aipl": aipl["counts"], "total": aipl["total"], "fast": {k: fast[k] for k in "FAST"},
            "flow": {k: flow[k] for k in ("up", "down", "stayed", "churned", "new")}}


def test_overview_numbers_equal_the_cli(tab, demo_file):
    tab.open("overview")
    assert tab.page.input_value("[data-testid=as-of]") == AS_OF  # the store's last day, from its summary
    since = tab.page.input_value("[data-testid=since]")
    assert since == "2017-11-26"  # a week before
    tab.page.wait_for_selector("[data-testid=flow-up]")
    first = _overview_numbers(tab)
    assert first["total"] > 0 and first == _cli_numbers(demo_file, AS_OF, since)
    tab.page.fill("[data-testid=as-of]", "2017-12-01")
    tab.page.fill("[data-testid=since]", "2017-11-27")
    tab.page.click("[data-testid=apply]")
    tab.settle()
    tab.page.wait_for_selector("[data-testid=flow-up]")
    later = _overview_numbers(tab)
    assert later == _cli_numbers(demo_file, "2017-12-01", "2017-11-27") and later["aipl"] != first["aipl"]
    tab.shot("overview-2017-12-01")


def test_create_an_audience_through_the_form(tab, live):
    tab.open("audiences")
    p = tab.page
    p.fill("[data-testid=aud-name]", "browser_loyal_buyers")
    p.fill("[data-testid=aud-priority]", "5")
    p.fill("[data-testid=aud-rule]", "count(buy, 30d) >=")
    p.wait_for_selector("[data-testid=aud-validation].bad")
    assert "expected" in p.inner_text("[data-testid=aud-validation]")
    p.fill("[data-testid=aud-rule]", 'count(buy, 30d) >= 3 and aipl = "L"')
    p.wait_for_selector("[data-testid=aud-validation].ok")
    p.wait_for_selector("[data-testid=aud-size]")
    expected = httpx.post(f"{live.url}/v1/audiences/preview", json={"rule": 'count(buy, 30d) >= 3 and aipl = "L"', "as_of": AS_OF}).json()
    assert int(tab.value("aud-size")) == expected["size"] > 0
    p.wait_for_selector("[data-testid=tgi-table]")
    p.click("[data-testid=aud-save]")
    p.wait_for_selector("[data-testid=aud-saved]")
    tab.settle()
    p.wait_for_selector("[data-testid=audience-list] >> text=browser_loyal_buyers")
    tab.shot("audience-created")
    saved = httpx.get(f"{live.url}/v1/audiences/browser_loyal_buyers").json()
    assert (saved["rule"], saved["priority"], saved["version"]) == ('count(buy, 30d) >= 3 and aipl = "L"', 5, 1)


def test_tgi_profile_against_another_audience(tab, live):
    tab.open("audiences")
    p = tab.page
    rule = 'count(buy, 30d) >= 3 and aipl = "L"'
    p.fill("[data-testid=aud-rule]", rule)
    p.wait_for_selector("[data-testid=tgi-table]")
    assert "consumers as of" in p.inner_text("[data-testid=tgi-note]")
    p.click("[data-testid=tgi-reference]")  # focus reloads the saved audiences
    p.wait_for_selector("[data-testid=tgi-reference] option[value=nivea_old_active]", state="attached")
    p.select_option("[data-testid=tgi-reference]", "nivea_old_active")
    p.wait_for_selector("[data-testid=tgi-note] >> text=members of nivea_old_active")
    expected = httpx.post(f"{live.url}/v1/audiences/tgi", json={"rule": rule, "as_of": AS_OF, "by": "category_id", "days": 30,
                                                              "min_count": 20, "limit": 200, "reference": "nivea_old_active"}).json()
    note = p.inner_text("[data-testid=tgi-note]")
    assert note.startswith(f"{expected['target_size']:,} members vs {expected['reference_size']:,} members of nivea_old_active")
    p.wait_for_timeout(300)  # let the audience list the focus asked for arrive: it must not reset the choice
    assert p.input_value("[data-testid=tgi-reference]") == "nivea_old_active"
    tab.shot("tgi-against-audience")


def test_download_an_audiences_members(tab, live):
    tab.open("audiences")
    p = tab.page
    p.wait_for_selector("[data-testid=export-nivea_old_active]")
    with p.expect_download() as got:
        p.click("[data-testid=export-nivea_old_active]")
    download = got.value
    assert download.suggested_filename == "audience-nivea_old_active.csv"
    lines = Path(download.path()).read_text().strip().splitlines()
    served = httpx.get(f"{live.url}/v1/exports/audience", params={"name": "nivea_old_active", "format": "csv"})
    assert lines == served.text.strip().splitlines() and len(lines) - 1 == int(served.headers["x-rows"]) > 0
    p.wait_for_selector("text=Downloaded")
    assert p.input_value("[data-testid=aud-name]") == ""  # the click downloaded; it did not also open the audience


def test_changing_an_experience_changes_the_preview(tab, live):
    tab.open("experiences")
    p = tab.page
    p.wait_for_selector("[data-testid=page-greeting]")
    before = p.inner_text("[data-testid=page-greeting]")
    p.fill("[data-testid=exp-greeting]", "Hello {name}, fresh {need} picks from the browser test")
    p.wait_for_function("document.querySelector('[data-testid=page-greeting]')?.textContent.includes('browser test')", timeout=15_000)
    assert p.inner_text("[data-testid=exp-draft-state]").startswith("draft")
    p.uncheck("[data-testid=exp-coupon-on]")
    p.wait_for_function("!document.querySelector('[data-testid=page-coupon]')", timeout=15_000)
    assert httpx.get(f"{live.url}/v1/experiences/default").json()["greeting"] != "Hello {name}, fresh {need} picks from the browser test"
    p.click("[data-testid=exp-save]")
    p.wait_for_selector("[data-testid=exp-saved]")
    saved = httpx.get(f"{live.url}/v1/experiences/default").json()
    assert saved["greeting"] == "Hello {name}, fresh {need} picks from the browser test" and saved["coupon"] is None
    assert "browser test" in p.inner_text("[data-testid=page-greeting]") != before
    tab.shot("experience-changed")


def test_read_an_experiment_result(tab, live):
    tab.open("experiments?name=demo-aa-2to8")
    p = tab.page
    p.wait_for_selector("[data-testid=exp-summary]")
    p.wait_for_selector("[data-testid=closeout-summary]")
    report = httpx.get(f"{live.url}/v1/experiments/demo-aa-2to8/report", params={"as_of": AS_OF}).json()
    assert p.inner_text("[data-testid=exp-summary]") == report["summary"]
    assert p.get_attribute("[data-testid=srm]", "data-mismatch") == "false"
    assert "flagged below 0.001" in p.inner_text("[data-testid=srm]")  # the SRM threshold is said, not implied
    heads = p.locator("[data-testid=exp-results] thead th").all_inner_texts()
    assert "mean (raw)" in heads and "mean (CUPED-adjusted)" in heads
    raw, adjusted = heads.index("mean (raw)"), heads.index("mean (CUPED-adjusted)")
    rows = p.locator("[data-testid=exp-results] tbody tr")
    assert rows.count() == len(report["results"]) and report["cuped_metrics"] == ["purchase_conversion"]
    for i, result in enumerate(report["results"]):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells[2] == f"{result['n']:,}" and cells[1] == result["variant"]
        assert cells[raw] == f"{result['mean']:.2%}"
        assert cells[adjusted] == ("not adj." if result["adjusted_mean"] is None else f"{result['adjusted_mean']:.2%}")
    test_row = next(r for r in report["results"] if r["metric"] == "purchase_conversion" and r["variant"] == "test")
    assert test_row["adjusted_mean"] != test_row["mean"]  # the demo's pre-period days do adjust it
    assert "not adjusted" in p.inner_text("[data-testid=cuped-note]").lower()
    assert p.locator("svg[aria-label='lifts with intervals']").count() == 2  # the report and the close-out
    tab.shot("experiment-result")


def test_shopper_view_opens_on_a_test_arm_shopper_with_test_and_control_side_by_side(tab, live):
    sug = httpx.get(f"{live.url}/v1/shoppers/suggestions", params={"as_of": AS_OF}).json()
    tab.open("shopper")
    p = tab.page
    p.wait_for_selector("[data-testid=compare] [data-testid=arm-control] [data-testid=store-page]")
    first = next(s for s in sug["shoppers"] if s["arm"] == "test")
    assert p.input_value("[data-testid=shopper-id]") == first["user_id"]  # opens on a personalized shopper
    arms = {b.get_attribute("data-arm") for b in p.locator("[data-testid=suggestions] button.suggestion").all()}
    assert arms == {"test", "control"}  # suggestions from each arm …
    shown = {b.get_attribute("data-audience") for b in p.locator("[data-testid=suggestions] button.suggestion").all()}
    assert {"nivea_old_active", "nivea_new_cleanser", "nivea_new_cream"} <= shown  # … and each audience
    assert tab.value("shopper-arm") == "test"
    test_col, control_col = "[data-testid=arm-personalized]", "[data-testid=arm-control]"
    assert p.get_attribute(f"{test_col} [data-testid=store-page]", "data-personalized") == "true"
    assert p.get_attribute(f"{control_col} [data-testid=store-page]", "data-personalized") == "false"
    why = p.locator(f"{test_col} [data-testid=page-reasons]")
    audience = why.get_attribute("data-audience")
    assert audience in first["audiences"] and why.get_attribute("data-experience") == audience and why.get_attribute("data-arm") == "test"
    text = why.inner_text()
    assert audience in text and f"the page of audience {audience}" in text and "personalized (test)" in text
    assert "from no history" not in text and "from history" in text  # the shopper has events: the need comes from them
    control_why = p.inner_text(f"{control_col} [data-testid=page-reasons]")
    assert f"does not see {audience}'s page" in control_why and "would repeat 'Popular right now'" in control_why
    for greeting in p.locator("[data-testid=page-greeting]").all_inner_texts():
        assert "there" not in greeting
    titles = p.locator(f"{control_col} [data-testid=page-rail]").evaluate_all("els => els.map(e => e.dataset.title)")
    assert titles == ["Popular right now"]  # "Picked for you" would repeat it on a page that is not personalized
    assert p.locator(f"{test_col} [data-testid=page-rail] .item .why").count() > 0  # every product carries its reason
    assert "category " in p.inner_text(f"{test_col} [data-testid=page-rail]")  # no name in the slice: said plainly
    tab.shot("shopper")
    p.click("[data-testid=preview-tabs] >> text=as default")
    p.wait_for_function("document.querySelectorAll('[data-testid=store-page]').length === 1", timeout=15_000)
    tab.settle()
    assert "default" in p.inner_text("[data-testid=page-reasons]")
    tab.shot("shopper-as-default")


def test_sign_in_with_an_api_key(browser, demo_file, tmp_path):
    from qianmian.api import keys

    app = make_app(demo_file, tmp_path, auth=True)
    with LiveServer(app) as server:
        svc = app.state.services
        secret, key = keys.create_key(svc.store, ["read"], name="browser", now=dt.datetime(2017, 12, 4))
        svc.keyring.add(keys.hash_key(secret), key)
        t = new_tab(browser, server.url)
        try:
            t.page.goto(f"{server.url}/console/#/overview")
            t.page.wait_for_selector("form.signin")
            t.page.fill("input[type=password]", "qm_not_a_key")
            t.page.click("form.signin button")
            t.page.wait_for_selector("form.signin .error")
            t.page.fill("input[type=password]", secret)
            t.page.click("form.signin button")
            t.page.wait_for_selector("[data-testid=aipl-A]")
            assert re.search(rf"signed in · key {key.key_id} · read", t.page.inner_text("[data-testid=auth-badge]"))
            t.open("audiences")
            assert t.page.is_disabled("[data-testid=aud-save]")  # read scope: look, not change
            t.shot("signed-in-read-key")
        finally:
            t.page.context.close()
        assert t.outside == [] and t.errors == []
