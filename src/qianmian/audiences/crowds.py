"""Brand custom strategy crowds (seed 004): micro-groups → TGI vectors → hierarchical re-clustering.

1. Split the consumers with at least one choice (below) into micro-groups by base dimensions
   (default: country, lifecycle state, new/returning, value quintile, order-count tier, tenure
   tercile) — 115 groups of 5+ on Online Retail II; smaller groups are left out ("unclustered").
2. Describe each group g by its category preference: a "choice" is a distinct (consumer, category)
   pair with a `behaviors` event in the window; for the `categories` most chosen categories c,

       TGI(g, c) = (choices of c in g / all choices in g) / (choices of c overall / all choices overall) × 100

   — the TGI of the group's category mix, so groups that buy a lot and groups that buy little are
   compared on what they prefer, not on how much they buy (activity is already a base dimension).

3. Distance between groups: Euclidean distance between log(1 + TGI/100) vectors; re-cluster the
   groups hierarchically (Ward linkage, scipy, each group weighted by its size) into k crowds —
   k given, or the k in `k_range` with the best size-weighted silhouette.
4. Profile each crowd: size, its own top-TGI categories, AIPL mix, value (mean and total
   monetary), most common base values, and a suggested name from its top categories.

Hierarchical clustering has no randomness: the same data gives the same crowds. `random_state`
only chooses the consumer sample when `sample` is set (for very large stores).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

import ibis
import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist, squareform

from qianmian.dates import DateLike, end_of, to_date
from qianmian.errors import InputError
from qianmian.features import FeatureSpec, consumer_features
from qianmian.metrics.common import products
from qianmian.store import Store


@dataclass(frozen=True)
class Dimension:
    """A base dimension: a feature column read as its values (the `bins` most common, others "other"),
    as `bins` quantile tiers, or as log2 tiers (1, 2-3, 4-7, … capped at `bins`)."""

    column: str
    kind: Literal["value", "quantile", "log2"] = "value"
    bins: int = 8


DEFAULT_DIMENSIONS = (
    Dimension("country", "value", 8),
    Dimension("lifecycle", "value", 5),
    Dimension("customer", "value", 3),
    Dimension("monetary", "quantile", 5),
    Dimension("frequency", "log2", 4),
    Dimension("tenure_days", "quantile", 3),
)


@dataclass(frozen=True)
class CrowdSpec:
    """How to split, describe and re-cluster (see the module docstring)."""

    dimensions: tuple[Dimension, ...] = DEFAULT_DIMENSIONS
    categories: int = 40
    behaviors: tuple[str, ...] = ("buy",)
    days: int = 365
    min_group: int = 5
    prior: float = 20.0
    top: int = 3
    k_range: tuple[int, int] = (2, 10)


@dataclass(frozen=True)
class Crowd:
    """One strategy crowd and its profile."""

    crowd: int
    name: str
    size: int
    groups: int
    top_categories: list[dict[str, Any]]
    aipl: dict[str, float]
    value_mean: float
    value_total: float
    traits: dict[str, str]


@dataclass(frozen=True)
class CrowdResult:
    """k crowds over `consumers` clustered consumers in `micro_groups` groups (`unclustered` left out)."""

    as_of: str
    k: int
    quality: float
    quality_by_k: dict[int, float]
    consumers: int
    unclustered: int
    micro_groups: int
    crowds: list[Crowd]
    categories: list[str]
    crowd_tgi: list[list[float]]
    group_keys: list[str] = field(repr=False)
    group_crowd: list[int] = field(repr=False)
    tgi: np.ndarray = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        keep = ("as_of", "k", "quality", "quality_by_k", "consumers", "unclustered", "micro_groups", "categories", "crowd_tgi")
        return {**{f: getattr(self, f) for f in keep}, "crowds": [asdict(c) for c in self.crowds]}


def crowds(
    store: Store, *, as_of: DateLike, k: int | None = None, spec: CrowdSpec = CrowdSpec(),
    sample: int | None = None, random_state: int = 0,
) -> CrowdResult:
    """Strategy crowds as of `as_of` (see the module docstring); `k=None` picks k by silhouette."""
    _check(k, spec)
    consumers = _choosing_consumers(store, as_of=as_of, spec=spec, sample=sample, random_state=random_state)
    groups = store.execute(_group_stats(consumers)).sort_values("key", kind="stable").reset_index(drop=True)
    kept = groups[groups["size"] >= spec.min_group].reset_index(drop=True)
    if len(kept) < 3:
        raise InputError("consumers", f"at least 3 micro-groups of {spec.min_group}+ consumers", len(kept))
    cats = _top_categories(store, consumers, as_of=as_of, spec=spec)
    counts, totals = _group_category_counts(store, consumers, cats, as_of=as_of, spec=spec, keys=kept.key.tolist())
    tgi = _tgi(counts, totals, prior=spec.prior)
    labels, quality, by_k = _cluster(tgi, kept["size"].to_numpy(float), k, spec)
    profiles = _profiles(kept, counts, totals, labels, cats, spec)
    per_crowd = np.stack([counts[labels == c].sum(axis=0) for c in range(1, labels.max() + 1)])
    crowd_totals = np.array([totals[labels == c].sum() for c in range(1, labels.max() + 1)])
    crowd_tgi = np.round(_tgi(per_crowd, crowd_totals, reference=(counts, totals)), 1).tolist()
    n = int(kept["size"].sum())
    return CrowdResult(
        as_of=str(to_date(as_of)), k=int(labels.max()), quality=quality, quality_by_k=by_k, consumers=n,
        unclustered=int(groups["size"].sum()) - n, micro_groups=len(kept), crowds=profiles, categories=cats,
        crowd_tgi=crowd_tgi, group_keys=kept.key.tolist(), group_crowd=labels.tolist(), tgi=tgi,
    )


def crowd_members(store: Store, result: CrowdResult, *, spec: CrowdSpec = CrowdSpec(), sample: int | None = None,
                  random_state: int = 0) -> ibis.Table:
    """(user_id, crowd, crowd_name, micro_group): every clustered consumer of `result`, which must have
    been computed by `crowds` with the same `spec`, `sample` and `random_state` (consumers of the
    micro-groups too small to cluster are left out, as in `result.unclustered`)."""
    consumers = _choosing_consumers(store, as_of=result.as_of, spec=spec, sample=sample, random_state=random_state)
    names = {c.crowd: c.name for c in result.crowds}
    groups = ibis.memtable(pd.DataFrame({
        "key": result.group_keys, "crowd": result.group_crowd, "crowd_name": [names[c] for c in result.group_crowd],
    }))
    joined = consumers.inner_join(groups, "key")
    return joined.select("user_id", "crowd", "crowd_name", micro_group=joined.key)


def _choosing_consumers(store: Store, *, as_of: DateLike, spec: CrowdSpec, sample: int | None, random_state: int) -> ibis.Table:
    """The consumers crowds are made of: grouped by the base dimensions, with at least one choice
    (no choice, no category preference)."""
    consumers = _grouped_consumers(store, as_of=as_of, spec=spec, sample=sample, random_state=random_state)
    return consumers.semi_join(_choices(store, as_of=as_of, spec=spec), "user_id")


def _check(k: int | None, spec: CrowdSpec) -> None:
    if k is not None and (not isinstance(k, int) or k < 2):
        raise InputError("k", "a whole number >= 2 (or None to choose by silhouette)", k)
    lo, hi = spec.k_range
    if not 2 <= lo <= hi:
        raise InputError("k_range", "2 <= low <= high", spec.k_range)
    if spec.categories < 2:
        raise InputError("categories", "at least 2 categories", spec.categories)


# -- 1. micro-groups (engine) ------------------------------------------------------------------------

def _grouped_consumers(store: Store, *, as_of: DateLike, spec: CrowdSpec, sample: int | None, random_state: int) -> ibis.Table:
    """(user_id, key, aipl, monetary): each consumer with its micro-group key."""
    feats = consumer_features(store, as_of=as_of, spec=FeatureSpec(windows=(30,), behaviors=("buy",)))
    if sample is not None:
        feats = _sampled(store, feats, sample, random_state)
    labels = [_label(store, feats, d) for d in spec.dimensions]
    key = ibis.literal("|").join(labels) if len(labels) > 1 else labels[0]
    return feats.select("user_id", "aipl", monetary=feats.monetary.cast("float64"), key=key)


def _sampled(store: Store, feats: ibis.Table, sample: int, random_state: int) -> ibis.Table:
    if not isinstance(sample, int) or sample < 10:
        raise InputError("sample", "a whole number of consumers >= 10", sample)
    h = (feats.user_id + ibis.literal(f"#{random_state}")).hash()
    return feats.order_by([h, feats.user_id]).limit(sample)


def _label(store: Store, feats: ibis.Table, d: Dimension) -> ibis.StringValue:
    if d.column not in feats.columns:
        raise InputError("dimension", f"a feature column such as {', '.join(c.column for c in DEFAULT_DIMENSIONS)}", d.column)
    col = feats[d.column]
    if d.kind == "value":
        text = col.cast("string")
        values = _most_common(store, feats.select(v=text), d.bins)
        return ibis.ifelse(text.isin(values), text, ibis.ifelse(text.isnull(), "none", "other"))
    if d.kind == "quantile":
        tier = ibis.ntile(d.bins).over(order_by=[col, feats.user_id]) + 1
        return ibis.literal(f"{d.column}_q") + tier.cast("string")
    tier = ibis.least(col.fill_null(0).cast("float64").clip(lower=1).log2().floor().cast("int64") + 1, d.bins)
    return ibis.literal(f"{d.column}_t") + tier.cast("string")


def _most_common(store: Store, values: ibis.Table, n: int) -> list[str]:
    present = values.filter(values.v.notnull())
    ranked = present.group_by("v").aggregate(n=present.count()).order_by([ibis.desc("n"), "v"]).limit(n)
    return store.execute(ranked.select("v")).v.tolist()


def _group_stats(consumers: ibis.Table) -> ibis.Table:
    aipl = {f"aipl_{s}": consumers.count(where=consumers.aipl == s) for s in "AIPL"}
    return consumers.group_by("key").aggregate(size=consumers.count(), value_total=consumers.monetary.sum(), **aipl)


# -- 2. category preference (engine) ---------------------------------------------------------------

def _choices(store: Store, *, as_of: DateLike, spec: CrowdSpec) -> ibis.Table:
    """Distinct (user_id, category_id) with a `behaviors` event in the window: the consumers' choices."""
    end = end_of(as_of)
    ev = products(store.table("events"))
    ev = ev.filter(ev.user_id.notnull(), ev.category_id.notnull(), ev.behavior.isin(list(spec.behaviors)),
                   ev.ts < end, ev.ts >= end - dt.timedelta(days=spec.days))
    return ev.select("user_id", "category_id").distinct()


