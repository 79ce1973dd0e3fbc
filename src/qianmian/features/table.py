"""The consumer feature table: one row per consumer as of a date, built by the engine in one expression.

Columns (all computed from events with `ts` before the end of `as_of`):

- `user_id`
- `{behavior}_{w}d`: events of each behaviour in each window (default view/fav/cart/buy × 1/7/30/90/365 days)
- `first_seen`, `last_seen`: first and last event; `member`: `users.member_since` before the end of
  `as_of` or a `member_join` event
- `aipl`: AIPL stage (A/I/P/L, NULL = none) from `qianmian.metrics.aipl.aipl_stages`
- `customer` (new/returning), `lifecycle` (active/silent/churning/lost), `first_purchase`,
  `last_purchase`, `recency_days`, `frequency` (orders), `monetary` (purchases − returns) from
  `qianmian.metrics.lifecycle.lifecycle_states`; `tenure_days` = days from the first purchase to `as_of`
- `top_category`, `top_category_2`, `top_category_3`: the categories with the largest behaviour-weighted
  engagement in the interest window (`qianmian.consumers.interests.top_categories`; ties → smaller id)
- `gender`, `city`, `country`, `traits` (JSON text) from `users`
- `tags`: active self-tags, comma-separated and sorted (`qianmian.consumers.tags` reading rule)
- `p_alive`, `expected_purchases_{N}d`, `clv_{N}d` (part "clv", only when asked for): BG/NBD +
  Gamma-Gamma fitted on the buys before the end of `as_of` (`qianmian.clv`, docs/clv.md); NULL for
  consumers without a purchase

Per-category and per-brand counts are a long table of their own: `category_features`.

Consumers = everyone with an event before the end of `as_of` or a row in `users`, except those
who opted out (`qianmian.consumers.consent.opted_out_table`): they are never profiled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Literal

import ibis

from qianmian.consumers.consent import opted_out_table
from qianmian.consumers.interests import top_categories
from qianmian.consumers.tags import active_tags_table
from qianmian.dates import DateLike, end_of, to_date
from qianmian.errors import InputError
from qianmian.store import Store
from qianmian.store.schema import BEHAVIORS


@dataclass(frozen=True)
class FeatureSpec:
    """Which behaviour counts the table carries and how "top categories" are read."""

    windows: tuple[int, ...] = (1, 7, 30, 90, 365)
    behaviors: tuple[str, ...] = ("view", "fav", "cart", "buy")
    interest_days: int = 365
    top_n: int = 3
    clv_purchase_days: tuple[int, ...] = (90,)
    clv_value_days: tuple[int, ...] = (365,)

    def __post_init__(self) -> None:
        if not self.windows or any(not isinstance(w, int) or w <= 0 for w in self.windows):
            raise InputError("windows", "positive whole numbers of days", self.windows)
        unknown = [b for b in self.behaviors if b not in BEHAVIORS]
        if unknown:
            raise InputError("behaviors", f"behaviours among {', '.join(BEHAVIORS)}", unknown)
        for name in ("clv_purchase_days", "clv_value_days"):
            days = getattr(self, name)
            if any(not isinstance(d, int) or d <= 0 for d in days):
                raise InputError(name, "positive whole numbers of days", days)
        if not 1 <= self.top_n <= 10:
            raise InputError("top_n", "1 to 10", self.top_n)

    def clv_columns(self) -> list[str]:
        return ["p_alive", *(f"expected_purchases_{d}d" for d in self.clv_purchase_days), *(f"clv_{d}d" for d in self.clv_value_days)]

    def count_columns(self) -> list[str]:
        return [f"{b}_{w}d" for b in self.behaviors for w in self.windows]


Part = Literal["activity", "lifecycle", "aipl", "top_categories", "tags", "clv"]
PARTS: tuple[Part, ...] = ("activity", "lifecycle", "aipl", "top_categories", "tags")
"""Optional groups of columns; `user_id` and the `users` profile columns are always there. The "clv"
part fits a model, so it is built only when named (a rule reading `p_alive`, the `clv` export)."""
ALL_PARTS: tuple[Part, ...] = (*PARTS, "clv")
PART_OF: dict[str, Part] = {
    "member": "activity", "first_seen": "activity", "last_seen": "activity",
    "aipl": "aipl", "top_category": "top_categories", "top_category_2": "top_categories", "tags": "tags",
    **{c: "lifecycle" for c in ("customer", "lifecycle", "first_purchase", "last_purchase", "recency_days",
                                "frequency", "monetary", "tenure_days")},
    "p_alive": "clv", "expected_purchases_90d": "clv", "clv_365d": "clv",
}
"""The part that provides a column (behaviour counts such as `view_30d` come with "activity")."""


def consumer_features(
    store: Store, *, as_of: DateLike, spec: FeatureSpec = FeatureSpec(), parts: Collection[Part] = PARTS
) -> ibis.Table:
    """One row per consumer as of `as_of` (see the module docstring for every column).

    `parts` limits the table to some groups of columns (a rule reading only `lifecycle` and
    `trait("country")` needs only "lifecycle"), so the engine does no work nobody reads.

    >>> feats = consumer_features(store, as_of="2010-12-09")
    >>> store.execute(feats.filter(feats.lifecycle == "silent").count())  # doctest: +SKIP
    """
    clv = _clv_scores(store, as_of, spec) if "clv" in parts else None
    return feature_table(
        store.table("events"), store.table("users"), store.table("user_tags"), as_of=as_of, spec=spec, parts=parts, clv=clv
    )


def _clv_scores(store: Store, as_of: DateLike, spec: FeatureSpec) -> ibis.Table:
    """The CLV columns for every buyer, fitted on the buys up to `as_of` (the engine aggregates, numpy
    scores, the small per-consumer table goes back to the engine)."""
    from qianmian.clv.scores import fit_store, score_frame

    model, summary = fit_store(store, calibration_end=to_date(as_of))
    frame = score_frame(model, summary, purchase_days=spec.clv_purchase_days, value_days=spec.clv_value_days)
    return ibis.memtable(frame[["user_id", *spec.clv_columns()]])


def feature_table(
    events: ibis.Table, users: ibis.Table, user_tags: ibis.Table, *, as_of: DateLike,
    spec: FeatureSpec = FeatureSpec(), parts: Collection[Part] = PARTS, clv: ibis.Table | None = None,
) -> ibis.Table:
    """`consumer_features` over explicit tables (for tests and other stores); part "clv" needs the
    per-consumer `clv` scores (user_id + `spec.clv_columns()`)."""
    from qianmian.metrics.aipl import aipl_stages
    from qianmian.metrics.lifecycle import lifecycle_states

    unknown = sorted(set(parts) - set(ALL_PARTS))
    if unknown:
        raise InputError("parts", f"a subset of {list(ALL_PARTS)}", unknown)
    if "clv" in parts and clv is None:
        raise InputError("clv", "the per-consumer CLV scores for part 'clv'", None)
    end = end_of(as_of)
    past = events.filter(events.user_id.notnull(), events.ts < end)
    builders = {
        "activity": lambda: (_activity(past, end, spec), 0),
        "lifecycle": lambda: (_lifecycle(lifecycle_states(events, as_of=as_of), to_date(as_of)), None),
        "aipl": lambda: (aipl_stages(events, as_of=as_of).select("user_id", aipl="stage"), None),
        "top_categories": lambda: (_top_categories(past, end, spec), None),
        "tags": lambda: (_tags(user_tags, as_of), None),
        "clv": lambda: (clv, None),
    }
    table = _consumers(past, users)
    for name in ALL_PARTS:
        if name in parts:
            table = _attach(table, *builders[name]())
    return _finish(table, users, end)


def category_features(
    store: Store, *, as_of: DateLike, by: Literal["category", "brand"] = "category", spec: FeatureSpec = FeatureSpec()
) -> ibis.Table:
    """Behaviour counts per consumer and category (or brand): one row per (user_id, category_id | brand_id).

    Same windows and behaviours as the consumer table; pairs without any event in the longest
    window are absent. Rules reach these counts with `count(view, category = "x", 30d)`.
    """
    column = {"category": "category_id", "brand": "brand_id"}.get(by)
    if column is None:
        raise InputError("by", "category or brand", by)
    end = end_of(as_of)
    ev = store.table("events")
    ev = ev.filter(ev.user_id.notnull(), ev[column].notnull(), ev.ts < end, ev.ts >= end - dt.timedelta(days=max(spec.windows)))
    metrics = {
        f"{b}_{w}d": ev.count(where=(ev.behavior == b) & (ev.ts >= end - dt.timedelta(days=w)))
        for b in spec.behaviors
        for w in spec.windows
    }
    return ev.group_by("user_id", column).aggregate(**metrics)


def _consumers(past: ibis.Table, users: ibis.Table) -> ibis.Table:
    """Everyone with an event or a `users` row, except those who opted out (never profiled)."""
    ids = past.select(user_id=past.user_id.cast("string")).union(users.select(user_id=users.user_id.cast("string")), distinct=True)
    out = opted_out_table(users)
    ids = ids.filter(ids.user_id.notnull())
    return ids.anti_join(out, ids.user_id == out.user_id.cast("string"))


def _attach(left: ibis.Table, right: ibis.Table, fill: object) -> ibis.Table:
    """Left-join `right` by user_id; numeric columns missing on the right become `fill` (None = NULL)."""
    cols = [c for c in right.columns if c != "user_id"]
    joined = left.left_join(right, left.user_id == right.user_id)
    values = [
        right[c].fill_null(fill) if fill is not None and right[c].type().is_numeric() else right[c] for c in cols
    ]
    return joined.select(left, *[v.name(c) for v, c in zip(values, cols)])


def _activity(past: ibis.Table, end: dt.datetime, spec: FeatureSpec) -> ibis.Table:
    """Behaviour counts per window plus first/last event and member joins, in one aggregate."""
    metrics = {
        f"{b}_{w}d": past.count(where=(past.behavior == b) & (past.ts >= end - dt.timedelta(days=w)))
        for b in spec.behaviors
        for w in spec.windows
    }
    metrics["_member_joins"] = past.count(where=past.behavior == "member_join")
    return past.group_by("user_id").aggregate(first_seen=past.ts.min(), last_seen=past.ts.max(), **metrics)


def _lifecycle(states: ibis.Table, day: dt.date) -> ibis.Table:
    first = states.first_purchase.cast("date")
    return states.select(
        "user_id", "customer", "first_purchase", "last_purchase", "recency_days", "frequency", "monetary",
        lifecycle=states.state,
        tenure_days=ibis.literal(day).delta(first, unit="day"),
    )


def _top_categories(events: ibis.Table, end: dt.datetime, spec: FeatureSpec) -> ibis.Table:
    """The `top_n` top categories of the interest window, one column each (`qianmian.consumers.interests`)."""
    ranked = top_categories(events, n=spec.top_n, end=end, days=spec.interest_days)
    names = ["top_category"] + [f"top_category_{k}" for k in range(2, spec.top_n + 1)]
    metrics = {name: ranked.category_id.max(where=ranked.rank == k) for k, name in enumerate(names)}
    return ranked.group_by("user_id").aggregate(**metrics)


def _tags(user_tags: ibis.Table, as_of: DateLike) -> ibis.Table:
    active = active_tags_table(user_tags, as_of=as_of)
    tags = ibis.literal(",").join(active.tag.collect(distinct=True).sort())  # sorted on every engine
    return active.group_by("user_id").aggregate(tags=tags)


def _finish(table: ibis.Table, users: ibis.Table, end: dt.datetime) -> ibis.Table:
    profile = users.select("user_id", "gender", "city", "country", "traits", "member_since")
    t = _attach(table, profile, None)
    extra: dict[str, ibis.Value] = {}
    if "_member_joins" in t.columns:
        extra["member"] = (t.member_since.notnull() & (t.member_since < end)) | (t._member_joins > 0)
    if "frequency" in t.columns:
        extra.update(frequency=t.frequency.fill_null(0), monetary=t.monetary.fill_null(0.0))
    return t.mutate(**extra).drop("member_since", *(["_member_joins"] if "_member_joins" in t.columns else []))
