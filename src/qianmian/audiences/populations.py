"""Named populations for TGI and reports: small specs that become tables of `user_id`.

They live with audiences because one kind is a saved audience (metrics never import audiences).

    all                    consumers with any event (in `period` when given)
    aipl:L  aipl:P+L       consumers holding one of the stages as of `as_of`
    lifecycle:lost         consumers in a lifecycle state as of `as_of` (active, silent, churning, lost)
    customer:new           new or returning customers as of `as_of`
    users:city=Hangzhou    users whose column equals the value (any column of `users`)
    audience:coffee        members of a saved audience at its latest materialization up to `as_of`
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import ibis.expr.types as ir

from qianmian.audiences.membership import rule_flags, stored_members
from qianmian.audiences.registry import AudienceRegistry
from qianmian.dates import DateLike, Period
from qianmian.errors import InputError
from qianmian.metrics.aipl import STAGES, store_stages
from qianmian.metrics.common import in_period
from qianmian.metrics.lifecycle import CUSTOMERS, STATES, lifecycle_states
from qianmian.metrics.tgi import TGIReport, tgi_report
from qianmian.store import Store

KINDS = ("all", "aipl", "lifecycle", "customer", "users", "audience")


def population(store: Store, spec: str, *, as_of: DateLike | None = None, period: Period | None = None) -> ir.Table:
    """The users of `spec` as a table with one column, `user_id` (distinct)."""
    kind, _, arg = str(spec).partition(":")
    if kind == "all":
        ev = store.table("events")
        ev = ev.filter(ev.user_id.notnull()) if period is None else ev.filter(ev.user_id.notnull(), in_period(ev, period))
        return ev.select("user_id").distinct()
    if kind == "users":
        return _users(store.table("users"), arg, spec)
    if kind == "audience":
        if not arg:
            raise InputError("population", "audience:NAME with the name of a saved audience", spec)
        return stored_members(store, arg, as_of=as_of).select("user_id")
    if kind not in KINDS:
        raise InputError("population", f"one of {', '.join(KINDS)} (e.g. aipl:L, lifecycle:lost)", spec)
    if as_of is None:
        raise InputError("as_of", f"a date for the population {spec!r}", None)
    values = [v for v in arg.split("+") if v]
    if kind == "aipl":
        return _pick(store_stages(store, as_of=as_of), "stage", values, STAGES, spec)
    column, allowed = ("state", STATES) if kind == "lifecycle" else ("customer", CUSTOMERS)
    return _pick(lifecycle_states(store.table("events"), as_of=as_of), column, values, allowed, spec)


def _pick(t: ir.Table, column: str, values: list[str], allowed: tuple[str, ...], spec: str) -> ir.Table:
    if not values or set(values) - set(allowed):
        raise InputError("population", f"values among {'+'.join(allowed)}", spec)
    return t.filter(t[column].isin(values)).select("user_id").distinct()


def _users(users: ir.Table, arg: str, spec: str) -> ir.Table:
    column, eq, value = arg.partition("=")
    if not eq or column not in users.columns:
        raise InputError("population", f"users:COLUMN=VALUE with a column of {list(users.columns)}", spec)
    return users.filter(users[column].cast("string") == value).select("user_id").distinct()


def rule_tgi(
    registry: AudienceRegistry, rule: str, *, as_of: dt.date, days: int, reference: str | None = None,
    by: str = "category_id", behaviors: Sequence[str] | None = None, min_count: int = 5, limit: int = 20,
) -> TGIReport:
    """TGI of the rule's (or saved audience's) members against all consumers as of `as_of` (the
    population the rule is evaluated on, as in a preview's total), or against the members of
    `reference` (another rule or saved audience), over `by`, counting events of the last `days` days."""
    window = Period(as_of - dt.timedelta(days=days - 1), as_of)
    flags = rule_flags(registry, rule, as_of=as_of)
    target, population = flags.filter(flags.hit).select("user_id"), flags.select("user_id")
    if reference is not None:
        try:
            ref = rule_flags(registry, reference, as_of=as_of)
        except InputError as exc:  # say which of the two rules is wrong
            raise InputError(f"reference {exc.field}", exc.expected, exc.received) from exc
        population = ref.filter(ref.hit).select("user_id")
    return tgi_report(registry.store, target=target, reference=population, by=by, behaviors=behaviors, period=window,
                      min_count=min_count, limit=limit)
