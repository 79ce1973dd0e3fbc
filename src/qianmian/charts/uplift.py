"""The Qini chart of an uplift fit: incremental outcome per consumer against the share targeted,
one line per targeting (uplift model, RFM score, random) and the random-targeting diagonal.

Used by `qianmian uplift fit --chart` and the API; the uplift package never imports it.
"""

from __future__ import annotations

from collections.abc import Mapping

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from qianmian.charts import NEG, POS, TOTAL

COLORS = {"uplift model": POS, "RFM score": "#2171b5", "random": TOTAL}


def qini_chart(curves: Mapping[str, Mapping[str, list[float]]], qini: Mapping[str, Mapping[str, float]], *, title: str) -> Figure:
    """`curves[name] = {"share": [...], "gain": [...]}` (from `UpliftResult.curves`); `qini[name]`
    gives each legend its coefficient and interval."""
    fig = Figure(figsize=(7.5, 5))
    ax = fig.add_subplot()
    end = 0.0
    for name, curve in curves.items():
        q = qini.get(name, {})
        label = f"{name}: Qini {q['estimate']:.4f} [{q['low']:.4f}, {q['high']:.4f}]" if q else name
        ax.plot(curve["share"], curve["gain"], color=COLORS.get(name, NEG), linewidth=2 if name != "random" else 1, label=label)
        end = curve["gain"][-1]
    ax.plot([0, 1], [0, end], color="black", linestyle="--", linewidth=1, label="random targeting (expected)")
    ax.xaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xlabel("share of consumers targeted, highest score first")
    ax.set_ylabel("incremental outcome per consumer")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower right")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig
