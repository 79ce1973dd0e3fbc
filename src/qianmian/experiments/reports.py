"""Experiment reports: sufficient statistics from the store → comparisons → rows and a summary.

`experiment_report(store, name, as_of=…)` runs one aggregate (`metrics.variant_statistics`) and
compares every treatment variant with control on every metric:

- proportion metrics: two-proportion z-test; mean metrics: Welch t-test; with `cuped=True` both
  use the metric's own pre-period value as covariate (CUPED), one θ and x̄ over every variant so
  each variant has one adjusted mean (`adjusted_mean`, shown beside the raw `mean`); a metric
  whose covariate does not vary (no pre-period data) is not adjusted: the plain test runs and its
  p-value is the one `cuped=False` gives; ratio metrics: delta method;
- p-values corrected across metrics × variants (Holm by default, or Benjamini–Hochberg);
- `sequential=True`: always-valid intervals for reading the test before it ends;
- a sample-ratio-mismatch check against the planned weights (flagged below `srm_threshold`, the
  setting of that name), and a plain-language summary.

`analyze_table(store, table, …)` does the same for a per-unit results table (Welch on every column).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pandas as pd

from qianmian.dates import end_of
from qianmian.errors import InputError, NotFoundError
from qianmian.experiments import stats as st
from qianmian.experiments.assignment import Experiment
from qianmian.experiments.metrics import Metric, column_statistics, resolve, variant_statistics
from qianmian.experiments.registry import ExperimentRegistry
from qianmian.ingest.records import survey
from qianmian.store import Store

Statistic = st.SampleMean | st.Proportion | st.RatioStatistic | st.CupedStatistic


@dataclass(frozen=True)
class VariantResult:
    """One metric in one variant; `comparison` is None for control. `p_adjusted` after correction.
    `mean` is the raw mean; `adjusted_mean` the CUPED-adjusted one (None when not adjusted)."""

    metric: str
    label: str
    kind: str
    variant: str
    n: int
    mean: float
    comparison: st.Comparison | None = None
    p_adjusted: float = math.nan
    higher_is_better: bool = True
    adjusted_mean: float | None = None


@dataclass(frozen=True)
class ExperimentReport:
    experiment: str
    as_of: dt.datetime
    control: str
    units: dict[str, int]
    srm: st.SRMResult
    multiple_exposures: int
    results: tuple[VariantResult, ...]
    correction: st.Correction
    sequential: bool
    alpha: float
    cuped: bool = False  # asked for; which metrics were adjusted: results with an adjusted_mean

    @property
    def summary(self) -> str:
        return summary_text(self)


# -- statistics from the aggregate row -------------------------------------------------------------
def statistic(metric: Metric, row: dict[str, Any], *, cuped: bool) -> Statistic:
    """The sufficient statistic of `metric` in one variant's aggregate row."""
    n, name = int(row["n"]), metric.name
    x = st.SampleMean(n, float(row[name + "__sum"]), float(row[name + "__ss"]))
    if metric.kind == "ratio":
        d = st.SampleMean(n, float(row[name + "__dsum"]), float(row[name + "__dss"]))
        return st.RatioStatistic(x, d, float(row[name + "__xy"]))
    if cuped:
        pre = st.SampleMean(n, float(row[name + "__psum"]), float(row[name + "__pss"]))
        return st.CupedStatistic(x, pre, float(row[name + "__xp"]))
    return st.Proportion(n, x.sum) if metric.kind == "proportion" else x


def compare(control: Statistic, treatment: Statistic, *, alpha: float, cuped_at: tuple[float, float] | None = None) -> st.Comparison:
    """The test that fits the statistic's type (`cuped_at`: the report's θ and x̄ for CUPED)."""
    if isinstance(control, st.RatioStatistic) and isinstance(treatment, st.RatioStatistic):
        return st.ratio_comparison(control, treatment, alpha=alpha)
    if isinstance(control, st.CupedStatistic) and isinstance(treatment, st.CupedStatistic):
        theta, xbar = cuped_at or (None, None)
        return st.cuped(control, treatment, alpha=alpha, theta=theta, xbar=xbar)
    if isinstance(control, st.Proportion) and isinstance(treatment, st.Proportion):
        return st.two_proportions(control, treatment, alpha=alpha)
    if isinstance(control, st.SampleMean) and isinstance(treatment, st.SampleMean):
        return st.welch(control, treatment, alpha=alpha)
    raise InputError("statistics", "two statistics of the same kind", (type(control).__name__, type(treatment).__name__))


def _results(
    rows: dict[str, dict[str, Any]], metrics: Sequence[Metric], control: str, *, alpha: float, cuped: bool, sequential: bool, tuning_n: float
) -> list[VariantResult]:
    out = []
    for m in metrics:
        stats = _covariate_or_plain(m, {v: statistic(m, r, cuped=cuped) for v, r in rows.items()})
        at = _cuped_at(list(stats.values()))
        base = stats[control]
        out.append(VariantResult(m.name, m.label or m.name, m.kind, control, base.n, _plain_mean(base), higher_is_better=m.higher_is_better,
                                 adjusted_mean=_adjusted_mean(base, at)))
        for v in (v for v in rows if v != control):
            s = stats[v]
            c = compare(base, s, alpha=alpha, cuped_at=at)
            c = st.sequential(c, base.n + s.n, tuning_n=tuning_n) if sequential else c
            out.append(VariantResult(m.name, m.label or m.name, m.kind, v, s.n, _plain_mean(s), c, higher_is_better=m.higher_is_better,
                                     adjusted_mean=_adjusted_mean(s, at)))
    return out


def _covariate_or_plain(metric: Metric, stats: dict[str, Statistic]) -> dict[str, Statistic]:
    """The CUPED statistics when the covariate varies; else each variant's plain statistic, so a
    report without pre-period data gives exactly the unadjusted test (same means, same p-value)."""
    cuped = [s for s in stats.values() if isinstance(s, st.CupedStatistic)]
    if len(cuped) < len(stats) or st.has_covariate(cuped):
        return stats
    plain = lambda s: st.Proportion(s.n, s.post.sum) if metric.kind == "proportion" else s.post  # noqa: E731
    return {v: plain(s) for v, s in stats.items()}  # type: ignore[union-attr]


def _cuped_at(stats: list[Statistic]) -> tuple[float, float] | None:
    """(θ, x̄) over every variant, or None when the statistics are not CUPED ones."""
    cuped = [s for s in stats if isinstance(s, st.CupedStatistic)]
    if not cuped or len(cuped) < len(stats):
        return None
    return st.cuped_theta(cuped), st.pooled_pre_mean(cuped)


def _adjusted_mean(s: Statistic, at: tuple[float, float] | None) -> float | None:
    if at is None or not isinstance(s, st.CupedStatistic) or s.n < 1:
        return None
    return st.cuped_adjusted(s, *at)[0] if s.n >= 2 else s.post.mean


def _plain_mean(s: Statistic) -> float:
    return s.post.mean if isinstance(s, st.CupedStatistic) else s.mean


def corrected(results: list[VariantResult], method: st.Correction) -> tuple[VariantResult, ...]:
    """Fill `p_adjusted` across every treatment comparison of the report."""
    idx = [i for i, r in enumerate(results) if r.comparison is not None]
    adj = st.adjust([results[i].comparison.p_value for i in idx], method)  # type: ignore[union-attr]
    out = list(results)
    for i, p in zip(idx, adj, strict=True):
        out[i] = replace(out[i], p_adjusted=float(p))
    return tuple(out)


