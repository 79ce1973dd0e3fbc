"""A calibration end after the last buy is said, with the last buy's day (QA pass)."""

from __future__ import annotations

from qianmian.clv import clv_report


def test_calibration_end_after_the_last_buy_is_noted(cdnow_sample) -> None:
    late = clv_report(cdnow_sample, calibration_end="1999-06-30")
    assert late.holdout is None
    assert late.notes[0].startswith("the calibration end 1999-06-30 is 365 days after the last buy 1998-06-30")
    on_time = clv_report(cdnow_sample, calibration_end="1997-09-30")
    assert not any("after the last buy" in n for n in on_time.notes)


def test_export_clv_names_as_of_and_warns_past_the_data(cdnow_sample, tmp_path) -> None:
    from typer.testing import CliRunner

    from qianmian.cli import app

    out = tmp_path / "clv.csv"
    early = CliRunner().invoke(app, ["export", "clv", "--as-of", "1996-01-01", "--out", str(out), "--store", cdnow_sample.url])
    assert early.exit_code == 2 and "error: as_of: expected a day after consumers' purchases" in " ".join(early.output.split())
    late = CliRunner().invoke(app, ["export", "clv", "--as-of", "1999-06-30", "--out", str(out), "--store", cdnow_sample.url])
    assert late.exit_code == 0, late.output
    assert "warning: --as-of 1999-06-30 is after the data's last day, 1998-06-30" in " ".join(late.output.split())
    assert len(out.read_text().splitlines()) == 2357 + 1  # still written: a warning, not a refusal


def test_no_holdout_and_a_bad_holdout_are_each_said(cdnow_sample) -> None:
    """Calibrated on every buy there is nothing to check against; calibrated to 1998-03-31 the model
    expects 625 repeat purchase days in the last quarter and 495 are seen: both get a note."""
    last = clv_report(cdnow_sample, calibration_end="1998-06-30")
    assert last.holdout is None and any(n.startswith("no holdout check: there are no buys after") for n in last.notes)
    late = clv_report(cdnow_sample, calibration_end="1998-03-31")
    error = late.holdout.predicted_total / late.holdout.actual_total - 1
    assert error > 0.2 and any(n.startswith("the holdout check over-forecasts") for n in late.notes)
    published = clv_report(cdnow_sample, calibration_end="1997-09-30")  # the paper's split: within 20%, no note
    assert abs(published.holdout.predicted_total / published.holdout.actual_total - 1) <= 0.2
    assert not any("holdout" in n for n in published.notes)
