"""`qianmian report …`: consumer-asset reports as tables, JSON (`--json`) or charts (`--chart`)."""

from __future__ import annotations

import datetime as dt
import json as jsonlib
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from qianmian.cli.common import (
    JsonOption,
    StoreOption,
    console,
    currency,
    err_console,
    errors_to_exit,
    fmt,
    open_store,
    print_json,
    print_table,
    warn_past_data,
    working,
)
from qianmian.dates import Period, to_date
from qianmian.errors import InputError

app = typer.Typer(help="Consumer-asset reports: AIPL, flow, FAST, GROW, GTA, TGI, funnel, lifecycle, RFM, association, CLV.",
                  no_args_is_help=True)

ChartOption = typer.Option(None, "--chart", help="Also draw a chart: FILE.png or FILE.html (inline SVG)")
AsOfOption = typer.Option(..., "--as-of", help="Date (YYYY-MM-DD), included to the end of the day")
BrandOption = typer.Option(None, "--brand", help="Only this brand_id")
CategoryOption = typer.Option(None, "--category", help="Only this category_id")
PeriodOption = typer.Option(None, "--period", help="START..END (both days included)")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="report")


def _run(what: str, quiet: bool, store_url: str | None, build: Callable[[Any], Any], *, as_of: Any = None,
         flag: str = "--as-of") -> Any:
    """Open the store, warn (stderr) when `as_of` is past the data's last day, and build the report."""
    with errors_to_exit():
        store = open_store(store_url)
        warn_past_data(store, as_of, flag)
    with errors_to_exit(), working(what, quiet):
        return build(store)


def _ceil(v: float | None) -> float | None:
    """People needed to reach a goal: a whole number, rounded up (561.6 buyers → 562)."""
    return None if v is None or v != v else float(math.ceil(v - 1e-9))


def _legend(names: tuple[str, ...]) -> None:
    """The formula of each rate shown, from the glossary (one definition per number)."""
    from qianmian.metrics.glossary import term

    for n in names:
        t = term(n)
        console.print(f"[dim]{n} = {t.formula}[/dim]", highlight=False)


def _chart(path: Path | None, make: Callable[[], Any], title: str) -> None:
    if path is None:
        return
    from qianmian import charts

    with errors_to_exit():
        charts.save(make(), path, title=title)
    err_console.print(f"chart written to {path}", highlight=False)


def _period(text: str | None, field: str) -> Period | None:
    if text is None:
        return None
    with errors_to_exit():
        return Period.parse(text, field)


def _required_period(text: str | None, field: str) -> Period:
    p = _period(text, field)
    if p is None:
        raise typer.BadParameter("START..END is required", param_hint=f"--{field}")
    return p


# -- AIPL, flow, FAST -----------------------------------------------------------------------------
@app.command()
def aipl(
    as_of: str = AsOfOption, brand: str | None = BrandOption, category: str | None = CategoryOption,
    consumers: Path | None = typer.Option(None, "--consumers", help="Also write the per-consumer stages (CSV)"),
    chart: Path | None = ChartOption, store: str | None = StoreOption, json: bool = JsonOption,
) -> None:
    """AIPL counts and shares per stage as of a date (default rules)."""
    from qianmian.metrics.aipl import aipl_report, store_stages

    def build(s: Any) -> Any:
        if consumers is not None:
            s.execute(store_stages(s, as_of=as_of, brand=brand, category=category)).to_csv(consumers, index=False)
        return aipl_report(s, as_of=as_of, brand=brand, category=category)

    r = _run("AIPL", json, store, build, as_of=as_of)
    _chart(chart, lambda: _charts().aipl_funnel(r.counts, title=f"AIPL as of {r.as_of}"), "AIPL")
    if json:
        return print_json(r.to_dict())
    print_table(f"AIPL as of {r.as_of}", [{"stage": s, "consumers": n, "share": r.shares[s]} for s, n in r.counts.items()])
    console.print(f"total {r.total:,} consumers holding a stage" + ("" if r.total else " (shares need at least one)"))