# -- experiment reports -------------------------------------------------------------------------------
def experiment_report(
    store: Store,
    experiment: str | Experiment,
    *,
    as_of: dt.date | dt.datetime,
    metrics: Sequence[str | Metric] | None = None,
    alpha: float = 0.05,
    correction: st.Correction = "holm",
    cuped: bool = True,
    sequential: bool = False,
    tuning_n: float = 5000,
    srm_threshold: float = st.SRM_THRESHOLD,
) -> ExperimentReport:
    """Report one experiment as of `as_of` from its exposures and the events that followed."""
    exp = ExperimentRegistry(store).get(experiment) if isinstance(experiment, str) else experiment
    ms = resolve(metrics if metrics is not None else exp.metrics)
    expr = variant_statistics(
        store.table("exposures"), store.table("events"), exp.name, ms, as_of=as_of,
        window_days=exp.window_days, pre_days=exp.pre_days if cuped else 0.0, start=exp.start, end=exp.end,
    )
    frame = store.execute(expr)
    return report_from_frame(exp, frame, ms, as_of=as_of, alpha=alpha, correction=correction, cuped=cuped, sequential=sequential,
                             tuning_n=tuning_n, srm_threshold=srm_threshold)


def report_from_frame(
    exp: Experiment,
    frame: pd.DataFrame,
    metrics: Sequence[Metric],
    *,
    as_of: dt.date | dt.datetime,
    alpha: float = 0.05,
    correction: st.Correction = "holm",
    cuped: bool = True,
    sequential: bool = False,
    tuning_n: float = 5000,
    srm_threshold: float = st.SRM_THRESHOLD,
) -> ExperimentReport:
    """The report from the aggregate's result (one row per variant)."""
    rows = {str(r["variant"]): r for r in frame.to_dict("records")}
    if exp.control not in rows:
        raise NotFoundError(f"exposures of control variant of experiment {exp.name!r}", exp.control)
    units = {v: int(rows[v]["n"]) if v in rows else 0 for v in exp.variant_names}
    extra = sorted(set(rows) - set(units))
    if extra:
        raise InputError(f"variants in exposures of {exp.name!r}", f"a subset of {list(exp.variant_names)}", extra)
    check = st.srm([units[v] for v in exp.variant_names], list(exp.weights), threshold=srm_threshold)
    present = {v: rows[v] for v in exp.variant_names if v in rows}
    res = _results(present, metrics, exp.control, alpha=alpha, cuped=cuped, sequential=sequential, tuning_n=tuning_n)
    dup = int(frame["multiple_exposures"].iloc[0]) if len(frame) else 0
    return ExperimentReport(exp.name, end_of(as_of), exp.control, units, check, dup, corrected(res, correction), correction, sequential, alpha, cuped)


# -- analyst tables ---------------------------------------------------------------------------------
def analyze_table(
    store: Store,
    table: ir.Table,
    *,
    variant_col: str,
    control: str,
    metrics: Sequence[str],
    covariate: str | None = None,
    alpha: float = 0.05,
    correction: st.Correction = "holm",
) -> tuple[VariantResult, ...]:
    """Welch comparisons of every treatment with `control` on each per-unit column in `metrics`
    (CUPED on the pre-period `covariate` column when given). Rows with a NULL metric are skipped."""
    frame = store.execute(column_statistics(table, variant_col, metrics, covariate=covariate))
    rows = {str(r["variant"]): r for r in frame.to_dict("records")}
    if control not in rows:
        raise InputError("control", f"one of the values of {variant_col}: {sorted(rows)}", control)
    out = []
    for c in metrics:
        stat = {v: _column_stat(r, c, covariate is not None) for v, r in rows.items()}
        out.append(VariantResult(c, c, "mean", control, stat[control].n, _plain_mean(stat[control])))
        for v in sorted(set(rows) - {control}):
            out.append(VariantResult(c, c, "mean", v, stat[v].n, _plain_mean(stat[v]), compare(stat[control], stat[v], alpha=alpha)))
    return corrected(out, correction)


