"""`qianmian uplift …`: fit an uplift model on a randomized test, judge it, target its top k%."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import typer

from qianmian.cli.common import (
    JsonOption,
    StoreOption,
    console,
    err_console,
    errors_to_exit,
    open_store,
    print_json,
    print_table,
    working,
)
from qianmian.dates import to_date
from qianmian.errors import InputError

app = typer.Typer(help="Uplift targeting: who a treatment actually moves (Qini, uplift at k, top-k% audiences).",
                  no_args_is_help=True)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="uplift")


def _list(values: list[str] | None) -> list[str] | None:
    """Repeatable options that also take comma-separated lists: --features a,b --features c."""
    out = [v.strip() for text in values or [] for v in text.split(",") if v.strip()]
    return out or None


def _percent(text: str, field: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError as exc:
        raise InputError(field, "a percentage such as 30 or 30%", text) from exc
    return value


@app.command()
def fit(
    data: Path | None = typer.Option(None, "--data", help="Per-consumer CSV / Parquet file of a randomized test"),
    experiment: str | None = typer.Option(None, "--experiment", help="Or: a stored experiment's name"),
    treatment: str | None = typer.Option(None, "--treatment", help="(--data) column of the arms"),
    outcome: str = typer.Option(..., "--outcome", help="(--data) outcome column; (--experiment) a metric such as purchase_conversion"),
    control: str | None = typer.Option(None, "--control", help="(--data) the control arm's value (not needed for 0/1 columns)"),
    treated: list[str] | None = typer.Option(None, "--treated", help="Treated arm(s) (default: every arm but control; repeatable)"),
    features: list[str] | None = typer.Option(None, "--features", help="(--data) feature columns, comma-separated or repeated (default: every other column)"),
    id_col: str | None = typer.Option(None, "--id-col", help="(--data) consumer id column (default: the row number)"),
    recency: str | None = typer.Option(None, "--recency-col", help="(--data) column for the RFM baseline's recency"),
    frequency: str | None = typer.Option(None, "--frequency-col", help="(--data) column for the RFM baseline's frequency"),
    monetary: str | None = typer.Option(None, "--monetary-col", help="(--data) column for the RFM baseline's monetary"),
    as_of: str | None = typer.Option(None, "--as-of", help="(--experiment) read exposures and outcomes up to this date; score consumers as of it"),
    learner: str = typer.Option("x", "--learner", help="x (X-learner) or t (T-learner)"),
    test_size: float = typer.Option(0.3, "--test-size", help="Share of consumers held out for the evaluation"),
    seed: int = typer.Option(0, "--seed", help="Random state of the split, the trees and the bootstrap"),
    n_boot: int = typer.Option(200, "--bootstrap", help="Bootstrap resamples for the intervals"),
    save: str | None = typer.Option(None, "--save", help="Save the scores of every consumer as this model name"),
    audience: str | None = typer.Option(None, "--audience", help="Also save the top --top% by predicted uplift as this audience (needs --save)"),
    top: str = typer.Option("30", "--top", help="Audience size: the top K percent by predicted uplift"),
    priority: int = typer.Option(100, "--priority", help="Audience priority (smaller comes first)"),
    replace: bool = typer.Option(False, "--replace", help="Replace an existing audience of that name"),
    chart: Path | None = typer.Option(None, "--chart", help="Also draw the Qini chart: FILE.png or FILE.html"),
    store: str | None = StoreOption,
    json: bool = JsonOption,
) -> None:
    """Fit a T- or X-learner on a training split; report Qini (with bootstrap intervals) and uplift at k
    on the test split beside random and RFM targeting; optionally save scores and a top-k% audience."""
    from qianmian.uplift.fit import FitOptions
    from qianmian.uplift.learners import LearnerSpec

    with errors_to_exit():
        if (data is None) == (experiment is None):
            raise InputError("--data / --experiment", "exactly one of them", "both" if data else "neither")
        if audience and not save:
            raise InputError("--audience", "--save MODEL too (the audience reads the saved scores)", audience)
        if save is not None:
            from qianmian.uplift.scores import check_model_name

            check_model_name(save)  # before the fit, not after it
        options = FitOptions(learner=LearnerSpec(kind=learner, random_state=seed), test_size=test_size, n_boot=n_boot, random_state=seed)  # type: ignore[arg-type]
        needs_store = experiment is not None or save is not None
        st = open_store(store) if needs_store else None
        with working("fitting the uplift model", quiet=json):
            if data is not None:
                fitted = _fit_file(data, treatment, outcome, control, treated, features, id_col,
                                   {"recency_days": recency, "frequency": frequency, "monetary": monetary}, options)
            else:
                fitted = _fit_experiment(st, experiment, outcome, as_of, treated, options)
        out: dict[str, Any] = fitted.result.to_dict()
        if save:
            out["saved"] = _save(st, save, fitted, outcome, treatment or "variant", top, audience, priority, replace)
        if chart is not None:
            _chart(chart, out)
    _print(out, json)


def _fit_file(data, treatment, outcome, control, treated, features, id_col, rfm, options):
    from qianmian.uplift.fit import fit_file

    if not treatment:
        raise InputError("--treatment", "the column of the arms (with --data)", None)
    return fit_file(str(data), options=options, treatment=treatment, outcome=outcome, control=control,
                    treated=_list(treated), features=_list(features), id_col=id_col,
                    rfm={k: v for k, v in rfm.items() if v})


def _fit_experiment(st, experiment, outcome, as_of, treated, options):
    from qianmian.uplift.fit import fit_experiment

    if not as_of:
        raise InputError("--as-of", "a date (YYYY-MM-DD) with --experiment", None)
    return fit_experiment(st, experiment, outcome=outcome, as_of=to_date(as_of, "--as-of"), treated=_list(treated), options=options)


def _save(st, name, fitted, outcome, treatment, top, audience, priority, replace) -> dict[str, Any]:
    from qianmian.uplift.scores import save_model
    from qianmian.uplift.targeting import save_top_audience

    meta = {"source": fitted.result.source, "treatment": treatment, "outcome": outcome,
            "learner": fitted.result.learner["kind"], "report": {**fitted.result.to_dict(), "n_scored": len(fitted.ids)}}
    n = save_model(st, name, ids=fitted.ids, uplift=fitted.uplift, meta=meta, now=dt.datetime.now())
    saved: dict[str, Any] = {"model": name, "scored": n}
    if audience:
        a = save_top_audience(st, model=name, audience=audience, top=_percent(top, "--top"), priority=priority, replace=replace)
        saved["audience"] = {"name": a.name, "rule": a.rule, "version": a.version}
    return saved


def _chart(path: Path, out: dict[str, Any]) -> None:
    from qianmian import charts
    from qianmian.charts.uplift import qini_chart

    title = f"Qini: {out['source']}"
    charts.save(qini_chart(out["curves"], out["qini"], title=title), path, title=title)
    err_console.print(f"chart written to {path}", highlight=False)


def _print(out: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print_json(out)
        return
    console.print(f"{out['source']}: treated {out['arms']['treated']} vs control {out['arms']['control']!r}; "
                  f"train {out['n_train']:,}, test {out['n_test']:,}, left out {out['left_out']:,}; "
                  f"average effect on the test split {out['ate']:+.4f}", highlight=False)
    rows = [{"targeting": k, "Qini": v["estimate"], "low": v["low"], "high": v["high"]} for k, v in out["qini"].items()]
    print_table(f"Qini coefficient on the test split ({out['qini']['uplift model']['level']:.0%} bootstrap interval)", rows)
    print_table("Uplift at k: treated − control outcome among the top k (random = the average effect)",
                [{"top": f"{r['k']:.0%}", **{k: v for k, v in r.items() if k != "k"}} for r in out["uplift_at_k"]])
    for line in out["verdict"]:
        console.print(line, highlight=False)
    if "saved" in out:
        s = out["saved"]
        console.print(f"saved model {s['model']!r}: {s['scored']:,} consumers scored", highlight=False)
        if "audience" in s:
            console.print(f"saved audience {s['audience']['name']!r}: {s['audience']['rule']}", highlight=False)


@app.command("list")
def list_models(store: str | None = StoreOption, json: bool = JsonOption) -> None:
    """Saved uplift models: what each was fitted on and its Qini on the test split."""
    from qianmian.uplift.scores import list_models as saved

    with errors_to_exit():
        models = saved(open_store(store))
    if json:
        print_json(models)
        return
    print_table("uplift models", [
        {"name": m["name"], "outcome": m["outcome"], "learner": m["learner"], "fitted_at": m["fitted_at"],
         "Qini": m["report"].get("qini", {}).get("uplift model", {}).get("estimate")} for m in models
    ])


@app.command()
def show(name: str = typer.Argument(..., help="Model name"), store: str | None = StoreOption, json: bool = JsonOption) -> None:
    """One saved model's evaluation report."""
    from qianmian.uplift.scores import get_model

    with errors_to_exit():
        model = get_model(open_store(store), name)
    if json:
        print_json(model)
        return
    _print(model["report"] | {"saved": {"model": name, "scored": model["report"].get("n_scored", 0)}}, False)
    console.print(f"fitted {model['fitted_at']} ({model['learner']}-learner on {model['source']})", highlight=False)
