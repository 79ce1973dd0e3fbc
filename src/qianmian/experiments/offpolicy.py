"""Off-policy evaluation: judge a new ranking policy on logs collected by another one.

A log row holds the context it was served in (e.g. the slot `position`), the `action` taken
(the item shown), the logging policy's probability of that action (`propensity`, π₀(a|x)) and
the `reward` (a click). For a new policy π with probabilities π(a|x):

- IPS (inverse propensity scoring): V̂ = (1/n) Σ wᵢ rᵢ, with wᵢ = π(aᵢ|xᵢ) / π₀(aᵢ|xᵢ), unbiased;
- SNIPS (self-normalized): V̂ = Σ wᵢ rᵢ / Σ wᵢ, slightly biased, much lower variance.

The store computes n, Σwr, Σ(wr)², Σw, Σw², Σw·wr; IPS is then a `SampleMean` and SNIPS a
`RatioStatistic` (delta-method interval). The policy is a table `(*context, *action, probability)`;
a policy that was itself logged can be turned into one with `policy_from_log` (its empirical
action frequencies per context, fine for a context-free policy such as Bernoulli Thompson sampling).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import ibis
import ibis.expr.types as ir
from scipy import stats as sps

from qianmian.errors import InputError
from qianmian.experiments import stats as st
from qianmian.store import Store


@dataclass(frozen=True)
class Estimate:
    """A policy value with its interval at level 1 − alpha."""

    value: float
    ci: tuple[float, float]
    se: float
    n: int


@dataclass(frozen=True)
class OffPolicyEstimate:
    ips: Estimate
    snips: Estimate
    n: int
    effective_sample_size: float  # (Σw)² / Σw²
    mean_weight: float  # ≈ 1 when the target policy's support is covered by the log


def policy_from_log(log: ir.Table, *, action: Sequence[str] = ("item_id",), context: Sequence[str] = ("position",)) -> ir.Table:
    """π(a | x) = count(x, a) / count(x): the empirical action distribution of a logged policy."""
    _need(log, [*action, *context], "log")
    per = log.group_by([*context, *action]).aggregate(_k=log.count())
    tot = log.group_by(list(context)).aggregate(_n=log.count())
    j = per.join(tot, list(context))
    return j.select(*context, *action, probability=j._k.cast("float64") / j._n)


def _need(t: ir.Table, cols: Sequence[str], what: str) -> None:
    missing = [c for c in cols if c not in t.columns]
    if missing:
        raise InputError(f"{what} columns", f"columns of the {what} table {list(t.columns)}", missing)


def offpolicy_statistics(
    log: ir.Table,
    policy: ir.Table,
    *,
    action: Sequence[str] = ("item_id",),
    context: Sequence[str] = ("position",),
    reward: str = "click",
    propensity: str = "propensity_score",
) -> ir.Table:
    """One row: `n, sum_wr, sum_wr2, sum_w, sum_w2, sum_w_wr, bad_propensity` (π absent → w = 0)."""
    _need(log, [*action, *context, reward, propensity], "log")
    _need(policy, [*action, *context, "probability"], "policy")
    keys = [*context, *action]
    j = log.left_join(policy.select(*keys, "probability"), keys)
    p0 = j[propensity].cast("float64")
    w = ibis.ifelse(p0 > 0, j.probability.fill_null(0.0) / p0, 0.0)
    r = j[reward].cast("float64")
    return j.aggregate(
        n=j.count(), sum_wr=(w * r).sum(), sum_wr2=(w * r * w * r).sum(), sum_w=w.sum(), sum_w2=(w * w).sum(),
        sum_w_wr=(w * w * r).sum(), bad_propensity=(p0.isnull() | (p0 <= 0)).cast("int64").sum(),
    )


def estimates_from_sums(row: dict[str, float], *, alpha: float = 0.05) -> OffPolicyEstimate:
    """IPS and SNIPS with normal / delta-method intervals from the aggregate's sums."""
    n = int(row["n"])
    if n < 2:
        raise InputError("log", "at least two rows", n)
    if int(row["bad_propensity"]):
        raise InputError("propensity", "a positive logging probability on every row", f"{int(row['bad_propensity'])} rows without")
    z = float(sps.norm.ppf(1 - alpha / 2))
    wr = st.SampleMean(n, float(row["sum_wr"]), float(row["sum_wr2"]))
    w = st.SampleMean(n, float(row["sum_w"]), float(row["sum_w2"]))
    ips_se = math.sqrt(wr.variance / n)
    ratio = st.RatioStatistic(wr, w, float(row["sum_w_wr"]))
    sn_se = math.sqrt(ratio.variance_of_mean) if w.sum > 0 else math.nan
    ess = w.sum**2 / w.sum_squares if w.sum_squares > 0 else 0.0
    return OffPolicyEstimate(
        Estimate(wr.mean, (wr.mean - z * ips_se, wr.mean + z * ips_se), ips_se, n),
        Estimate(ratio.mean, (ratio.mean - z * sn_se, ratio.mean + z * sn_se), sn_se, n),
        n, ess, w.mean,
    )


def offpolicy_estimate(
    store: Store,
    log: ir.Table,
    policy: ir.Table,
    *,
    action: Sequence[str] = ("item_id",),
    context: Sequence[str] = ("position",),
    reward: str = "click",
    propensity: str = "propensity_score",
    alpha: float = 0.05,
) -> OffPolicyEstimate:
    """The value (e.g. click-through) `policy` would have had on the traffic behind `log`."""
    expr = offpolicy_statistics(log, policy, action=action, context=context, reward=reward, propensity=propensity)
    return estimates_from_sums(store.execute(expr).to_dict("records")[0], alpha=alpha)


def on_policy_value(store: Store, log: ir.Table, *, reward: str = "click", alpha: float = 0.05) -> Estimate:
    """The logged policy's own mean reward with a Wilson interval (0/1 rewards) or a t interval."""
    _need(log, [reward], "log")
    r = log[reward].cast("float64")
    row = store.execute(log.aggregate(n=r.count(), s=r.sum(), ss=(r * r).sum(), binary=(r.isin([0.0, 1.0])).all()))
    rec = row.to_dict("records")[0]
    m = st.SampleMean(int(rec["n"]), float(rec["s"] or 0.0), float(rec["ss"] or 0.0))
    se = math.sqrt(m.variance / m.n) if m.n > 1 else math.nan
    if bool(rec["binary"]):
        return Estimate(m.mean, st.proportion_interval(st.Proportion(m.n, m.sum), alpha=alpha), se, m.n)
    return Estimate(m.mean, st.mean_interval(m, alpha=alpha), se, m.n)
