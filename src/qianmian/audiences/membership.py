"""Audience membership: preview a rule, materialize every audience for an `as_of`, look members up in memory.

- `preview(store, rule, as_of=...)`: size, share of all consumers and a deterministic sample.
- `materialize(store, as_of)`: one pass computes every current audience (all windowed terms of all
  rules share one aggregate over events) and writes `audience_members` (audience, version, as_of,
  user_id), replacing earlier rows for that `as_of`.
- `MembershipIndex.load(store, as_of=...)`: the materialized rows in memory; `audiences_of(user_id)`
  (by priority) and `primary(user_id)` are dictionary lookups plus an array slice (microseconds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import numpy as np
import pandas as pd

from qianmian.audiences.registry import AudienceRegistry
from qianmian.audiences.rules import Sources, check, compile_flags, expand
from qianmian.audiences.rules import tree as T
from qianmian.audiences.rules.catalog import FIELDS
from qianmian.audiences.rules.compiler import CLV_TERMS, UPLIFT_TERMS
from qianmian.audiences.rules.scores import scores_table
from qianmian.consumers.tags import active_tags_table
from qianmian.dates import DateLike, end_of, to_date
from qianmian.errors import InputError, NotFoundError
from qianmian.features import PART_OF, PARTS, FeatureSpec, Part, consumer_features
from qianmian.store import Store


def sources(
    store: Store, *, as_of: DateLike, rules: Sequence[T.Expr] = (), features: ibis.Table | None = None,
    registry: AudienceRegistry | None = None,
) -> Sources:
    """What compiled rules read for `as_of`: the feature table (only the parts `rules` need, unless
    `features` is given), events, active tags and the registry (for `in_audience`)."""
    resolve = registry.resolve if registry is not None else None
    tags = active_tags_table(store.table("user_tags"), as_of=as_of)
    expanded = [expand(r, resolve) for r in rules]
    if features is None:
        needed = parts_for(expanded) if rules else PARTS
        features = consumer_features(store, as_of=as_of, spec=_feature_spec(expanded), parts=needed)
    return Sources(features, store.table("events"), tags, end_of(as_of), resolve, _uplift_scores(store, expanded))


def _uplift_scores(store: Store, rules: Sequence[T.Expr]) -> ibis.Table | None:
    """The uplift score table when a rule reads it (`uplift(...)`, `uplift_rank(...)`), else None."""
    if not any(isinstance(n, T.Call) and n.name in UPLIFT_TERMS for r in rules for n in T.walk(r)):
        return None
    return scores_table(store)


def parts_for(rules: Sequence[T.Expr]) -> frozenset[Part]:
    """The feature-table parts the fields of `rules` come from (traits are always there)."""
    names = {n.name for r in rules for n in T.walk(r) if isinstance(n, T.Name) and n.name in FIELDS}
    clv: set[Part] = {"clv"} if _clv_calls(rules) else set()
    return frozenset(PART_OF[FIELDS[name].column] for name in names) | clv


def _clv_calls(rules: Sequence[T.Expr]) -> list[T.Call]:
    return [n for r in rules for n in T.walk(r) if isinstance(n, T.Call) and n.name in CLV_TERMS]


def _feature_spec(rules: Sequence[T.Expr]) -> FeatureSpec:
    """Behaviour counts for 30 days only, and the CLV horizons the rules ask for (90 / 365 days by default)."""
    calls = _clv_calls(rules)
    days = {name: tuple(sorted({a.days for c in calls if c.name == name for a in c.positional if isinstance(a, T.Window)}))
            for name in CLV_TERMS}
    return FeatureSpec(windows=(30,), clv_purchase_days=days["expected_purchases"] or (90,), clv_value_days=days["clv"] or (365,))


@dataclass(frozen=True)
class Preview:
    """`size` members out of `total` consumers (`share` = size / total) and a few member ids."""

    rule: str
    as_of: str
    size: int
    total: int
    share: float | None
    sample: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "as_of": self.as_of, "size": self.size, "total": self.total,
                "share": self.share, "sample": self.sample}


def preview(
    store: Store, rule: str, *, as_of: DateLike, sample: int = 10, random_state: int = 0,
    registry: AudienceRegistry | None = None,
) -> Preview:
    """Check `rule` and count its members as of `as_of`; the sample is the same for the same `random_state`."""
    if not isinstance(sample, int) or sample < 0:
        raise InputError("sample", "a whole number >= 0", sample)
    tree = check(rule, audience_exists=registry.exists if registry is not None else None)
    flags = compile_flags({"hit": tree}, sources(store, as_of=as_of, rules=[tree], registry=registry))
    counts = store.execute(flags.aggregate(total=flags.count(), size=flags.hit.cast("int64").sum()))
    total, size = int(counts.total.iloc[0]), int(counts["size"].fillna(0).iloc[0])
    members = flags.filter(flags.hit)
    key = (members.user_id + ibis.literal(f"#{random_state}")).hash()
    picked = store.execute(members.order_by([key, members.user_id]).limit(sample).select("user_id")) if sample else None
    return Preview(rule, str(to_date(as_of)), size, total, size / total if total else None,
                   [] if picked is None else picked.user_id.tolist())


def rule_flags(registry: AudienceRegistry, name_or_rule: str, *, as_of: DateLike) -> ibis.Table:
    """Every consumer as of `as_of` (`user_id`) with `hit` = member of the rule (or saved audience)."""
    rule = registry.get(name_or_rule).rule if registry.exists(name_or_rule) else name_or_rule
    tree = check(rule, audience_exists=registry.exists)
    return compile_flags({"hit": tree}, sources(registry.store, as_of=as_of, rules=[tree], registry=registry))


def latest_sizes(store: Store) -> dict[str, tuple[int, Any]]:
    """Members per audience at the latest materialized day: name → (members, that day)."""
    m = store.table("audience_members")
    latest = m.filter(m.as_of == m.as_of.max().as_scalar())
    sizes = store.execute(latest.group_by(["audience", "as_of"]).aggregate(members=latest.count()))
    return {r["audience"]: (int(r["members"]), r["as_of"]) for r in sizes.to_dict("records")}


def preview_audience(
    registry: AudienceRegistry, name_or_rule: str, *, as_of: DateLike, sample: int = 10, random_state: int = 0,
) -> Preview:
    """`preview` of a saved audience (by name) or of a rule text, with `in_audience` resolved by `registry`."""
    rule = registry.get(name_or_rule).rule if registry.exists(name_or_rule) else name_or_rule
    return preview(registry.store, rule, as_of=as_of, sample=sample, random_state=random_state, registry=registry)


@dataclass(frozen=True)
class MaterializeResult:
    """Members written per audience for `as_of`."""

    as_of: str
    counts: dict[str, int]
    consumers: int

    def to_dict(self) -> dict[str, Any]:
        return {"as_of": self.as_of, "counts": self.counts, "consumers": self.consumers}


def membership_rows(store: Store, *, as_of: DateLike, audiences: Sequence, features: ibis.Table | None = None,
                    registry: AudienceRegistry | None = None) -> ibis.Table:
    """(audience, version, as_of, user_id) for every member of `audiences` — one expression, one pass."""
    if not audiences:
        raise InputError("audiences", "at least one audience", [])
    columns = {f"a{i}": a.tree for i, a in enumerate(audiences)}
    src = sources(store, as_of=as_of, rules=list(columns.values()), features=features, registry=registry)
    flags = compile_flags(columns, src)
    longer = flags.pivot_longer(list(columns), names_to="slot", values_to="hit")
    hits = longer.filter(longer.hit)
    slots = ibis.memtable(
        pd.DataFrame({"slot": list(columns), "audience": [a.name for a in audiences], "version": [a.version for a in audiences]})
    )
    joined = hits.inner_join(slots, "slot")
    return joined.select("audience", joined.version.cast("int64").name("version"),
                         ibis.literal(to_date(as_of)).name("as_of"), "user_id")


def materialize(store: Store, as_of: DateLike, *, names: Sequence[str] | None = None) -> MaterializeResult:
    """Compute and store the members of every current audience (or only `names`) as of `as_of`."""
    registry = AudienceRegistry(store)
    audiences = [a for a in registry.list() if names is None or a.name in names]
    missing = sorted(set(names or ()) - {a.name for a in audiences})
    if missing:
        raise NotFoundError("audience", missing[0])
    day = to_date(as_of)
    rows = membership_rows(store, as_of=as_of, audiences=audiences, registry=registry)
    with store.transaction():
        _clear(store, day, [a.name for a in audiences])
        store.append("audience_members", rows, dedupe=False)
    stored = store.table("audience_members")
    mine = stored.filter(stored.as_of == day, stored.audience.isin([a.name for a in audiences]))
    frame = store.execute(mine.group_by("audience").aggregate(n=mine.count()))
    counts = {a.name: 0 for a in audiences} | dict(zip(frame.audience, frame.n.astype(int)))
    consumers = int(store.execute(mine.user_id.nunique())) if audiences else 0
    return MaterializeResult(str(day), counts, consumers)


def stored_members(store: Store, name: str, *, as_of: DateLike | None = None) -> ibis.Table:
    """(user_id, audience, version, as_of): the members the latest materialization of `name` on or
    before `as_of` (any day when None) stored — the list the storefront serves pages from.

    `NotFoundError` for an unknown audience, or one never materialized up to that day.
    """
    AudienceRegistry(store).get(name)
    m = store.table("audience_members")
    mine = m.filter(m.audience == name)
    if as_of is not None:
        mine = mine.filter(mine.as_of <= to_date(as_of))
    day = store.execute(mine.as_of.max())
    if day is None or day != day:
        when = f" on or before {to_date(as_of)}" if as_of is not None else ""
        raise NotFoundError("materialized members of audience", f"{name}{when} (run `qianmian audience materialize` first)")
    rows = mine.filter(mine.as_of == day)
    return rows.select("user_id", "audience", "version", "as_of")


def _clear(store: Store, day: dt.date, names: list[str]) -> None:
    """Remove earlier rows of these audiences for this day, keeping their other days.

    The store deletes by one column, so the audiences' rows are dropped and the other days put back.
    """
    members = store.table("audience_members")
    mine = members.filter(members.audience.isin(names))
    if not int(store.execute(mine.filter(mine.as_of == day).count())):
        return
    other_days = store.to_pyarrow(mine.filter(mine.as_of != day))
    store.delete_where("audience_members", "audience", names)
    if other_days.num_rows:
        store.append("audience_members", other_days, dedupe=False)


class MembershipIndex:
    """Materialized membership in memory: user → audiences ordered by priority.

    Stored as a dict (user id → row) and two arrays (offsets, audience codes), so a lookup is a
    dictionary hit and a slice.
    """

    def __init__(self, users: Sequence[str], offsets: np.ndarray, codes: np.ndarray, names: Sequence[str], as_of: dt.date | None) -> None:
        self._row = dict(zip(users, range(len(users))))
        self._offsets = np.asarray(offsets, dtype=np.int64)
        self._codes = np.asarray(codes, dtype=np.int32)
        self._names = list(names)
        self.as_of = as_of

    @classmethod
    def from_frame(cls, frame: pd.DataFrame, *, as_of: dt.date | None = None) -> MembershipIndex:
        """Build from rows (user_id, audience, priority); order within a user is priority, then name."""
        ordered = frame.sort_values(["user_id", "priority", "audience"], kind="stable")
        codes, names = pd.factorize(ordered.audience)
        users, starts = np.unique(ordered.user_id.to_numpy(dtype=object), return_index=True)
        offsets = np.append(starts, len(ordered))
        return cls(users.tolist(), offsets, codes, list(names), as_of)

    @classmethod
    def load(cls, store: Store, *, as_of: DateLike | None) -> MembershipIndex:
        """The current audiences' members materialized for `as_of` (None = the latest materialized day)."""
        current = AudienceRegistry(store).list()
        members = store.table("audience_members")
        day = to_date(as_of) if as_of is not None else store.execute(members.as_of.max())
        if day is None or pd.isna(day):
            return cls([], np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int32), [], None)
        meta = ibis.memtable(pd.DataFrame({
            "audience": [a.name for a in current], "version": [a.version for a in current],
            "priority": [a.priority for a in current],
        }))
        rows = members.filter(members.as_of == to_date(day)).inner_join(meta, ["audience", "version"])
        frame = store.execute(rows.select("user_id", "audience", "priority"))
        return cls.from_frame(frame, as_of=to_date(day))

    def audiences_of(self, user_id: str) -> list[str]:
        """The user's audiences, highest priority first ([] when in none)."""
        row = self._row.get(user_id)
        if row is None:
            return []
        return [self._names[c] for c in self._codes[self._offsets[row]: self._offsets[row + 1]]]

    def primary(self, user_id: str) -> str | None:
        """The audience whose experience the user gets (highest priority), or None."""
        row = self._row.get(user_id)
        return None if row is None else self._names[self._codes[self._offsets[row]]]

    def __len__(self) -> int:
        return len(self._row)

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._row
