"""`qianmian experiment …` and `qianmian closeout …`: define, assign, read and close out experiments."""

from __future__ import annotations

import datetime as dt
import math
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
    settings,
    warn_past_data,
    working,
)
from qianmian.errors import InputError

app = typer.Typer(help="Experiments: create, list, assign, log exposures, report, analyze a results file, plan, off-policy check.",
                  no_args_is_help=True)

ChartOption = typer.Option(None, "--chart", help="Also draw the lifts with intervals: FILE.png or FILE.html")
AsOfOption = typer.Option(..., "--as-of", help="Date (YYYY-MM-DD, included to the end of the day) or YYYY-MM-DDTHH:MM")
MetricOption = typer.Option(None, "--metric", help="Metric (repeatable): a built-in name or exists|count|amount:BEHAVIOUR[@MODULE]")
CorrectionOption = typer.Option("holm", "--correction", help="Multiple-testing correction: holm, bh or none")
AlphaOption = typer.Option(0.05, "--alpha", help="Significance level (0.05 → 95% intervals)")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="experiment")
    root.command(name="closeout")(closeout)


def _when(text: str | None, field: str) -> dt.datetime | dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    except ValueError as exc:
        raise InputError(field, "YYYY-MM-DD or YYYY-MM-DDTHH:MM", text) from exc


def _datetime(text: str | None, field: str) -> dt.datetime | None:
    v = _when(text, field)
    return dt.datetime.combine(v, dt.time()) if isinstance(v, dt.date) and not isinstance(v, dt.datetime) else v


def _pair(text: str, field: str, expected: str) -> tuple[float, float]:
    """Two numbers written `A:B`; anything else is an InputError naming `field`."""
    parts = text.split(":")
    try:
        lo, hi = (float(p) for p in parts)
    except ValueError as exc:
        raise InputError(field, expected, text) from exc
    return lo, hi


def _range(text: str) -> tuple[float, float]:
    return _pair(text, "layer-range", "START:END fractions such as 0:0.5")


def _chart(path: Path | None, rows: list[dict], title: str, alpha: float = 0.05) -> None:
    if path is None:
        return
    from qianmian import charts
    from qianmian.charts.experiments import lift_chart

    charts.save(lift_chart(rows, title=title, level=1 - alpha), path, title=title)
    err_console.print(f"chart written to {path}", highlight=False)


def _show_results(title: str, rows: list[dict[str, Any]], *, lead: tuple[str, ...] = ()) -> None:
    """A compact human table: means in the metric's unit (a glossary rate as a percentage, money with
    the currency), CUPED-adjusted means beside the raw ones, lifts and intervals as percentages,
    p-values to two digits."""
    from qianmian.metrics.glossary import TERMS

    adjusted = any(r.get("adjusted_mean") is not None for r in rows)
    money = currency()
    out = []
    for r in rows:
        has = r.get("lift_rel") is not None and r["lift_rel"] == r["lift_rel"]
        unit = TERMS[r["metric"]].unit if r["metric"] in TERMS else None
        row = {k: r[k] for k in lead}
        row |= {"metric": r["metric"], "variant": r["variant"], "n": fmt(r["n"], "count"),
                ("mean (raw)" if adjusted else "mean"): fmt(r["mean"], unit, money=money)}
        if adjusted:
            row["mean (CUPED)"] = fmt(r.get("adjusted_mean"), unit, money=money) if r.get("adjusted_mean") is not None else "not adj."
        row |= {"lift": f"{r['lift_rel']:+.1%}" if has else (r.get("error") or ""),
                "CI": f"{r['ci_low']:+.1%} … {r['ci_high']:+.1%}" if has else "",
                "p": f"{r['p_value']:.2g}" if has else "",
                "p adj.": f"{r['p_adjusted']:.2g}" if has and r.get("p_adjusted") is not None else ""}
        out.append(row)
    print_table(title, out)
    if adjusted:
        console.print("[dim]lift, CI and p use the CUPED-adjusted means where adjusted[/dim]", highlight=False)


