"""The console's CLV card in headless Chromium on the demo slice: the CLI's numbers, and a working
link to the guide (docs/clv.md)."""

from __future__ import annotations

import httpx
import pytest

from .conftest import AS_OF, cli_json
from .test_console_browser import browser, tab  # noqa: F401  (fixtures; `live` comes from conftest)

pytestmark = pytest.mark.browser


def test_clv_card_shows_the_cli_numbers_and_links_to_the_guide(tab, live, demo_file):  # noqa: F811
    tab.open("overview")
    tab.page.wait_for_selector("[data-testid=clv-buyers]")
    report = cli_json(demo_file, "report", "clv", "--calibration-end", AS_OF)
    f = report["forecast"]
    assert int(tab.page.get_attribute("[data-testid=clv-buyers]", "data-value")) == f["consumers"] > 0
    assert int(tab.page.get_attribute("[data-testid=clv-at-risk]", "data-value")) == f["p_alive_below_0_3"]
    shown = float(tab.page.get_attribute("[data-testid=clv-purchases]", "data-value"))
    assert shown == pytest.approx(f["expected_purchases"], rel=1e-9)
    assert "no amounts" in tab.page.inner_text("#card-clv")  # the demo's buys carry no prices: no CLV, said so
    assert "extrapolates" in tab.page.inner_text("[data-testid=clv-note]")  # 9 days of data, a 90-day forecast
    href = tab.page.get_attribute("[data-testid=clv-guide]", "href")
    assert href == "/guide/clv"
    page = httpx.get(live.url + href)
    assert page.status_code == 200 and page.text.startswith("# Customer lifetime value")
    tab.shot("overview-clv")
