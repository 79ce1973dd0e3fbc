"""The standard BG/NBD check: mean holdout purchases per calibration-frequency bucket, actual vs model."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure

from qianmian.charts import STAGE_COLORS, TOTAL


def holdout_chart(buckets: Sequence[Mapping], *, title: str = "Calibration vs holdout") -> Figure:
    """Two lines over the buckets (0, 1, …, 7+): actual and predicted mean purchases in the holdout."""
    labels = [str(b["frequency"]) for b in buckets]
    xs = range(len(labels))
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    ax.plot(xs, [b["actual_mean"] for b in buckets], marker="o", color=TOTAL, label="actual")
    ax.plot(xs, [b["predicted_mean"] for b in buckets], marker="s", linestyle="--", color=STAGE_COLORS["P"], label="BG/NBD")
    ax.set_xticks(list(xs), labels)
    ax.set_xlabel("repeat purchases in the calibration window")
    ax.set_ylabel("mean purchases in the holdout window")
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    return fig