# -- definitions ---------------------------------------------------------------------------------
@app.command()
def create(
    name: str = typer.Argument(..., help="Experiment name (also the default hashing salt)"),
    variants: str = typer.Option("test:2,control:8", "--variants", help="NAME:WEIGHT,… e.g. test:2,control:8"),
    control: str | None = typer.Option(None, "--control", help="Control variant (default: 'control' or the first)"),
    salt: str | None = typer.Option(None, "--salt", help="Hashing salt (default: the name)"),
    layer: str | None = typer.Option(None, "--layer", help="Layer: experiments in one layer never share a unit"),
    layer_range: str = typer.Option("0:1", "--layer-range", help="Part of the layer this experiment owns, START:END"),
    holdout: float = typer.Option(0.0, "--holdout", help="Global holdout share kept out of every experiment"),
    audience: str | None = typer.Option(None, "--audience", help="Only units in this audience"),
    campaign: str | None = typer.Option(None, "--campaign", help="Campaign this experiment closes out"),
    metric: list[str] | None = MetricOption,
    start: str | None = typer.Option(None, "--start", help="First day exposures count (YYYY-MM-DD)"),
    end: str | None = typer.Option(None, "--end", help="Exposures before this time count (YYYY-MM-DD)"),
    window_days: float = typer.Option(14.0, "--window-days", help="Attribution window after the first exposure"),
    pre_days: float = typer.Option(28.0, "--pre-days", help="Pre-period for the CUPED covariate"),
    store: str | None = StoreOption,
    json: bool = JsonOption,
) -> None:
    """Define an experiment (checked: weights, layer overlap, metrics)."""
    from qianmian.experiments import Experiment, ExperimentRegistry
    from qianmian.experiments.assignment import DEFAULT_METRICS, parse_variants
    from qianmian.experiments.registry import to_row

    with errors_to_exit():
        exp = Experiment(
            name, parse_variants(variants), salt=salt or "", control=control or "", layer=layer,
            layer_range=_range(layer_range), holdout=holdout, audience=audience, campaign=campaign,
            metrics=tuple(metric) if metric else DEFAULT_METRICS, start=_datetime(start, "start"), end=_datetime(end, "end"),
            window_days=window_days, pre_days=pre_days,
        )
        ExperimentRegistry(open_store(store)).create(exp)
    if json:
        print_json(to_row(exp))
    else:
        console.print(f"created experiment [bold]{name}[/bold]: {variants} (control {exp.control})")


@app.command("list")
def list_(store: str | None = StoreOption, json: bool = JsonOption) -> None:
    """Every experiment definition."""
    from qianmian.experiments import ExperimentRegistry
    from qianmian.experiments.registry import to_row

    with errors_to_exit():
        rows = [to_row(e) for e in ExperimentRegistry(open_store(store)).list()]
    if json:
        print_json(rows)
    else:
        print_table("experiments", [{k: r[k] for k in ("name", "variants", "control", "layer", "audience", "campaign", "start_ts", "end_ts")} for r in rows])


@app.command()
def assign(
    name: str = typer.Argument(...), unit: str = typer.Argument(..., help="Unit (user) id"),
    audience: list[str] | None = typer.Option(None, "--audience", help="The unit's audiences (repeatable)"),
    store: str | None = StoreOption, json: bool = JsonOption,
) -> None:
    """The variant a unit gets (the same function the storefront calls)."""
    from qianmian.experiments import ExperimentRegistry
    from qianmian.experiments import assign as assign_unit

    with errors_to_exit():
        exp = ExperimentRegistry(open_store(store)).get(name)
        variant = assign_unit(exp, unit, audiences=audience if exp.audience else None)
    print_json({"experiment": name, "unit": unit, "variant": variant}) if json else console.print(variant or "(not in the experiment)")


@app.command()
def log(file: Path = typer.Argument(..., help="CSV or Parquet: experiment, variant, user_id, ts[, audience, page, source]"),
        store: str | None = StoreOption, json: bool = JsonOption) -> None:
    """Load exposures from a file into the exposure log."""
    from qianmian.experiments import ingest_exposures

    with errors_to_exit(), working(f"loading {file.name}", json):
        n = ingest_exposures(open_store(store), file)
    print_json({"written": n}) if json else console.print(f"{n:,} exposures written")


# -- reading ---------------------------------------------------------------------------------------
@app.command()
def report(
    name: str = typer.Argument(...), as_of: str = AsOfOption, metric: list[str] | None = MetricOption,
    correction: str = CorrectionOption, alpha: float = AlphaOption,
    cuped: bool = typer.Option(True, "--cuped/--no-cuped", help="Adjust with the pre-period covariate"),
    sequential: bool = typer.Option(False, "--sequential", help="Always-valid intervals (safe to read before the end)"),
    chart: Path | None = ChartOption, store: str | None = StoreOption, json: bool = JsonOption,
) -> None:
    """Results of an experiment as of a date: every metric, lift, interval, p-value, SRM, summary."""
    from qianmian.charts.experiments import report_lift_rows
    from qianmian.experiments.reports import experiment_report, report_dict

    with errors_to_exit():
        opened = open_store(store)
        warn_past_data(opened, _when(as_of, "as-of"))
    with errors_to_exit(), working(f"computing {name}", json):
        rep = experiment_report(opened, name, as_of=_when(as_of, "as-of"), metrics=metric or None,
                                alpha=alpha, correction=correction, cuped=cuped, sequential=sequential,  # type: ignore[arg-type]
                                srm_threshold=settings().srm_threshold)
    doc = report_dict(rep)
    with errors_to_exit():
        _chart(chart, report_lift_rows(doc["results"], alpha=alpha), f"{name}: lift vs {rep.control}", alpha)
    if json:
        print_json(doc)
        return
    _show_results(f"{name} as of {as_of}", doc["results"])
    console.print(f"units: {rep.units}  SRM p = {rep.srm.p_value:.3g} (flagged below {rep.srm.threshold:g})"
                  f"{'  [red]MISMATCH[/red]' if rep.srm.mismatch else ''}"
                  f"  excluded (seen in several variants): {rep.multiple_exposures}")
    console.print(rep.summary)