@app.command()
def flow(
    start: str = typer.Option(..., "--start", help="From date (YYYY-MM-DD)"), end: str = typer.Option(..., "--end", help="To date"),
    brand: str | None = BrandOption, category: str | None = CategoryOption,
    chart: Path | None = ChartOption, store: str | None = StoreOption, json: bool = JsonOption,
) -> None:
    """AIPL flow between two dates: the transition matrix with counts and rates."""
    from qianmian.metrics.flow import flow_report

    r = _run("AIPL flow", json, store, lambda s: flow_report(s, start=start, end=end, brand=brand, category=category),
             as_of=end, flag="--end")
    _chart(chart, lambda: _charts().flow_sankey(r.links(), title=f"AIPL flow {r.start} → {r.end}"), "AIPL flow")
    if json:
        return print_json(r.to_dict())
    rows = [{"from \\ to": a, **row} for a, row in r.counts.items()]
    print_table(f"AIPL flow {r.start} → {r.end} (consumers)", rows, units={k: "count" for k in (rows[0] if rows else {}) if k != "from \\ to"})
    console.print(f"up {r.up:,} · down {r.down:,} · stayed {r.stayed:,} · churned {r.churned:,} · new {r.new:,}")


@app.command()
def fast(
    as_of: str = AsOfOption, since: str = typer.Option(..., "--since", help="Start date of the deepening rate (A)"),
    members: str = typer.Option("auto", "--members", help="S: auto, members or high_value"),
    active_days: int = typer.Option(180, "--active-days", help="T: window for an active member"),
    brand: str | None = BrandOption, category: str | None = CategoryOption,
    store: str | None = StoreOption, json: bool = JsonOption,
) -> None:
    """FAST: F = AIPL total, A = deepening rate, S = members (or high value), T = active member rate."""
    from qianmian.metrics.fast import FASTRules, fast_report

    def build(s: Any) -> Any:
        return fast_report(s, as_of=as_of, since=since, rules=FASTRules(members=members, active_days=active_days),
                           brand=brand, category=category)

    r = _run("FAST", json, store, build, as_of=as_of)
    if json:
        return print_json(r.to_dict())
    print_table(f"FAST as of {r.as_of} (A since {r.since})", [
        {"index": "F", "value": fmt(r.F, "count"), "meaning": "consumers holding an AIPL stage"},
        {"index": "A", "value": fmt(r.A, "share"), "meaning": f"deepening rate ({r.rose:,} of {r.could_rise:,} rose)"},
        {"index": "S", "value": fmt(r.S, "count"), "meaning": f"{r.s_rule.replace('_', '-')} consumers"},
        {"index": "T", "value": fmt(r.T, "share"), "meaning": f"active rate ({fmt(r.active_members, 'count')} active)"},
    ])


# -- GROW, GTA ------------------------------------------------------------------------------------
@app.command()
def grow(
    base: str = typer.Option(..., "--base", help="Base period START..END"),
    current: str = typer.Option(..., "--current", help="Current period START..END"),
    by: str = typer.Option("category_id", "--by", help="Events column to decompose by"),
    top: int = typer.Option(15, "--top", help="Groups to show (largest changes)"),
    brand: str | None = BrandOption, category: str | None = CategoryOption,
    chart: Path | None = ChartOption, store: str | None = StoreOption, json: bool = JsonOption,
) -> None:
    """GROW: the GMV change split into Gain, Retain, bOost and Widen (LMDI), per group."""
    from qianmian.metrics.grow import grow_report

    b, c = _required_period(base, "base"), _required_period(current, "current")
    r = _run("GROW", json, store, lambda s: grow_report(s, base=b, current=c, by=by, brand=brand, category=category),
             as_of=c.end, flag="--current (end)")
    _chart(chart, lambda: _charts().grow_waterfall(r.to_dict(), title=f"GROW {r.current} vs {r.base}", currency=currency()), "GROW")
    if json:
        return print_json(r.to_dict())
    print_table(f"GROW {r.current} vs {r.base}", [
        {"part": k, "GMV": getattr(r, k)} for k in ("gmv_base", "gain", "retain", "boost", "widen", "gmv_current", "change")
    ], units={"GMV": "money"})
    cols = ("group", "gmv_base", "gmv_current", "gain", "retain", "boost", "widen")
    print_table(f"largest changes by {by}", [{k: g[k] for k in cols} for g in r.groups[:top]],
                units={k: "money" for k in cols[1:]})


def _goal(text: str) -> tuple[float | None, float | None]:
    t = text.strip()
    try:
        return (None, float(t[:-1]) / 100) if t.endswith("%") else (float(t), None)
    except ValueError as exc:
        raise typer.BadParameter("a GMV amount (e.g. 1500000) or a percentage of the reference GMV (e.g. 120%)",
                                 param_hint="--goal") from exc


