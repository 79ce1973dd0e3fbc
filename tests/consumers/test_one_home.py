"""One definition each: searching the source finds the behaviour weights, the tag reading rule and
the consent query in `qianmian.consumers` only (R2's protocol weights are the one named exception)."""

from __future__ import annotations

import re
from pathlib import Path

import qianmian

SRC = Path(qianmian.__file__).parent


def _files_matching(pattern: str) -> set[str]:
    rx = re.compile(pattern)
    return {str(p.relative_to(SRC)) for p in SRC.rglob("*.py") if rx.search(p.read_text(encoding="utf-8"))}


def test_the_behaviour_weight_table_has_one_home():
    # a literal weight for fav (2) or cart (3), as a mapping entry or a field default
    table = r"""["']fav["']\s*:\s*2(\.0)?\b|["']cart["']\s*:\s*3(\.0)?\b|\bfav\s*(:\s*float\s*)?=\s*2(\.0)?\b"""
    assert _files_matching(table) == {
        "consumers/weights.py",
        "recommend/evaluate/data.py",  # R2_BEHAVIOR_WEIGHTS: protocol R2's own published definition, on raw "pv" codes
    }


def test_the_tag_reading_rule_has_one_home():
    # the rule reads the log's `active` column and ranks records per (user, tag)
    assert _files_matching(r"\.active\.fill_null|\bactive\b.*row_number|row_number.*\btag\b") == {"consumers/tags.py"}
    readers = _files_matching(r"""table\(\s*["']user_tags["']\s*\)""")
    assert readers - {"consumers/tags.py"} == {f for f in readers if "active_tags_table" in (SRC / f).read_text()} - {"consumers/tags.py"}


def test_the_consent_query_has_one_home():
    assert _files_matching(r"consent\s*==|consent\.(eq|fill_null|isin)\(|\[\s*[\"']consent[\"']\s*\]\s*\.\s*eq") == {
        "consumers/consent.py"
    }