def _pairs(store: Store, consumers: ibis.Table, *, as_of: DateLike, spec: CrowdSpec) -> ibis.Table:
    """Choices of the grouped consumers, with their micro-group key."""
    return _choices(store, as_of=as_of, spec=spec).inner_join(consumers.select("user_id", "key"), "user_id")


def _top_categories(store: Store, consumers: ibis.Table, *, as_of: DateLike, spec: CrowdSpec) -> list[str]:
    pairs = _pairs(store, consumers, as_of=as_of, spec=spec)
    top = pairs.group_by("category_id").aggregate(n=pairs.count()).order_by([ibis.desc("n"), "category_id"])
    return store.execute(top.limit(spec.categories).select("category_id")).category_id.tolist()


def _group_category_counts(store: Store, consumers: ibis.Table, cats: list[str], *, as_of: DateLike,
                           spec: CrowdSpec, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """groups × top-categories matrix of choices, and each group's choices over all categories."""
    pairs = _pairs(store, consumers, as_of=as_of, spec=spec)
    top = pairs.filter(pairs.category_id.isin(cats))
    long = store.execute(top.group_by("key", "category_id").aggregate(n=top.count()))
    table = long.pivot_table(index="key", columns="category_id", values="n", aggfunc="sum", fill_value=0)
    totals = store.execute(pairs.group_by("key").aggregate(n=pairs.count())).set_index("key").n
    counts = table.reindex(index=keys, columns=cats, fill_value=0).to_numpy(float)
    return counts, totals.reindex(keys, fill_value=0).to_numpy(float)


def _tgi(
    counts: np.ndarray, totals: np.ndarray, *, prior: float = 0.0, reference: tuple[np.ndarray, np.ndarray] | None = None
) -> np.ndarray:
    """TGI(g, c) = (mix[g, c]) / (Σ counts[:, c] / Σ totals) × 100, with the smoothed mix

        mix[g, c] = (counts[g, c] + prior × overall[c]) / (totals[g] + prior)

    (`prior` pseudo-choices drawn toward the overall mix keep tiny groups from looking extreme).
    The reference (Σ over all groups) is `counts`/`totals` themselves unless given.
    """
    ref_counts, ref_totals = reference if reference is not None else (counts, totals)
    overall = ref_counts.sum(axis=0) / max(ref_totals.sum(), 1.0)
    den = (totals + prior)[:, None]
    mix = np.divide(counts + prior * overall[None, :], den, out=np.zeros_like(counts), where=den > 0)
    return np.divide(mix, overall, out=np.zeros_like(mix), where=overall > 0) * 100.0


# -- 3. re-clustering (scipy) ----------------------------------------------------------------------

def _cluster(tgi: np.ndarray, sizes: np.ndarray, k: int | None, spec: CrowdSpec) -> tuple[np.ndarray, float, dict[int, float]]:
    """Crowd labels 1..k (1 = largest crowd), the silhouette of the chosen k and of each k tried."""
    x = np.log1p(tgi / 100.0)
    cut = _weighted_ward(x, sizes)
    dist = squareform(pdist(x))
    lo, hi = spec.k_range
    tried = [k] if k is not None else list(range(lo, min(hi, len(x) - 1) + 1))
    by_k = {kk: _silhouette(dist, cut(kk), sizes) for kk in tried}
    best = k if k is not None else max(by_k, key=lambda kk: (by_k[kk], -kk))
    labels = _by_size(cut(best), sizes)
    return labels, by_k[best], by_k


def _weighted_ward(x: np.ndarray, sizes: np.ndarray, max_points: int = 3000):
    """Ward linkage where each group weighs its size: a group is repeated ∝ its size (identical
    points merge first at distance 0, so a group never splits). Returns k → group labels."""
    unit = max(1.0, sizes.sum() / max_points)
    reps = np.maximum(1, np.round(sizes / unit)).astype(int)
    tree = linkage(np.repeat(x, reps, axis=0), method="ward")
    first = np.cumsum(reps) - reps
    return lambda k: fcluster(tree, k, criterion="maxclust")[first]


def _silhouette(dist: np.ndarray, labels: np.ndarray, weights: np.ndarray) -> float:
    """Size-weighted mean silhouette of groups: (b - a) / max(a, b), a/b = weighted mean distance
    to the own crowd / the nearest other crowd."""
    ids = np.unique(labels)
    if len(ids) < 2:
        return 0.0
    member = (labels[:, None] == ids[None, :]).astype(float) * weights[:, None]
    mean_to = (dist @ member) / member.sum(axis=0)[None, :]
    own = np.searchsorted(ids, labels)
    own_w = member.sum(axis=0)[own]
    a = mean_to[np.arange(len(labels)), own] * own_w / np.maximum(own_w - weights, 1e-12)
    a = np.where(own_w > weights, a, 0.0)
    mean_to[np.arange(len(labels)), own] = np.inf
    b = mean_to.min(axis=1)
    s = np.divide(b - a, np.maximum(a, b), out=np.zeros_like(a), where=np.maximum(a, b) > 0)
    return float(np.average(s, weights=weights))


def _by_size(labels: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Relabel crowds 1..k by total size, largest first (ties → smaller original label)."""
    ids = np.unique(labels)
    totals = np.array([sizes[labels == i].sum() for i in ids])
    order = ids[np.lexsort((ids, -totals))]
    return _remap(labels, order)


def _remap(labels: np.ndarray, order: np.ndarray) -> np.ndarray:
    mapping = np.zeros(labels.max() + 1, dtype=int)
    mapping[order] = np.arange(1, len(order) + 1)
    return mapping[labels]


# -- 4. profiles -----------------------------------------------------------------------------------

def _profiles(groups: pd.DataFrame, counts: np.ndarray, totals: np.ndarray, labels: np.ndarray, cats: list[str],
              spec: CrowdSpec) -> list[Crowd]:
    sizes = groups["size"].to_numpy(float)
    out = []
    for c in range(1, labels.max() + 1):  # one pass per crowd (k of them)
        mask = labels == c
        size = sizes[mask].sum()
        buyers = counts[mask].sum(axis=0)
        tgi = _tgi(buyers[None, :], totals[mask].sum(keepdims=True), reference=(counts, totals))[0]
        top = _top_tgi(tgi, buyers / size, buyers, cats, spec.top)
        out.append(Crowd(
            crowd=c, name=_suggest_name(top), size=int(size), groups=int(mask.sum()), top_categories=top,
            aipl={s: float(groups.loc[mask, f"aipl_{s}"].sum() / size) for s in "AIPL"},
            value_mean=round(float(groups.loc[mask, "value_total"].sum() / size), 2),  # money: cents; also
            value_total=round(float(groups.loc[mask, "value_total"].sum()), 2),  # hides parallel-sum noise
            traits=_common_traits(groups.loc[mask], spec),
        ))
    return _distinct_names(out)


def _distinct_names(crowds: list[Crowd]) -> list[Crowd]:
    """Crowds sharing a suggested name get their most common base values added, then their number."""
    def names(cs: list[Crowd]) -> Counter:
        return Counter(c.name for c in cs)

    seen = names(crowds)
    out = [replace(c, name=f"{c.name} ({', '.join(list(c.traits.values())[1:3])})") if seen[c.name] > 1 else c for c in crowds]
    seen = names(out)
    return [replace(c, name=f"{c.name} #{c.crowd}") if seen[c.name] > 1 else c for c in out]


def _top_tgi(tgi: np.ndarray, share: np.ndarray, buyers: np.ndarray, cats: list[str], n: int) -> list[dict[str, Any]]:
    """Highest-TGI categories that at least 5% of the crowd (and 5 consumers) chose; ties → more buyers."""
    ok = (share >= 0.05) & (buyers >= 5)
    order = np.lexsort((np.arange(len(cats)), -buyers, -np.where(ok, tgi, -1.0)))
    return [
        {"category": cats[i], "tgi": round(float(tgi[i]), 1), "share": round(float(share[i]), 4)}
        for i in order[:n] if ok[i]
    ]


def _suggest_name(top: list[dict[str, Any]]) -> str:
    if not top:
        return "broad shoppers"
    return " & ".join(str(t["category"]).lower() for t in top[:2]) + " lovers"


def _common_traits(groups: pd.DataFrame, spec: CrowdSpec) -> dict[str, str]:
    """The most common value of each base dimension in the crowd (by consumers)."""
    parts = groups.key.str.split("|", expand=True)
    out = {}
    for i, d in enumerate(spec.dimensions):
        by_value = groups["size"].groupby(parts[i].to_numpy()).sum()
        out[d.column] = str(by_value.sort_values(ascending=False, kind="stable").index[0])
    return out