def _reference(text: str, period: str | None) -> Period:
    if text in ("last-year", "previous"):
        target = _period(period, "period")
        if target is None:
            raise typer.BadParameter(f"--reference {text} needs --period START..END (the period you plan)", param_hint="--period")
        return target.shift_years(-1) if text == "last-year" else target.previous()
    return _required_period(text, "reference")


def _benchmark(path: Path | None) -> dict | None:
    if path is None:
        return None
    from qianmian.metrics.gta import StageRate

    with errors_to_exit():
        try:
            raw = jsonlib.loads(path.read_text())
            return {stage: StageRate(**v) for stage, v in raw.items()}
        except (OSError, ValueError, TypeError) as exc:
            raise InputError("benchmark", "a JSON file {stage: {conversion, value_per_buyer, share}}", str(path)) from exc


@app.command()
def gta(
    goal: str = typer.Option(..., "--goal", help="GMV goal, or a percentage of the reference GMV (120%)"),
    reference: str = typer.Option(..., "--reference", help="START..END, last-year or previous (of --period)"),
    as_of: str = typer.Option(..., "--as-of", help="Count current stage pools as of this date"),
    period: str | None = typer.Option(None, "--period", help="The period you plan (for last-year / previous)"),
    benchmark: Path | None = typer.Option(None, "--benchmark", help="JSON of per-stage rates replacing the reference"),
    brand: str | None = BrandOption, category: str | None = CategoryOption,
    repeats: str | None = typer.Option(None, "--expected-repeats", help="Also forecast today's buyers' repeat purchases and GMV over this horizon (e.g. 90d; BG/NBD)"),
    store: str | None = StoreOption, json: bool = JsonOption,
) -> None:
    """GTA planner: from a GMV goal to the buyers and the A/I/P/L consumers needed, and the gap."""
    from qianmian.metrics.gta import gta_report

    amount, share = _goal(goal)
    ref = _reference(reference, period)
    rates = _benchmark(benchmark)
    repeat_days = _days(repeats, "expected-repeats") if repeats else None
    r = _run("GTA", json, store, lambda s: gta_report(s, reference=ref, as_of=as_of, goal=amount, goal_ratio=share,
                                                       benchmark=rates, brand=brand, category=category,
                                                       repeat_days=repeat_days), as_of=as_of)
    if json:
        return print_json(r.to_dict())
    money = currency()
    print_table(f"GTA: goal {fmt(r.goal, 'money', money=money)} (reference {r.reference}: "
                f"{fmt(r.reference_gmv, 'money', money=money)}; current as of {r.as_of})", [
        {"stage": x.stage, "GMV share": x.share, "conversion": x.conversion, "GMV/buyer": x.value_per_buyer,
         "needed GMV": x.needed_gmv, "needed buyers": _ceil(x.needed_buyers), "needed": _ceil(x.needed),
         "current": x.current, "gap": _ceil(x.gap)}
        for x in r.rows
    ], units={"GMV share": "share", "conversion": "share", "GMV/buyer": "money", "needed GMV": "money",
              "needed buyers": "count", "needed": "count", "current": "count", "gap": "count"})
    console.print("[dim]needed = needed buyers ÷ conversion (people, rounded up); gap = needed − current; "
                  "n/a: the stage has no rate (no consumer or no buyer in the reference) or no pool ('new', 'anonymous')[/dim]",
                  highlight=False)
    if r.expected_repeats is not None:
        e = r.expected_repeats
        gmv = "n/a (no amounts)" if e["expected_gmv"] is None else fmt(e["expected_gmv"], "money", money=money)
        share_text = "" if e["share_of_goal"] is None else f" ({e['share_of_goal']:.1%} of the goal)"
        console.print(f"today's {e['buyers']:,} buyers are expected to make {e['expected_purchases']:,.0f} repeat purchases "
                      f"worth {gmv}{share_text} in the next {e['days']} days (BG/NBD + Gamma-Gamma, docs/clv.md)", highlight=False)


