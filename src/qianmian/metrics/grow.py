"""GROW: the GMV change between two periods split into Gain, Retain, bOost and Widen.

Per group g (a category by default), GMV is a product of three factors:

    V_g = B_g · R_g · O_g      B = buyers, R = orders per buyer (N/B), O = GMV per order (V/N)

For a group sold in both periods (V > 0 and B > 0 in each; V <= 1e-6 counts as 0), the additive LMDI-I decomposition
(Ang 2005) splits the change exactly:

    ΔV_g = L(V1, V0)·ln(B1/B0)  +  L(V1, V0)·ln(R1/R0)  +  L(V1, V0)·ln(O1/O0)
              Gain (penetration)    Retain (frequency)      bOost (order value)

    L(a, b) = (a - b) / (ln a - ln b),   L(a, a) = a        (the logarithmic mean)

Widen is the change of groups that had no buyer in the base period (new categories for the
scope's buyers): ΔV_g goes to Widen. A group that lost every buyer puts its whole ΔV_g in Gain
(the limit of LMDI as B1 → 0); a group with buyers in both periods but GMV <= 0 in one (returns
exceeding sales) puts ΔV_g in bOost. So Gain + Retain + bOost + Widen = V1 - V0 exactly.

GMV = buys - returns; a buyer is a `user_id`, an anonymous order counts as one buyer.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from qianmian.dates import Period
from qianmian.errors import InputError
from qianmian.metrics.common import in_period, order_key, scoped, signed_amount
from qianmian.store import Store
from qianmian.store.rows import records

PARTS = ("gain", "retain", "boost", "widen")
MIN_GMV = 1e-6
"""GMV at or below this (a millionth of the currency unit) is treated as zero by the decomposition."""


def grow_inputs(
    events: ir.Table,
    *,
    base: Period,
    current: Period,
    by: str = "category_id",
    brand: str | None = None,
    category: str | None = None,
) -> ir.Table:
    """Sufficient statistics per group and period: `group, period ('base'|'current'), gmv, buyers, orders`."""
    if by not in events.columns:
        raise InputError("by", f"a column of events {list(events.columns)}", by)
    ev = scoped(events, brand=brand, category=category)
    ev = ev.filter(ev.behavior.isin(["buy", "return"]))
    period = ibis.cases((in_period(ev, base), "base"), (in_period(ev, current), "current"), else_=ibis.null().cast("string"))
    ev = ev.mutate(period=period, group=ev[by].cast("string").fill_null("(none)"))
    ev = ev.filter(ev.period.notnull())
    is_buy = ev.behavior == "buy"
    okey = order_key(ev)
    return ev.group_by(["group", "period"]).aggregate(
        gmv=signed_amount(ev).sum(),
        buyers=ev.user_id.fill_null("order:" + okey).nunique(where=is_buy),
        orders=okey.nunique(where=is_buy),
    )


def logmean(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The logarithmic mean L(a, b) = (a - b) / (ln a - ln b), with L(a, a) = a (a, b > 0)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a - b) / (np.log(a) - np.log(b))
    return np.where(np.isclose(a, b, rtol=1e-12, atol=0.0), a, out)


def lmdi(stats: pd.DataFrame) -> pd.DataFrame:
    """Per-group decomposition from wide statistics.

    `stats` has one row per group with columns gmv_0, buyers_0, orders_0 (base) and gmv_1,
    buyers_1, orders_1 (current). Returns `group`-indexed columns gain, retain, boost, widen, change.
    """
    v0, v1 = stats.gmv_0.to_numpy(float), stats.gmv_1.to_numpy(float)
    b0, b1 = stats.buyers_0.to_numpy(float), stats.buyers_1.to_numpy(float)
    n0, n1 = stats.orders_0.to_numpy(float), stats.orders_1.to_numpy(float)
    change = v1 - v0
    both = (v0 > MIN_GMV) & (v1 > MIN_GMV) & (b0 > 0) & (b1 > 0) & (n0 > 0) & (n1 > 0)
    new, lost = b0 == 0, (b0 > 0) & (b1 == 0)
    other = ~(both | new | lost)
    v0, v1, b0, b1, n0, n1 = (np.where(both, x, 1.0) for x in (v0, v1, b0, b1, n0, n1))
    w = np.where(both, logmean(v1, v0), 0.0)
    gain = w * np.log(b1 / b0) + np.where(lost, change, 0.0)
    retain = w * np.log((n1 / b1) / (n0 / b0))
    boost = w * np.log((v1 / n1) / (v0 / n0)) + np.where(other, change, 0.0)
    widen = np.where(new, change, 0.0)
    out = pd.DataFrame({"gain": gain, "retain": retain, "boost": boost, "widen": widen}, index=stats.index)
    out["change"] = change
    return out


@dataclass(frozen=True)
class GrowResult:
    """GMV in both periods, the change and its four parts; `groups` holds the same per group."""

    base: str
    current: str
    by: str
    gmv_base: float
    gmv_current: float
    change: float
    gain: float
    retain: float
    boost: float
    widen: float
    groups: list[dict]

    def to_dict(self) -> dict:
        return asdict(self)


def grow_report(
    store: Store,
    *,
    base: Period,
    current: Period,
    by: str = "category_id",
    brand: str | None = None,
    category: str | None = None,
    events: ir.Table | None = None,
) -> GrowResult:
    """Execute `grow_inputs` and decompose; groups are sorted by the size of their change."""
    ev = store.table("events") if events is None else events
    long = store.execute(grow_inputs(ev, base=base, current=current, by=by, brand=brand, category=category))
    wide = _widen_stats(long)
    parts = lmdi(wide)
    groups = pd.concat([wide, parts], axis=1).reset_index()
    groups = groups.reindex(groups.change.abs().sort_values(ascending=False).index)
    totals = parts.sum()
    return GrowResult(
        base=str(base), current=str(current), by=by,
        gmv_base=float(wide.gmv_0.sum()), gmv_current=float(wide.gmv_1.sum()), change=float(totals.change),
        gain=float(totals.gain), retain=float(totals.retain), boost=float(totals.boost), widen=float(totals.widen),
        groups=_records(groups),
    )


def _widen_stats(long: pd.DataFrame) -> pd.DataFrame:
    wide = long.pivot_table(index="group", columns="period", values=["gmv", "buyers", "orders"], aggfunc="sum")
    wide.columns = [f"{name}_{0 if period == 'base' else 1}" for name, period in wide.columns]
    for col in ("gmv_0", "gmv_1", "buyers_0", "buyers_1", "orders_0", "orders_1"):
        if col not in wide.columns:
            wide[col] = 0.0
    return wide.fillna(0.0)[["gmv_0", "gmv_1", "buyers_0", "buyers_1", "orders_0", "orders_1"]]


def _records(frame: pd.DataFrame) -> list[dict]:
    frame = frame.rename(columns={"gmv_0": "gmv_base", "gmv_1": "gmv_current", "buyers_0": "buyers_base",
                                  "buyers_1": "buyers_current", "orders_0": "orders_base", "orders_1": "orders_current"})
    for col in ("buyers_base", "buyers_current", "orders_base", "orders_current"):
        frame[col] = frame[col].astype("int64")
    return records(frame)
