"""The per-buyer summary is one Ibis expression: the same table on DuckDB and on Spark, so the same fit."""

from __future__ import annotations

import pandas as pd
import pytest

from qianmian.clv import clv_report
from qianmian.clv.scores import collect_summary

COLUMNS = ("event_id", "user_id", "behavior", "ts", "quantity", "amount")


def test_summary_and_fit_on_each_engine(store, cdnow_sample) -> None:
    events = cdnow_sample.table("events").select(*COLUMNS)
    store.append("events", cdnow_sample.to_pyarrow(events).combine_chunks(), dedupe=False)
    got = collect_summary(store, calibration_end="1997-09-30")
    want = collect_summary(cdnow_sample, calibration_end="1997-09-30")
    pd.testing.assert_frame_equal(got[["user_id", "frequency", "recency", "T"]], want[["user_id", "frequency", "recency", "T"]],
                                  check_dtype=False)
    assert got.monetary.fillna(-1).to_numpy() == pytest.approx(want.monetary.fillna(-1).to_numpy(), rel=1e-12)
    r = clv_report(store, calibration_end="1997-09-30")
    assert round(r.model.bgnbd.r, 3) == 0.243 and round(r.model.bgnbd.b, 3) == 2.426
    assert r.holdout is not None and r.holdout.actual_total == 1882