def _column_stat(r: dict[str, Any], c: str, cuped: bool) -> Statistic:
    def f(key: str) -> float:
        v = r[f"{c}__{key}"]
        return 0.0 if v is None or (isinstance(v, float) and math.isnan(v)) else float(v)

    x = st.SampleMean(int(r[f"{c}__n"]), f("sum"), f("ss"))
    return st.CupedStatistic(x, st.SampleMean(x.n, f("psum"), f("pss")), f("xp")) if cuped else x


def read_results_file(store: Store, path: str | Path) -> ir.Table:
    """A per-unit CSV or Parquet file as a table of `store` (registered, not copied)."""
    p = Path(path)
    if not p.is_file():
        raise InputError("file", "an existing CSV or Parquet file", str(p))
    suffixes = "".join(p.suffixes).lower()
    if suffixes.endswith((".parquet", ".pq")):
        return store.read_file(p, "parquet")
    if suffixes.endswith((".csv", ".csv.gz", ".tsv")):
        return _checked_csv(store, p)
    raise InputError("file", "a .csv, .csv.gz or .parquet file", p.name)


def _checked_csv(store: Store, p: Path) -> ir.Table:
    """DuckDB's reader, refusing what its sniffer would silently misread: an empty file, a header
    without rows, and a stray quote (the sniffer then reads each whole line as one column)."""
    if p.stat().st_size == 0:
        raise InputError("file", "a CSV with a header row and at least one data row", f"{p.name}: an empty file")
    try:
        table = store.read_file(p, "csv")
    except Exception as exc:  # duckdb's own parse errors, said once with the file's name
        raise InputError("file", "a readable CSV with a header row", f"{p.name}: {str(exc).splitlines()[0]}") from exc
    cols = list(table.columns)
    if len(cols) == 1 and any(d in cols[0] for d in (",", ";", "\t", "|")):
        broken = survey(p, quotes=True).broken  # ingest's rule: a line whose quoting does not close
        where = f"an unbalanced quote (\") on line {broken[0].line}" if broken else "one column only"
        raise InputError("file", "a CSV whose rows split into the header's columns", f"{p.name}: {where}")
    if store.execute(table.limit(1).count()) == 0:
        raise InputError("file", "a CSV with a header row and at least one data row", f"{p.name}: no data rows")
    return table


def analyze_file(
    path: str | Path,
    *,
    variant_col: str,
    control: str,
    metrics: Sequence[str],
    covariate: str | None = None,
    alpha: float = 0.05,
    correction: st.Correction = "holm",
) -> tuple[VariantResult, ...]:
    """`analyze_table` over a file read by an in-memory DuckDB store (the same aggregate path)."""
    from qianmian.store import connect

    store = connect("duckdb://", migrate=False)
    try:
        table = read_results_file(store, path)
        return analyze_table(
            store, table, variant_col=variant_col, control=control, metrics=metrics, covariate=covariate, alpha=alpha, correction=correction
        )
    finally:
        store.close()


# -- presentation -----------------------------------------------------------------------------------
def result_rows(results: Sequence[VariantResult]) -> list[dict[str, Any]]:
    """Flat rows: metric, variant, n, mean (raw), adjusted_mean (CUPED, else None) and, against
    control, lift_abs, lift_rel, ci_low, ci_high (relative lift, on the adjusted means when
    adjusted), p_value, p_adjusted, error."""
    rows = []
    for r in results:
        c = r.comparison
        row = {"metric": r.metric, "variant": r.variant, "n": r.n, "mean": r.mean, "adjusted_mean": r.adjusted_mean}
        row |= {
            "lift_abs": c.lift_abs if c else None, "lift_rel": c.lift_rel if c else None,
            "ci_low": c.ci_rel[0] if c else None, "ci_high": c.ci_rel[1] if c else None,
            "ci_abs_low": c.ci_abs[0] if c else None, "ci_abs_high": c.ci_abs[1] if c else None,
            "p_value": c.p_value if c else None, "p_adjusted": r.p_adjusted if c else None,
            "method": c.method if c else None, "error": c.error if c else None, "higher_is_better": r.higher_is_better,
        }
        rows.append(row)
    return rows


