"""FAST: the health of a brand's consumer assets as of a date.

    F (Fertility)   = AIPL total: consumers holding any stage as of `as_of`
    A (Advancing)   = deepening rate: consumers whose stage rose between `since` and `as_of`
                      ÷ consumers who could rise (holding A, I or P at `since`)
    S (Superiority) = members: users with `member_since` or a `member_join` event before the end
                      of `as_of`; where no membership data exists (or `members="high_value"`),
                      high-value consumers: buyers of the last `high_value_days` whose GMV is at
                      least `high_value_min_gmv`, or, without a threshold, in the top
                      `high_value_top` share by GMV (percent rank >= 1 - top)
    T (Thriving)    = active member rate: members of S with any event in the last `active_days`
                      days ÷ S
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import ibis
import ibis.expr.types as ir

from qianmian.dates import DateLike, as_of_label, check_days, end_of
from qianmian.errors import InputError
from qianmian.metrics.aipl import AIPLRules
from qianmian.metrics.common import in_window, ratio, scoped, signed_amount
from qianmian.metrics.flow import flow_report
from qianmian.store import Store

MemberRule = Literal["auto", "members", "high_value"]


@dataclass(frozen=True)
class FASTRules:
    aipl: AIPLRules = field(default_factory=AIPLRules)
    members: MemberRule = "auto"
    high_value_days: int = 365
    high_value_top: float = 0.2
    high_value_min_gmv: float | None = None
    active_days: int = 180

    def __post_init__(self) -> None:
        if self.members not in ("auto", "members", "high_value"):
            raise InputError("members", "auto, members or high_value", self.members)
        check_days(self.high_value_days, "high_value_days")
        check_days(self.active_days, "active_days")
        if not 0 < self.high_value_top <= 1:
            raise InputError("high_value_top", "a share in (0, 1]", self.high_value_top)


def members(events: ir.Table, users: ir.Table, *, as_of: DateLike) -> ir.Table:
    """`user_id` of members as of `as_of` (member_since before the end, or a member_join event)."""
    end = ibis.literal(end_of(as_of))
    profile = users.filter(users.member_since.notnull() & (users.member_since < end))
    joined = events.filter((events.behavior == "member_join") & (events.ts < end) & events.user_id.notnull())
    ids = [t.select(user_id=t.user_id.cast("string")) for t in (profile, joined)]
    return ids[0].union(ids[1]).distinct()


def high_value(events: ir.Table, *, as_of: DateLike, rules: FASTRules = FASTRules()) -> ir.Table:
    """`user_id` of high-value consumers (see the module docstring)."""
    ev = events.filter(events.user_id.notnull(), events.behavior.isin(["buy", "return"]),
                       in_window(events, as_of, rules.high_value_days))
    per_user = ev.group_by("user_id").aggregate(gmv=signed_amount(ev).sum(), bought=(ev.behavior == "buy").any())
    buyers = per_user.filter(per_user.bought)
    if rules.high_value_min_gmv is not None:
        return buyers.filter(buyers.gmv >= rules.high_value_min_gmv).select("user_id")
    ranked = buyers.mutate(pr=ibis.percent_rank().over(order_by=buyers.gmv))
    return ranked.filter(ranked.pr >= 1.0 - rules.high_value_top).select("user_id")


def active_share(events: ir.Table, group: ir.Table, *, as_of: DateLike, days: int) -> ir.Table:
    """One row: `size` of `group` and how many were `active` (any event in the last `days` days)."""
    recent = events.filter(events.user_id.notnull(), in_window(events, as_of, days)).select("user_id").distinct()
    g = group.select("user_id").distinct()
    flagged = g.left_join(recent.mutate(hit=ibis.literal(1)), "user_id")
    return flagged.aggregate(size=flagged.count(), active=flagged.hit.notnull().cast("int64").sum().fill_null(0))


@dataclass(frozen=True)
class FASTReport:
    as_of: str
    since: str
    F: int
    A: float | None
    S: int
    T: float | None
    s_rule: str
    rose: int
    could_rise: int
    active_members: int

    def to_dict(self) -> dict:
        return asdict(self)


def fast_report(
    store: Store,
    *,
    as_of: DateLike,
    since: DateLike,
    rules: FASTRules = FASTRules(),
    brand: str | None = None,
    category: str | None = None,
) -> FASTReport:
    """F, A, S and T as of `as_of`; A compares stages at `since` with those at `as_of`."""
    if end_of(since) >= end_of(as_of):
        raise InputError("since", f"a date before as_of ({as_of_label(as_of)})", as_of_label(since))
    flow = flow_report(store, start=since, end=as_of, rules=rules.aipl, brand=brand, category=category)
    f_total = sum(n for a, row in flow.counts.items() for b, n in row.items() if b != "none")
    could = sum(n for a, row in flow.counts.items() if a in ("A", "I", "P") for n in row.values())
    rose = sum(flow.counts[a][b] for a, b in _ups())
    ev = scoped(store.table("events"), brand=brand, category=category)
    group, kind = _s_group(store, ev, as_of, rules)
    row = store.execute(active_share(ev, group, as_of=as_of, days=rules.active_days)).iloc[0]
    return FASTReport(
        as_of=as_of_label(as_of), since=as_of_label(since), F=f_total, A=ratio(rose, could), S=int(row["size"]),
        T=ratio(int(row["active"]), int(row["size"])), s_rule=kind, rose=rose, could_rise=could,
        active_members=int(row["active"]),
    )


def _ups() -> list[tuple[str, str]]:
    order = ["A", "I", "P", "L"]
    return [(a, b) for i, a in enumerate(order) for b in order[i + 1:]]


def _s_group(store: Store, ev: ir.Table, as_of: DateLike, rules: FASTRules) -> tuple[ir.Table, str]:
    """Members, or high-value consumers when the rule says so or no member exists (auto)."""
    if rules.members != "high_value":
        m = members(ev, store.table("users"), as_of=as_of)
        if rules.members == "members" or int(store.execute(m.count())) > 0:
            return m, "members"
    return high_value(ev, as_of=as_of, rules=rules), "high_value"