# -- TGI, funnel ----------------------------------------------------------------------------------
@app.command()
def tgi(
    target: str = typer.Option(..., "--target", help="Population: aipl:L, lifecycle:lost, customer:new, users:city=X, audience:NAME, all"),
    by: str = typer.Option(..., "--by", help="Dimension: category_id, item_id, brand_id, channel, or a users column"),
    reference: str = typer.Option("all", "--reference", help="Reference population (default: all consumers)"),
    as_of: str | None = typer.Option(None, "--as-of", help="Date for aipl/lifecycle/customer/audience populations"),
    period: str | None = PeriodOption,
    behaviors: str | None = typer.Option(None, "--behaviors", help="Only these behaviours (comma separated)"),
    min_count: int = typer.Option(30, "--min-count", help="Flag groups with fewer target users as small"),
    limit: int = typer.Option(30, "--limit", help="Rows to show"),
    chart: Path | None = ChartOption, store: str | None = StoreOption, json: bool = JsonOption,
) -> None:
    """TGI of a target population against a reference over a dimension (100 = average)."""
    from qianmian.audiences.populations import population
    from qianmian.metrics.tgi import tgi_report

    p = _period(period, "period")

    def build(s: Any) -> Any:
        tgt = population(s, target, as_of=as_of, period=p)
        ref = population(s, reference, as_of=as_of, period=p)
        return tgi_report(s, target=tgt, reference=ref, by=by, period=p, min_count=min_count, limit=limit,
                          behaviors=behaviors.split(",") if behaviors else None)

    r = _run("TGI", json, store, build, as_of=as_of if as_of is not None else (p.end if p else None),
             flag="--as-of" if as_of is not None else "--period (end)")
    _chart(chart, lambda: _charts().tgi_bars(r.rows, title=f"TGI of {target} vs {reference} by {by}"), "TGI")
    if json:
        return print_json({"target": target, "reference": reference, **r.to_dict()})
    print_table(f"TGI of {target} ({r.target_size:,}) vs {reference} ({r.reference_size:,}) by {by}", r.rows,
                units={"target_count": "count", "reference_count": "count", "target_share": "share", "reference_share": "share"})


def _steps(text: str) -> list[list[str]]:
    return [[b.strip() for b in step.split(",") if b.strip()] for step in text.split(">")]


def _funnel_period(period: str | None, as_of: str | None, days: int) -> Period:
    if period is not None:
        return _required_period(period, "period")
    if as_of is None:
        raise typer.BadParameter("give --period START..END, or --as-of DATE with --days N", param_hint="--period")
    with errors_to_exit():
        end = to_date(as_of, "as_of")
    return Period(end - dt.timedelta(days=days - 1), end)


@app.command()
def funnel(
    period: str | None = PeriodOption,
    as_of: str | None = typer.Option(None, "--as-of", help="Last day (with --days) instead of --period"),
    days: int = typer.Option(30, "--days", help="Days ending at --as-of"),
    steps: str = typer.Option("view>cart,fav>buy", "--steps", help="Steps separated by '>', behaviours by ','"),
    by: str | None = typer.Option(None, "--by", help="day, or an events column (channel, category_id, …)"),
    brand: str | None = BrandOption, category: str | None = CategoryOption,
    chart: Path | None = ChartOption, store: str | None = StoreOption, json: bool = JsonOption,
) -> None:
    """Funnel with step rates, and shop rates: conversion, bounce, AOV, repurchase, GMV per visitor."""
    from qianmian.metrics.funnel import funnel_report

    p = _funnel_period(period, as_of, days)
    st = _steps(steps)
    r = _run("funnel", json, store, lambda s: funnel_report(s, period=p, steps=st, by=by, brand=brand, category=category),
             as_of=p.end, flag="--period (end)" if period is not None else "--as-of")
    labels = ["/".join(s) for s in st]
    if r.funnel:
        _chart(chart, lambda: _charts().funnel_chart(labels, r.funnel[0]["users"], title=f"Funnel {r.period}"), "Funnel")
    if json:
        return print_json(r.to_dict())
    print_table(f"funnel {r.period} (consumers at each step; → step rate)", [
        {"group": row["group"], **{f"{lab}": u for lab, u in zip(labels, row["users"])},
         **{f"→{lab}": rate for lab, rate in zip(labels[1:], row["step_rate"][1:])}} for row in r.funnel
    ], units={**{lab: "count" for lab in labels}, **{f"→{lab}": "share" for lab in labels[1:]}})
    keep = ("group", "visitors", "buyers", "visitor_conversion", "browse_conversion", "bounce_rate", "aov",
            "repurchase_rate", "gmv_per_visitor")
    print_table("rates", [{k: row[k] for k in keep} for row in r.rates])
    _legend(("visitor_conversion", "browse_conversion", "bounce_rate", "repurchase_rate"))
    console.print(f"[dim]the funnel's last step counts consumers who did every step ({' > '.join(labels)}); "
                  "visitor conversion counts every buyer[/dim]", highlight=False)


