"""`GET /v1/glossary` serves the glossary the console's tooltips read."""

from __future__ import annotations

from qianmian.metrics.glossary import TERMS


def test_glossary_endpoint_lists_every_term_with_its_formula(client):
    r = client.get("/v1/glossary")
    assert r.status_code == 200
    by_name = {t["name"]: t for t in r.json()}
    assert set(by_name) == set(TERMS)
    assert by_name["browse_conversion"]["formula"] == "consumers who viewed and bought ÷ consumers who viewed"
    assert by_name["visitor_conversion"]["unit"] == "share"
