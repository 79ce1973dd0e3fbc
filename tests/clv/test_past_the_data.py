"""A calibration end after the last buy is said, with the last buy's day (QA pass)."""

from __future__ import annotations

from qianmian.clv import clv_report


def test_calibration_end_after_the_last_buy_is_noted(cdnow_sample) -> None:
    late = clv_report(cdnow_sample, calibration_end="1999-06-30")
    assert late.holdout is None
    assert late.notes[0].startswith("the calibration end 1999-06-30 is 365 days after the last buy 1998-06-30")
    on_time = clv_report(cdnow_sample, calibration_end="1997-09-30")
    assert not any("after the last buy" in n for n in on_time.notes)
