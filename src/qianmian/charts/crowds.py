"""Strategy-crowd charts: crowd sizes and a crowd × category TGI heatmap (from `CrowdResult.to_dict()`)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.colors import TwoSlopeNorm
from matplotlib.figure import Figure


def crowd_chart(result: Mapping, *, title: str = "Strategy crowds") -> Figure:
    """Left: consumers per crowd. Right: every crowd's TGI for the crowds' top categories (100 = all clustered)."""
    crowds = list(result["crowds"])
    cats = list(dict.fromkeys(t["category"] for c in crowds for t in c["top_categories"]))
    columns = [list(result["categories"]).index(c) for c in cats]
    grid = np.asarray(result["crowd_tgi"], dtype=float)[:, columns] if cats else np.zeros((len(crowds), 0))
    fig = Figure(figsize=(6 + 0.45 * len(cats), 1.2 + 0.6 * len(crowds)))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, max(1.5, 0.25 * len(cats))]})
    names = [f"{c['crowd']}. {c['name']}" for c in crowds]
    left.barh(range(len(crowds)), [c["size"] for c in crowds], color="#4292c6")
    left.set_yticks(range(len(crowds)), names, fontsize=8)
    left.invert_yaxis()
    left.set_xlabel("consumers")
    top = max(200.0, float(np.nanmax(grid)) if grid.size else 200.0)
    image = right.imshow(grid, cmap="RdBu_r", norm=TwoSlopeNorm(vmin=0.0, vcenter=100.0, vmax=top), aspect="auto")
    right.set_xticks(range(len(cats)), cats, rotation=60, ha="right", fontsize=7)
    right.set_yticks([])
    fig.colorbar(image, ax=right, label="TGI")
    fig.suptitle(title)
    fig.tight_layout()
    return fig
