"""Charts for reports: AIPL funnel, flow Sankey, GROW waterfall, TGI bars, plain bars.

Each function takes a report's JSON-friendly data and returns a matplotlib `Figure` (no pyplot
state, safe in a server). `save(fig, path)` writes a PNG, or a self-contained HTML page with the
chart inlined as SVG (no external assets). Used by the CLI and the API only; domain code never
imports this package.
"""

from __future__ import annotations

import html
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path as MPath
from matplotlib.ticker import FuncFormatter

from qianmian.errors import InputError

STAGE_COLORS = {"none": "#b0b0b0", "A": "#9ecae1", "I": "#4292c6", "P": "#2171b5", "L": "#08306b"}
POS, NEG, TOTAL = "#2ca25f", "#de2d26", "#636363"


def funnel_chart(labels: Sequence[str], values: Sequence[float], *, title: str, share_of: str = "first") -> Figure:
    """Centred horizontal bars, each labelled with its value and its share of the first bar
    (`share_of="first"`, a funnel's overall rate) or of the total (`"total"`, e.g. AIPL stages)."""
    fig = Figure(figsize=(7, 0.8 + 0.7 * len(labels)))
    ax = fig.add_subplot()
    top = max(max(values, default=0), 1)
    for i, (label, v) in enumerate(zip(labels, values)):
        y = len(labels) - 1 - i
        color = list(STAGE_COLORS.values())[1 + i % 4]
        ax.barh(y, v, left=(top - v) / 2, color=color, height=0.8)
        base = values[0] if share_of == "first" else sum(values)
        share = f" ({v / base:.1%})" if values and base else ""
        text = f"{label}: {v:,.0f}{share}"
        ax.text(top / 2, y, text, ha="center", va="center", color=_text_color(color, v / top, len(text)))
    ax.set_xlim(0, top)
    ax.set_axis_off()
    ax.set_title(title)
    return fig


def _text_color(bar: str, width: float, chars: int) -> str:
    """White on a dark bar wide enough to hold the label; else near-black (a label on an empty or
    narrow bar sits on the white page: "I: 0" must stay readable)."""
    r, g, b = (int(bar[k:k + 2], 16) / 255 for k in (1, 3, 5))
    dark = 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5
    holds = width >= min(0.95, 0.025 * chars + 0.05)
    return "white" if dark and holds else "#1a1a1a"


def money_axis(ax: Any, currency: str, *, axis: str = "y") -> None:
    """Tick labels as "1.2M" / "350k" (no bare "1e6" offset) and the axis named with the currency."""
    fmt = FuncFormatter(lambda v, _pos: _short(v))
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(fmt)
    (ax.set_ylabel if axis == "y" else ax.set_xlabel)(f"GMV ({currency})" if currency else "GMV")


def _short(v: float) -> str:
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= size:
            return f"{v / size:,.3g}{suffix}"
    return f"{v:,.0f}"


def aipl_funnel(counts: Mapping[str, int], *, title: str = "AIPL") -> Figure:
    """The AIPL counts as a funnel A → I → P → L."""
    stages = [s for s in ("A", "I", "P", "L") if s in counts]
    return funnel_chart(stages, [counts[s] for s in stages], title=title, share_of="total")


def flow_sankey(links: Sequence[Mapping], *, title: str = "AIPL flow") -> Figure:
    """Two columns of stage nodes (start, end) joined by bands as wide as the consumer counts."""
    order = ["none", "A", "I", "P", "L"]
    total = sum(link["consumers"] for link in links) or 1
    gap = 0.02 * total
    left = _node_spans({s: sum(link["consumers"] for link in links if link["from"] == s) for s in order}, gap)
    right = _node_spans({s: sum(link["consumers"] for link in links if link["to"] == s) for s in order}, gap)
    fig = Figure(figsize=(8, 6))
    ax = fig.add_subplot()
    used_l, used_r = {s: 0.0 for s in order}, {s: 0.0 for s in order}
    for link in sorted(links, key=lambda link: (order.index(link["from"]), order.index(link["to"]))):
        a, b, n = link["from"], link["to"], link["consumers"]
        y0, y1 = left[a][0] + used_l[a], right[b][0] + used_r[b]
        used_l[a] += n
        used_r[b] += n
        ax.add_patch(_band(0.1, y0, 0.9, y1, n, STAGE_COLORS.get(a, TOTAL)))
    for x, spans, side in ((0.0, left, "start"), (0.9, right, "end")):
        for s, (lo, size) in spans.items():
            if size:
                ax.add_patch(Rectangle((x, lo), 0.1, size, color=STAGE_COLORS.get(s, TOTAL)))
                ax.text(x - 0.02 if side == "start" else x + 0.12, lo + size / 2, f"{s} {size:,.0f}",
                        ha="right" if side == "start" else "left", va="center")
    ax.set_xlim(-0.25, 1.25)
    ax.set_ylim(0, total + gap * len(order))
    ax.invert_yaxis()
    ax.set_axis_off()
    ax.set_title(title)
    return fig


