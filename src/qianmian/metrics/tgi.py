"""TGI: how much more (or less) a group is represented in a target audience than in a reference.

For a dimension (category, item, brand, channel, city, gender, …) and each of its values v:

    target_share(v)    = |target users with v| / |target users|
    reference_share(v) = |reference users with v| / |reference users|
    TGI(v)             = target_share(v) / reference_share(v) × 100        (100 = average)

"Users with v": for an events column, users with an event (of `behaviors`, in `period`) whose
column equals v; for a users column (city, gender, country, …), users whose attribute is v.
Denominators are the whole audiences, so members without any matching event still count.
`small` flags values with fewer than `min_count` target users, whose TGI is noisy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import ibis
import ibis.expr.types as ir

from qianmian.dates import Period
from qianmian.errors import InputError
from qianmian.metrics.common import in_period, products
from qianmian.store import Store
from qianmian.store.rows import records

PRODUCT_DIMENSIONS = ("category_id", "item_id", "brand_id")
"""Dimensions of goods: TGI over them leaves out non-product items (postage, fees…)."""


def _attribute_pairs(
    by: str, events: ir.Table, users: ir.Table | None, behaviors: Sequence[str] | None, period: Period | None
) -> ir.Table:
    """Distinct (user_id, value) pairs for the dimension `by`."""
    if by in events.columns and by != "user_id":
        ev = products(events) if by in PRODUCT_DIMENSIONS else events
        ev = ev.filter(ev.user_id.notnull(), ev[by].notnull())
        if behaviors:
            ev = ev.filter(ev.behavior.isin(list(behaviors)))
        if period is not None:
            ev = ev.filter(in_period(ev, period))
        return ev.select("user_id", value=ev[by].cast("string")).distinct()
    if users is not None and by in users.columns and by != "user_id":
        u = users.filter(users[by].notnull())
        return u.select("user_id", value=u[by].cast("string")).distinct()
    allowed = [c for c in events.columns if c != "user_id"] + ([c for c in users.columns if c != "user_id"] if users is not None else [])
    raise InputError("by", f"a column of events or users {allowed}", by)


def tgi(
    target: ir.Table,
    reference: ir.Table,
    events: ir.Table,
    *,
    by: str,
    users: ir.Table | None = None,
    behaviors: Sequence[str] | None = None,
    period: Period | None = None,
    min_count: int = 30,
) -> ir.Table:
    """Columns `value, target_count, target_share, reference_count, reference_share, tgi, small`.

    `target` and `reference` are tables with a `user_id` column (duplicates are ignored).
    """
    for name, t in (("target", target), ("reference", reference)):
        if "user_id" not in t.columns:
            raise InputError(name, "a table with a user_id column", list(t.columns))
    pairs = _attribute_pairs(by, events, users, behaviors, period)
    tgt, ref = target.select("user_id").distinct(), reference.select("user_id").distinct()
    counts_t = _counts(pairs, tgt, "target_count")
    counts_r = _counts(pairs, ref, "reference_count")
    j = counts_t.outer_join(counts_r, counts_t.value == counts_r.value)
    j = j.select(
        value=j.value.fill_null(j.value_right),
        target_count=j.target_count.fill_null(0), reference_count=j.reference_count.fill_null(0),
    )
    n_t, n_r = tgt.count().as_scalar(), ref.count().as_scalar()
    j = j.mutate(
        target_share=j.target_count.cast("float64") / n_t.nullif(0).cast("float64"),
        reference_share=j.reference_count.cast("float64") / n_r.nullif(0).cast("float64"),
    )
    j = j.mutate(tgi=j.target_share / j.reference_share.nullif(0.0) * 100.0, small=j.target_count < min_count)
    return j.select("value", "target_count", "target_share", "reference_count", "reference_share", "tgi", "small")


def _counts(pairs: ir.Table, audience: ir.Table, name: str) -> ir.Table:
    inside = pairs.semi_join(audience, "user_id")
    return inside.group_by("value").aggregate(**{name: inside.user_id.nunique()})


@dataclass(frozen=True)
class TGIReport:
    by: str
    target_size: int
    reference_size: int
    min_count: int
    rows: list[dict]

    def to_dict(self) -> dict:
        return asdict(self)


def tgi_report(
    store: Store,
    *,
    target: ir.Table,
    reference: ir.Table,
    by: str,
    behaviors: Sequence[str] | None = None,
    period: Period | None = None,
    min_count: int = 30,
    limit: int | None = 50,
) -> TGIReport:
    """Execute `tgi`; rows sorted by TGI (highest first) among values that are not small, then the rest."""
    expr = tgi(target, reference, store.table("events"), by=by, users=store.table("users"),
               behaviors=behaviors, period=period, min_count=min_count)
    expr = expr.order_by([expr.small, ibis.desc(expr.tgi), ibis.desc(expr.target_count), expr.value])
    if limit is not None:
        expr = expr.limit(limit)
    n_t = int(store.execute(target.select("user_id").distinct().count()))
    n_r = int(store.execute(reference.select("user_id").distinct().count()))
    return TGIReport(by=by, target_size=n_t, reference_size=n_r, min_count=min_count, rows=records(store.execute(expr)))
