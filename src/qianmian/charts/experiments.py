"""Experiment charts: relative lifts with their confidence intervals (a forest plot).

Used by the CLI (`experiment report --chart`, `experiment analyze --chart`, `closeout --chart`)
and the API; the experiments package never imports it. Save with `qianmian.charts.save`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from qianmian.charts import NEG, POS, TOTAL


def lift_chart(rows: Sequence[Mapping], *, title: str, level: float = 0.95) -> Figure:
    """One line per row: the relative lift as a dot, its interval as a bar, 0 as a dashed line.

    Rows need `label`, `lift_rel`, `ci_low`, `ci_high`, and may carry `significant` and
    `higher_is_better` (green = a significant good result, red = significant bad, grey = neither).
    """
    fig = Figure(figsize=(8, 1.2 + 0.45 * max(len(rows), 1)))
    ax = fig.add_subplot()
    for i, r in enumerate(rows):
        y = len(rows) - 1 - i
        color = _color(r)
        lo, hi, mid = float(r["ci_low"]), float(r["ci_high"]), float(r["lift_rel"])
        ax.plot([lo, hi], [y, y], color=color, linewidth=2.5, solid_capstyle="butt")
        ax.plot([mid], [y], "o", color=color, markersize=7)
        ax.annotate(f"{mid:+.1%}  [{lo:+.1%}, {hi:+.1%}]", (hi, y), xytext=(6, 0), textcoords="offset points", va="center", fontsize=8)
    ax.axvline(0, color="black", linestyle="--", linewidth=1)
    ax.set_yticks(range(len(rows)), [str(r["label"]) for r in reversed(rows)])
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel(f"relative lift vs control ({level:.0%} CI)")
    ax.set_title(title)
    ax.margins(x=0.25)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig


def _color(r: Mapping) -> str:
    if not r.get("significant"):
        return TOTAL
    good = (float(r["lift_rel"]) > 0) == bool(r.get("higher_is_better", True))
    return POS if good else NEG


def report_lift_rows(results: Sequence[Mapping], *, alpha: float = 0.05) -> list[dict]:
    """Chart rows from `reports.result_rows(...)` output (treatment rows without an error)."""
    rows = []
    for r in results:
        if r.get("lift_rel") is None or r.get("error") or r["lift_rel"] != r["lift_rel"]:
            continue
        p = r.get("p_adjusted")
        p = r["p_value"] if p is None or p != p else p
        rows.append({"label": f"{r['metric']} ({r['variant']})", "lift_rel": r["lift_rel"], "ci_low": r["ci_low"],
                     "ci_high": r["ci_high"], "significant": p < alpha, "higher_is_better": r.get("higher_is_better", True)})
    return rows