def _node_spans(sizes: Mapping[str, float], gap: float) -> dict[str, tuple[float, float]]:
    spans, y = {}, 0.0
    for s, size in sizes.items():
        spans[s] = (y, size)
        y += size + (gap if size else 0)
    return spans


def _band(x0: float, y0: float, x1: float, y1: float, width: float, color: str) -> PathPatch:
    mid = (x0 + x1) / 2
    verts = [(x0, y0), (mid, y0), (mid, y1), (x1, y1), (x1, y1 + width), (mid, y1 + width), (mid, y0 + width),
             (x0, y0 + width), (x0, y0)]
    codes = [MPath.MOVETO, MPath.CURVE4, MPath.CURVE4, MPath.CURVE4, MPath.LINETO, MPath.CURVE4, MPath.CURVE4,
             MPath.CURVE4, MPath.CLOSEPOLY]
    return PathPatch(MPath(verts, codes), facecolor=color, alpha=0.45, edgecolor="none")


def grow_waterfall(result: Mapping, *, title: str = "GROW", currency: str = "") -> Figure:
    """Base GMV, then Gain, Retain, bOost and Widen as steps, then current GMV (axis in `currency`)."""
    steps = [("Gain", result["gain"]), ("Retain", result["retain"]), ("bOost", result["boost"]), ("Widen", result["widen"])]
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    ax.bar(0, result["gmv_base"], color=TOTAL)
    level = result["gmv_base"]
    for i, (_, v) in enumerate(steps, 1):
        ax.bar(i, v, bottom=level if v >= 0 else level + v, color=POS if v >= 0 else NEG)
        ax.text(i, level + max(v, 0), ("+" if v >= 0 else "-") + _short(abs(v)), ha="center", va="bottom", fontsize=8)
        level += v
    ax.bar(len(steps) + 1, result["gmv_current"], color=TOTAL)
    ax.set_xticks(range(len(steps) + 2), [f"base\n{result['base']}", *[s for s, _ in steps], f"current\n{result['current']}"],
                  fontsize=8)
    money_axis(ax, currency)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def tgi_bars(rows: Sequence[Mapping], *, title: str = "TGI", limit: int = 20) -> Figure:
    """Horizontal TGI bars around 100; small groups are drawn hatched."""
    rows = [r for r in rows if r.get("tgi") is not None][:limit]
    fig = Figure(figsize=(7, 0.8 + 0.35 * max(len(rows), 1)))
    ax = fig.add_subplot()
    for i, r in enumerate(reversed(rows)):
        ax.barh(i, r["tgi"] - 100, left=100, color=POS if r["tgi"] >= 100 else NEG, hatch="//" if r.get("small") else None)
    ax.set_yticks(range(len(rows)), [str(r["value"]) for r in reversed(rows)], fontsize=8)
    ax.axvline(100, color="black", linewidth=0.8)
    ax.set_xlabel("TGI (100 = reference)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def bars(labels: Sequence[str], values: Sequence[float], *, title: str, ylabel: str = "") -> Figure:
    """Plain vertical bars (lifecycle states, RFM cells, …)."""
    fig = Figure(figsize=(max(5, 0.8 * len(labels)), 4))
    ax = fig.add_subplot()
    ax.bar(range(len(labels)), values, color=STAGE_COLORS["I"])
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def save(fig: Figure, path: str | Path, *, title: str | None = None) -> Path:
    """Write `fig` as PNG (`.png`) or as a self-contained HTML page with an inline SVG (`.html`)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix == ".png":
        fig.savefig(p, dpi=120, bbox_inches="tight")
    elif suffix in (".html", ".htm"):
        p.write_text(to_html(fig, title=title or p.stem), encoding="utf-8")
    else:
        raise InputError("chart", "a file ending in .png or .html", str(path))
    return p


def to_svg(fig: Figure) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def to_html(fig: Figure, *, title: str) -> str:
    """One HTML document, no external resources."""
    t = html.escape(title)
    return (
        f"<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>"
        "<style>body{font-family:sans-serif;margin:2em}svg{max-width:100%;height:auto}</style></head>"
        f"<body><h1>{t}</h1>\n{to_svg(fig)}\n</body></html>\n"
    )
