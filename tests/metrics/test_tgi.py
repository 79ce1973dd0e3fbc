"""TGI: a worked example checked by hand, on DuckDB and Spark, plus a users-column dimension."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from qianmian.errors import InputError
from qianmian.metrics.tgi import tgi, tgi_report

from .helpers import events_frame

# Reference: u0 … u9 (10 users); target: u0 … u3 (4 users).
#   toys:  u0 u1 u2 | u5          target 3/4 = 0.75, reference 4/10 = 0.40 → TGI 187.5
#   books: u3       | u4 u5 u6 u7 target 1/4 = 0.25, reference 5/10 = 0.50 → TGI  50
#   food:           | u8          target 0/4 = 0,    reference 1/10 = 0.10 → TGI   0
# u9 has no event: it still counts in the reference's denominator.
ROWS = [(u, "view", "2024-01-01 10:00", c) for c, users in
        {"toys": "0125", "books": "34567", "food": "8"}.items() for u in (f"u{i}" for i in users)]


@pytest.fixture(scope="module")
def _filled(module_store):
    module_store.append("events", events_frame(ROWS, ("user_id", "behavior", "ts", "category_id")))
    module_store.append("users", pd.DataFrame({"user_id": [f"u{i}" for i in range(10)],
                                               "city": ["Hangzhou"] * 3 + ["Shanghai"] * 7}))
    return module_store


@pytest.fixture
def worked(_filled):
    return _filled


def _audiences():
    target = ibis.memtable({"user_id": ["u0", "u1", "u2", "u3", "u3"]})  # duplicates are ignored
    reference = ibis.memtable({"user_id": [f"u{i}" for i in range(10)]})
    return target, reference


def test_worked_example(worked):
    target, reference = _audiences()
    expr = tgi(target, reference, worked.table("events"), by="category_id", min_count=2)
    got = worked.execute(expr).set_index("value")
    assert got.tgi.to_dict() == pytest.approx({"toys": 187.5, "books": 50.0, "food": 0.0})
    assert got.target_count.to_dict() == {"toys": 3, "books": 1, "food": 0}
    assert got.reference_share.to_dict() == pytest.approx({"toys": 0.4, "books": 0.5, "food": 0.1})
    assert got.small.to_dict() == {"toys": False, "books": True, "food": True}


def test_users_column_and_report_order(worked):
    target, reference = _audiences()
    report = tgi_report(worked, target=target, reference=reference, by="city", min_count=1)
    # Hangzhou: target 3/4 vs reference 3/10 → 250; Shanghai: 1/4 vs 7/10 → 35.71…
    assert [r["value"] for r in report.rows] == ["Hangzhou", "Shanghai"]
    assert report.rows[0]["tgi"] == pytest.approx(250.0)
    assert report.rows[1]["tgi"] == pytest.approx(100 * 0.25 / 0.7)
    assert (report.target_size, report.reference_size) == (4, 10)


def test_unknown_dimension_is_an_input_error(worked):
    target, reference = _audiences()
    with pytest.raises(InputError, match="by"):
        tgi(target, reference, worked.table("events"), by="horoscope")