def report_dict(report: ExperimentReport) -> dict[str, Any]:
    """The whole report as one JSON-able document."""
    return {
        "experiment": report.experiment, "as_of": report.as_of, "control": report.control, "units": report.units,
        "srm": {"observed": report.srm.observed, "expected": report.srm.expected, "chi2": report.srm.chi2,
                "p_value": report.srm.p_value, "threshold": report.srm.threshold, "mismatch": report.srm.mismatch},
        "multiple_exposures": report.multiple_exposures, "correction": report.correction, "cuped": report.cuped,
        "cuped_metrics": sorted({r.metric for r in report.results if r.adjusted_mean is not None}),
        "sequential": report.sequential, "alpha": report.alpha,
        "results": result_rows(report.results), "summary": report.summary,
    }


def _fmt_value(r: VariantResult, v: float) -> str:
    if r.kind == "proportion" or "conversion" in r.metric or "rate" in r.metric:
        return f"{v:.2%}"
    return f"{v:,.2f}"


def sentence(r: VariantResult, control: str) -> str:
    """One plain sentence about one treatment result (relative lift, interval, p-value)."""
    c = r.comparison
    if c is None:
        return ""
    if c.error is not None:
        return f"{r.label[:1].upper()}{r.label[1:]}: no comparison ({c.error.lower().replace('_', ' ')})."
    vs = f"{_fmt_value(r, c.treatment_mean)} vs {_fmt_value(r, c.control_mean)}"
    vs = f"CUPED-adjusted {vs}" if c.method == "cuped" else vs
    detail = f"({vs}; {1 - c.alpha:.0%} CI {c.ci_rel[0]:+.0%} to {c.ci_rel[1]:+.0%}; p = {c.p_value:.2g})"
    if c.p_value >= c.alpha:
        return f"On {r.label}, {r.variant} and {control} are not distinguishable {detail}."
    if "conversion" in r.metric and c.lift_rel > 0:
        head = f"{r.variant.capitalize()} converted {c.lift_rel:.0%} better than {control} on {r.label}"
    else:
        direction = "higher" if c.lift_rel > 0 else "lower"
        worse = "" if (c.lift_rel > 0) == r.higher_is_better else ", a worse result"
        head = f"{r.variant.capitalize()}'s {r.label} was {abs(c.lift_rel):.0%} {direction} than {control}'s{worse}"
    if not math.isnan(r.p_adjusted) and r.p_adjusted >= c.alpha:
        return f"{head} {detail}, but this is not significant once corrected for multiple comparisons (adjusted p = {r.p_adjusted:.2g})."
    return f"{head} {detail}."


def summary_text(report: ExperimentReport) -> str:
    """A paragraph a marketer can paste: units, split check, then one sentence per result."""
    n = sum(report.units.values())
    split = ", ".join(f"{report.units[v]:,} {v}" for v in report.units)
    parts = [f"Experiment {report.experiment}, as of {report.as_of:%Y-%m-%d %H:%M}: {n:,} shoppers ({split})."]
    if report.srm.mismatch:
        parts.append(f"Warning: the split does not match the plan (sample-ratio mismatch, p = {report.srm.p_value:.1g} "
                     f"< {report.srm.threshold:g}); find the cause before trusting these results.")
    parts += [s for s in (sentence(r, report.control) for r in report.results) if s]
    if report.correction != "none":
        parts.append(f"Significance is judged after correcting for {sum(r.comparison is not None for r in report.results)} "
                     f"comparisons ({'Holm' if report.correction == 'holm' else 'Benjamini-Hochberg'}).")
    if report.sequential:
        parts.append("Intervals are always valid, so reading the test early does not inflate false positives.")
    return " ".join(parts)