# -- lifecycle, RFM, association ------------------------------------------------------------------
@app.command()
def lifecycle(
    as_of: str = AsOfOption,
    active_days: int = typer.Option(30, "--active-days"), silent_days: int = typer.Option(90, "--silent-days"),
    churning_days: int = typer.Option(180, "--churning-days"), new_days: int = typer.Option(30, "--new-days"),
    brand: str | None = BrandOption, category: str | None = CategoryOption,
    chart: Path | None = ChartOption, store: str | None = StoreOption, json: bool = JsonOption,
) -> None:
    """New vs. returning customers; active / silent / churning / lost by recency."""
    from qianmian.metrics.lifecycle import LifecycleRules, lifecycle_report

    def build(s: Any) -> Any:
        rules = LifecycleRules(active_days=active_days, silent_days=silent_days, churning_days=churning_days, new_days=new_days)
        return lifecycle_report(s, as_of=as_of, rules=rules, brand=brand, category=category)

    r = _run("lifecycle", json, store, build, as_of=as_of)
    _chart(chart, lambda: _charts().bars(list(r.states), list(r.states.values()), title=f"Lifecycle as of {r.as_of}",
                                         ylabel="customers"), "Lifecycle")
    if json:
        return print_json(r.to_dict())
    print_table(f"lifecycle as of {r.as_of}", r.cells, units={"orders": "count", "avg_recency_days": "number"})
    console.print(" · ".join(f"{k} {v:,}" for k, v in {**r.customers, **r.states}.items()))


@app.command()
def rfm(
    as_of: str = AsOfOption,
    cells: str = typer.Option("eight", "--cells", help="eight (classic 8 cells) or grid (R×F map)"),
    bins: int = typer.Option(5, "--bins", help="Score levels"),
    brand: str | None = BrandOption, category: str | None = CategoryOption,
    consumers: Path | None = typer.Option(None, "--consumers", help="Also write per-consumer scores (CSV)"),
    chart: Path | None = ChartOption, store: str | None = StoreOption, json: bool = JsonOption,
) -> None:
    """RFM scores (1…bins by percent rank) and named cells, computed in the engine."""
    from qianmian.metrics.rfm import rfm_report, store_rfm_scores

    def build(s: Any) -> Any:
        if consumers is not None:
            scored = store_rfm_scores(s, as_of=as_of, bins=bins, cells=cells, brand=brand, category=category)  # type: ignore[arg-type]
            s.execute(scored).to_csv(consumers, index=False)
        return rfm_report(s, as_of=as_of, bins=bins, cells=cells, brand=brand, category=category)  # type: ignore[arg-type]

    r = _run("RFM", json, store, build, as_of=as_of)
    _chart(chart, lambda: _charts().bars([c["cell"] for c in r.cells], [c["consumers"] for c in r.cells],
                                         title=f"RFM cells as of {r.as_of}", ylabel="customers"), "RFM")
    if json:
        return print_json(r.to_dict())
    print_table(f"RFM cells as of {r.as_of}", r.cells, units={"monetary": "money", "recency_days": "number", "frequency": "number"})


@app.command()
def association(
    period: str | None = PeriodOption,
    level: str = typer.Option("category", "--level", help="item, category or brand"),
    basket: str = typer.Option("order", "--basket", help="order, session (view data) or day"),
    min_support: float = typer.Option(0.01, "--min-support"),
    min_confidence: float = typer.Option(0.2, "--min-confidence"),
    max_len: int | None = typer.Option(None, "--max-len", help="Longest itemset"),
    limit: int = typer.Option(20, "--limit", help="Rules to show (by lift)"),
    store: str | None = StoreOption, json: bool = JsonOption,
) -> None:
    """Frequent itemsets and rules (support, confidence, lift) over baskets."""
    from qianmian.metrics.association import association_report

    p = _period(period, "period")
    r = _run("association", json, store, lambda s: association_report(
        s, period=p, level=level, basket=basket, min_support=min_support, min_confidence=min_confidence,
        max_len=max_len, limit=limit))  # type: ignore[arg-type]
    if json:
        return print_json(r.to_dict())
    console.print(f"{r.baskets:,} baskets · {r.itemsets:,} frequent itemsets · {r.rules:,} rules")
    print_table(f"top rules by lift (min support {min_support}, min confidence {min_confidence})", [
        {"if": " + ".join(x["antecedents"]), "then": " + ".join(x["consequents"]), "support": x["support"],
         "confidence": x["confidence"], "lift": x["lift"]} for x in r.top_rules
    ], units={"support": "share", "confidence": "share", "lift": "number"})