@app.command()
def analyze(
    file: Path = typer.Argument(..., help="Per-unit results, CSV or Parquet"),
    variant_col: str = typer.Option(..., "--variant-col", help="Column holding the variant"),
    control: str = typer.Option(..., "--control", help="Value of the control variant"),
    metric: list[str] = typer.Option(..., "--metric", help="Numeric column to compare (repeatable)"),
    covariate: str | None = typer.Option(None, "--covariate", help="Pre-period column for CUPED"),
    correction: str = CorrectionOption, alpha: float = AlphaOption,
    weights: str | None = typer.Option(None, "--weights", help="Planned split for the SRM check, NAME:WEIGHT,… (default: equal)"),
    chart: Path | None = ChartOption, json: bool = JsonOption,
) -> None:
    """Compare variants in a per-unit results table (Welch t-test, relative lift with delta-method CI),
    with the sample-ratio check against the planned split and Holm's correction by default."""
    from qianmian.charts.experiments import report_lift_rows
    from qianmian.experiments.analysis import file_units, parse_weights, srm_check
    from qianmian.experiments.reports import analyze_file, result_rows

    with errors_to_exit(), working(f"reading {file.name}", json):
        planned = parse_weights(weights) if weights else None
        units = file_units(file, variant_col)
        check = srm_check(units, planned, threshold=settings().srm_threshold)
        res = analyze_file(file, variant_col=variant_col, control=control, metrics=metric, covariate=covariate,
                           alpha=alpha, correction=correction)  # type: ignore[arg-type]
    rows = result_rows(res)
    with errors_to_exit():
        _chart(chart, report_lift_rows(rows, alpha=alpha), f"{file.name}: lift vs {control}", alpha)
    if json:
        print_json({"units": units, "srm": {**vars(check), "mismatch": check.mismatch, "weights": planned or "equal"},
                    "correction": correction, "results": rows})
        return
    _show_results(file.name, rows)
    _print_srm(units, check, planned)
    if correction != "none":
        console.print(f"p adj.: corrected across {sum(1 for r in rows if r['p_value'] is not None)} comparisons "
                      f"({'Holm' if correction == 'holm' else 'Benjamini-Hochberg'})")


def _print_srm(units: dict[str, int], check: Any, planned: dict[str, float] | None) -> None:
    split = ", ".join(f"{v} {n:,}" for v, n in sorted(units.items()))
    plan = "equal weights" if planned is None else "weights " + ", ".join(f"{k}:{v:g}" for k, v in planned.items())
    verdict = "[red]MISMATCH: find the cause before trusting any result[/red]" if check.mismatch else "ok"
    console.print(f"units: {split}; SRM against {plan}: p = {check.p_value:.3g} (flagged below {check.threshold:g}) {verdict}",
                  highlight=False)


