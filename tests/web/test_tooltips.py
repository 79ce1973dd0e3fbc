"""Every rate the console shows carries its glossary formula as a tooltip (GET /v1/glossary)."""

from __future__ import annotations

import pytest

from qianmian.metrics.glossary import term

from .test_console_browser import browser, new_tab  # noqa: F401  (fixtures and the guarded tab)

pytestmark = pytest.mark.browser


def _title(tab, selector: str) -> str:
    tab.page.wait_for_selector(selector)
    return tab.page.get_attribute(selector, "title") or ""


def test_rates_show_their_formula(browser, live):  # noqa: F811
    tab = new_tab(browser, live.url)
    try:
        tab.open("overview")
        assert term("visitor_conversion").formula in _title(tab, "[data-testid=rate-visitor_conversion]")
        assert term("overall_rate").formula in _title(tab, "[data-testid=funnel-note]")
        assert term("deepening_rate").formula in _title(tab, "[data-testid=fast-A]")
        tab.open("gta")
        assert term("conversion").formula in _title(tab, "[data-testid=gta-table] th[title*='stage conversion']")
        assert tab.outside == [] and tab.errors == []
    finally:
        tab.page.context.close()