# -- CLV ------------------------------------------------------------------------------------------
@app.command()
def clv(
    calibration_end: str = typer.Option(..., "--calibration-end", help="Fit on buys up to this day (YYYY-MM-DD, included)"),
    horizon: str = typer.Option("90d", "--horizon", help="Forecast horizon for expected purchases and CLV (e.g. 90d)"),
    holdout_end: str | None = typer.Option(None, "--holdout-end", help="Check against buys up to this day (default: the last buy)"),
    calibration_start: str | None = typer.Option(None, "--calibration-start", help="Only buys from this day on"),
    unit: str = typer.Option("week", "--unit", help="Model time unit: week (as published) or day"),
    discount: float = typer.Option(0.10, "--discount", help="Annual discount rate for CLV (0.1 = 10%)"),
    margin: float = typer.Option(1.0, "--margin", help="Share of revenue that is margin, in (0, 1]"),
    chart: Path | None = ChartOption, store: str | None = StoreOption, json: bool = JsonOption,
) -> None:
    """BG/NBD + Gamma-Gamma: parameters, calibration-vs-holdout check, P(alive), expected purchases, CLV."""
    from qianmian.clv import ClvOptions, clv_report

    days = _days(horizon, "horizon")
    with errors_to_exit():
        options = ClvOptions(unit=unit, annual_discount=discount, margin=margin)  # type: ignore[arg-type]
    r = _run("CLV", json, store, lambda s: clv_report(s, calibration_end=calibration_end, holdout_end=holdout_end,
                                                       horizon_days=days, calibration_start=calibration_start, options=options))
    if chart is not None and r.holdout is None:
        err_console.print("no holdout window after the calibration end: no chart drawn", highlight=False)
    elif r.holdout is not None:
        h = r.holdout
        _chart(chart, lambda: _clv_charts().holdout_chart(h.buckets, title=f"Calibration to {r.model.calibration_end} vs holdout to {h.end}"), "CLV")
    if json:
        return print_json(r.to_dict())
    _print_clv(r)


def _days(text: str, field: str) -> int:
    t = text.strip().lower()
    if not (t.endswith("d") and t[:-1].isdigit() and int(t[:-1]) > 0):
        raise typer.BadParameter(f"expected a number of days such as 90d, received {text!r}", param_hint=f"--{field}")
    return int(t[:-1])


def _print_clv(r: Any) -> None:
    m, d = r.model, r.to_dict()
    console.print(f"fitted on {m.consumers:,} consumers ({m.repeat_consumers:,} with repeat purchases), buys up to {m.calibration_end}, time in {m.options.unit}s")
    print_table("BG/NBD (purchases and drop-out)", [d["bgnbd"]])
    print_table("Gamma-Gamma (spend per purchase)", [d["gamma_gamma"]] if d["gamma_gamma"] else [])
    if r.holdout is not None:
        h = r.holdout
        print_table(f"calibration vs holdout {h.start}..{h.end}: mean purchases per consumer", [
            {"repeat purchases (calibration)": b["frequency"], "consumers": b["consumers"], "actual": b["actual_mean"],
             "predicted": b["predicted_mean"]} for b in h.buckets])
        console.print(f"holdout repeat purchases: predicted {h.predicted_total:,.1f}, actual {h.actual_total:,}")
    f = r.forecast
    clv_text = "n/a (no amounts)" if f["clv"] is None else f"{f['clv']:,.2f}"
    console.print(f"next {r.horizon_days} days: {f['expected_purchases']:,.1f} expected purchases, CLV {clv_text}; "
                  f"mean P(alive) {f['mean_p_alive']:.3f}, {f['p_alive_below_0_3']:,} consumers with P(alive) < 0.3")
    print_table(f"top consumers by {r.horizon_days}-day value", r.top)
    for note in r.notes:
        err_console.print(f"note: {note}", highlight=False)


def _clv_charts() -> Any:
    from qianmian.charts import clv as clv_charts

    return clv_charts


def _charts() -> Any:
    from qianmian import charts

    return charts