@app.command()
def plan(
    baseline: float = typer.Option(..., "--baseline", help="Control mean, e.g. 0.04 for a 4% conversion rate"),
    sd: float | None = typer.Option(None, "--sd", help="Per-unit std. dev. (default √(p(1−p)) for a rate)"),
    lift: float | None = typer.Option(None, "--lift", help="Relative lift to detect, e.g. 0.1 → units needed"),
    units: float | None = typer.Option(None, "--units", help="Units available → smallest detectable lift"),
    weights: str = typer.Option("8:2", "--weights", help="CONTROL:TEST split, e.g. 8:2"),
    alpha: float = AlphaOption, power: float = typer.Option(0.8, "--power"), json: bool = JsonOption,
) -> None:
    """Plan a test: units needed for a lift, or the minimum detectable lift for a number of units."""
    from qianmian.experiments import stats as st

    with errors_to_exit():
        w = _pair(weights, "weights", "CONTROL:TEST, two positive numbers such as 8:2")
        if not (min(w) > 0 and max(w) < math.inf):
            raise InputError("weights", "CONTROL:TEST, two positive numbers such as 8:2", weights)
        s = sd if sd is not None else (baseline * (1 - baseline)) ** 0.5
        if (lift is None) == (units is None):
            raise InputError("--lift/--units", "exactly one of them", (lift, units))
        if lift is not None:
            need = st.sample_size(baseline * lift, s, alpha=alpha, target_power=power, weights=w)
            out = {"baseline": baseline, "lift": lift, "units_needed": int(-(-need // 1)), "weights": w, "power": power}
        else:
            mde = st.minimum_detectable_effect(s, units, alpha=alpha, target_power=power, weights=w)  # type: ignore[arg-type]
            out = {"baseline": baseline, "units": units, "minimum_detectable_lift": mde / baseline, "weights": w, "power": power}
    print_json(out) if json else print_table("plan", [out])


@app.command()
def offpolicy(
    log_file: Path = typer.Argument(..., help="Logged data (CSV/Parquet) with context, action, reward, propensity"),
    policy_log: Path | None = typer.Option(None, "--policy-log", help="A log of the new policy: its action frequencies are its policy"),
    policy: Path | None = typer.Option(None, "--policy", help="Policy table: context, action columns and probability"),
    action: list[str] = typer.Option(["item_id"], "--action"), context: list[str] = typer.Option(["position"], "--context"),
    reward: str = typer.Option("click", "--reward"), propensity: str = typer.Option("propensity_score", "--propensity"),
    alpha: float = AlphaOption, json: bool = JsonOption,
) -> None:
    """Estimate a new ranking policy's value (e.g. CTR) from another policy's log (IPS and SNIPS)."""
    from qianmian.experiments.offpolicy import offpolicy_estimate, on_policy_value, policy_from_log
    from qianmian.experiments.reports import read_results_file
    from qianmian.store import connect

    with errors_to_exit(), working("estimating", json):
        if (policy_log is None) == (policy is None):
            raise InputError("--policy-log/--policy", "exactly one of them", None)
        duck = connect("duckdb://", migrate=False)
        log_t = read_results_file(duck, log_file)
        other = read_results_file(duck, policy_log or policy)  # type: ignore[arg-type]
        pol = policy_from_log(other, action=action, context=context) if policy_log else other
        est = offpolicy_estimate(duck, log_t, pol, action=action, context=context, reward=reward, propensity=propensity, alpha=alpha)
        out = {"ips": vars(est.ips), "snips": vars(est.snips), "n": est.n, "effective_sample_size": est.effective_sample_size,
               "mean_weight": est.mean_weight, "logged_policy_value": vars(on_policy_value(duck, log_t, reward=reward, alpha=alpha))}
        if policy_log is not None and reward in other.columns:
            out["new_policy_on_policy_value"] = vars(on_policy_value(duck, other, reward=reward, alpha=alpha))
    if json:
        print_json(out)
        return
    print_table("off-policy estimate", [
        {"estimate": k, "value": v["value"], "ci_low": v["ci"][0], "ci_high": v["ci"][1]}
        for k, v in out.items() if isinstance(v, dict)
    ])


# -- close-out ------------------------------------------------------------------------------------
def closeout(
    campaign: str = typer.Argument(..., help="Campaign id (the experiment created with --campaign)"),
    as_of: str = AsOfOption, experiment: str | None = typer.Option(None, "--experiment", help="When the campaign has several"),
    metric: list[str] | None = MetricOption, alpha: float = AlphaOption,
    chart: Path | None = ChartOption, store: str | None = StoreOption, json: bool = JsonOption,
) -> None:
    """Campaign close-out (结案): results overall and by new/returning customer, audience and creative."""
    from qianmian.experiments.closeout import closeout as run
    from qianmian.experiments.closeout import closeout_dict, lift_rows

    with errors_to_exit():
        opened = open_store(store)
        warn_past_data(opened, _when(as_of, "as-of"))
    with errors_to_exit(), working(f"closing out {campaign}", json):
        c = run(opened, campaign, as_of=_when(as_of, "as-of"), experiment=experiment, metrics=metric or None, alpha=alpha)
    with errors_to_exit():
        _chart(chart, lift_rows(c), f"{campaign}: {c.report.results[0].label if c.report.results else ''} lift by segment", alpha)
    if json:
        print_json(closeout_dict(c))
        return
    doc = closeout_dict(c)
    _show_results(f"{campaign} overall", doc["report"]["results"])  # type: ignore[index]
    seg_rows = [dict(segment=f"{s['dimension']}: {s['segment']}", **r) for s in doc["segments"] for r in s["results"]]  # type: ignore[union-attr]
    _show_results(f"{campaign} by segment", seg_rows, lead=("segment",))
    console.print(c.summary)
