"""Consumer-asset reports over HTTP: the same `*_report` functions `qianmian report … --json` prints.

Every response is the report's `to_dict()` (NaN → null), so the console and the CLI show the same
numbers for the same arguments. Dates are ISO days (`as_of` counts to the end of that day);
periods are `START..END` with both days included.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.routers._params import (
    ScopeText,
    date_query,
    day,
    optional_period,
    period,
    period_query,
    plain,
    run,
)
from qianmian.api.services import Services
from qianmian.dates import Period
from qianmian.errors import InputError

router = APIRouter(prefix="/v1/reports", tags=["reports"], dependencies=[require("read")])

Stage = Literal["A", "I", "P", "L", "new", "anonymous"]


@router.get("/aipl", summary="AIPL: consumers per stage and their shares as of a date")
def aipl(
    as_of: str = date_query("Count stages as of this day"),
    brand: str | None = ScopeText, category: str | None = ScopeText,
    svc: Services = Depends(services),
) -> dict[str, Any]:
    from qianmian.metrics.aipl import aipl_report

    day(as_of, "as_of")
    return plain(run(svc, aipl_report, svc.store, as_of=as_of, brand=brand, category=category).to_dict())


@router.get("/flow", summary="AIPL flow between two dates: counts, row rates and Sankey links")
def flow(
    start: str = date_query("From this day"), end: str = date_query("To this day"),
    brand: str | None = ScopeText, category: str | None = ScopeText,
    svc: Services = Depends(services),
) -> dict[str, Any]:
    from qianmian.metrics.flow import flow_report

    if day(end, "end") <= day(start, "start"):
        raise InputError("end", f"a day after start ({start})", end)
    r = run(svc, flow_report, svc.store, start=start, end=end, brand=brand, category=category)
    return plain({**r.to_dict(), "links": r.links()})


@router.get("/fast", summary="FAST: F total, A deepening rate, S members (or high value), T active member rate")
def fast(
    as_of: str = date_query("As of this day"), since: str = date_query("Deepening rate measured from this day"),
    members: Literal["auto", "members", "high_value"] = Query("auto"),
    active_days: int = Query(180, ge=1, le=3650),
    brand: str | None = ScopeText, category: str | None = ScopeText,
    svc: Services = Depends(services),
) -> dict[str, Any]:
    from qianmian.metrics.fast import FASTRules, fast_report

    day(as_of, "as_of"), day(since, "since")
    rules = FASTRules(members=members, active_days=active_days)
    return plain(run(svc, fast_report, svc.store, as_of=as_of, since=since, rules=rules, brand=brand, category=category).to_dict())


@router.get("/grow", summary="GROW: the GMV change split into Gain, Retain, bOost and Widen")
def grow(
    base: str = period_query("Base period"), current: str = period_query("Current period"),
    by: str = Query("category_id", min_length=1, max_length=64, description="Events column to decompose by"),
    top: int = Query(15, ge=1, le=200, description="Groups returned (largest changes first)"),
    brand: str | None = ScopeText, category: str | None = ScopeText,
    svc: Services = Depends(services),
) -> dict[str, Any]:
    from qianmian.metrics.grow import grow_report

    b, c = period(base, "base"), period(current, "current")
    r = run(svc, grow_report, svc.store, base=b, current=c, by=by, brand=brand, category=category).to_dict()
    return plain({**r, "groups": r["groups"][:top], "group_count": len(r["groups"])})


class StageRateIn(BaseModel):
    conversion: float | None = Field(None, gt=0, le=1, description="Buyers ÷ stage pool")
    value_per_buyer: float | None = Field(None, gt=0, le=1e12, description="GMV per buyer")
    share: float = Field(..., ge=0, le=1, description="Share of the GMV goal this stage brings")


class GTARequest(BaseModel):
    goal: float | None = Field(None, gt=0, le=1e15, description="GMV goal (or give goal_ratio)")
    goal_ratio: float | None = Field(None, gt=0, le=1000, description="Goal as a multiple of the reference GMV (1.2 = 120%)")
    reference: str = Field(..., min_length=1, max_length=40, description="START..END, last-year or previous (of period)")
    period: str | None = Field(None, max_length=40, description="The period you plan (needed for last-year / previous)")
    as_of: str = Field(..., min_length=10, max_length=10, description="Count current stage pools as of this day")
    benchmark: dict[Stage, StageRateIn] | None = Field(None, description="Per-stage rates replacing the reference's")
    brand: str | None = Field(None, min_length=1, max_length=200)
    category: str | None = Field(None, min_length=1, max_length=200)
    repeat_days: int | None = Field(None, ge=1, le=3650, description="Also forecast today's buyers' repeat purchases and GMV over this many days (BG/NBD)")


def _reference(body: GTARequest) -> Period:
    if body.reference in ("last-year", "previous"):
        target = optional_period(body.period, "period")
        if target is None:
            raise InputError("period", f"START..END (the period you plan) for reference {body.reference!r}", body.period)
        return target.shift_years(-1) if body.reference == "last-year" else target.previous()
    return period(body.reference, "reference")


@router.post("/gta", summary="GTA planner: from a GMV goal to the A/I/P/L consumers needed, and the gap")
def gta(body: GTARequest, svc: Services = Depends(services)) -> dict[str, Any]:
    from qianmian.metrics.gta import StageRate, gta_report

    if (body.goal is None) == (body.goal_ratio is None):
        raise InputError("goal", "exactly one of goal or goal_ratio", {"goal": body.goal, "goal_ratio": body.goal_ratio})
    ref, as_of = _reference(body), day(body.as_of, "as_of")
    bench = {s: StageRate(r.conversion, r.value_per_buyer, r.share) for s, r in body.benchmark.items()} if body.benchmark else None
    r = run(svc, gta_report, svc.store, reference=ref, as_of=as_of, goal=body.goal, goal_ratio=body.goal_ratio,
            benchmark=bench, brand=body.brand, category=body.category, repeat_days=body.repeat_days)
    return plain(r.to_dict())


@router.get("/tgi", summary="TGI of a target population against a reference over a dimension (100 = average)")
def tgi(
    by: str = Query(..., min_length=1, max_length=64, description="category_id, item_id, brand_id, channel or a users column"),
    target: str = Query(..., min_length=1, max_length=200, description="aipl:L, lifecycle:lost, customer:new, users:city=X, audience:NAME, all"),
    reference: str = Query("all", min_length=1, max_length=200, description="A population like target (default: all consumers)"),
    as_of: str | None = date_query("Day for aipl/lifecycle/customer/audience populations", None),
    period_: str | None = period_query("Only events in this period", None, alias="period"),
    behaviors: str | None = Query(None, max_length=200, description="Comma-separated behaviours"),
    min_count: int = Query(30, ge=1, le=1_000_000), limit: int = Query(30, ge=1, le=500),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    from qianmian.audiences.populations import population
    from qianmian.metrics.tgi import tgi_report

    p = optional_period(period_, "period")
    if as_of is not None:
        day(as_of, "as_of")
    kinds = [b.strip() for b in behaviors.split(",") if b.strip()] if behaviors else None

    def build(store: Any) -> Any:
        tgt = population(store, target, as_of=as_of, period=p)
        ref = population(store, reference, as_of=as_of, period=p)
        return tgi_report(store, target=tgt, reference=ref, by=by, period=p, min_count=min_count, limit=limit, behaviors=kinds)

    return plain({"target": target, "reference": reference, **run(svc, build, svc.store).to_dict()})


def _steps(text: str) -> list[list[str]]:
    steps = [[b.strip() for b in step.split(",") if b.strip()] for step in text.split(">")]
    if any(not s for s in steps):
        raise InputError("steps", "steps separated by '>' with behaviours separated by ',', e.g. view>cart,fav>buy", text)
    return steps


@router.get("/funnel", summary="Funnel with step rates, and shop rates (conversion, bounce, AOV, repurchase)")
def funnel(
    period_: str = period_query("The period", alias="period"),
    steps: str = Query("view>cart,fav>buy", min_length=1, max_length=200),
    by: str | None = Query(None, min_length=1, max_length=64, description="day, or an events column"),
    brand: str | None = ScopeText, category: str | None = ScopeText,
    svc: Services = Depends(services),
) -> dict[str, Any]:
    from qianmian.metrics.funnel import funnel_report

    p, st = period(period_, "period"), _steps(steps)
    return plain(run(svc, funnel_report, svc.store, period=p, steps=st, by=by, brand=brand, category=category).to_dict())


@router.get("/lifecycle", summary="Lifecycle: new vs returning; active / silent / churning / lost")
def lifecycle(
    as_of: str = date_query("As of this day"),
    active_days: int = Query(30, ge=1, le=3650), silent_days: int = Query(90, ge=1, le=3650),
    churning_days: int = Query(180, ge=1, le=3650), new_days: int = Query(30, ge=1, le=3650),
    brand: str | None = ScopeText, category: str | None = ScopeText,
    svc: Services = Depends(services),
) -> dict[str, Any]:
    from qianmian.metrics.lifecycle import LifecycleRules, lifecycle_report

    day(as_of, "as_of")
    rules = LifecycleRules(active_days=active_days, silent_days=silent_days, churning_days=churning_days, new_days=new_days)
    return plain(run(svc, lifecycle_report, svc.store, as_of=as_of, rules=rules, brand=brand, category=category).to_dict())


@router.get("/rfm", summary="RFM cells (scores by percent rank)")
def rfm(
    as_of: str = date_query("As of this day"),
    cells: Literal["eight", "grid"] = Query("eight"), bins: int = Query(5, ge=2, le=10),
    brand: str | None = ScopeText, category: str | None = ScopeText,
    svc: Services = Depends(services),
) -> dict[str, Any]:
    from qianmian.metrics.rfm import rfm_report

    day(as_of, "as_of")
    return plain(run(svc, rfm_report, svc.store, as_of=as_of, bins=bins, cells=cells, brand=brand, category=category).to_dict())


@router.get("/association", summary="Frequent itemsets and association rules (support, confidence, lift)")
def association(
    period_: str | None = period_query("Only baskets in this period", None, alias="period"),
    level: Literal["item", "category", "brand"] = Query("category"),
    basket: Literal["order", "session", "day"] = Query("order"),
    min_support: float = Query(0.01, ge=0.0005, le=1), min_confidence: float = Query(0.2, ge=0, le=1),
    max_len: int | None = Query(None, ge=1, le=6), limit: int = Query(20, ge=1, le=200),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    from qianmian.metrics.association import association_report

    p = optional_period(period_, "period")
    r = run(svc, association_report, svc.store, period=p, level=level, basket=basket, min_support=min_support,
            min_confidence=min_confidence, max_len=max_len, limit=limit)
    return plain(r.to_dict())



@router.get("/clv", summary="CLV: BG/NBD + Gamma-Gamma parameters, calibration-vs-holdout check, P(alive), expected purchases and value")
def clv(
    calibration_end: str = date_query("Fit on the buys up to this day"),
    holdout_end: str | None = Query(None, min_length=10, max_length=10, description="Check against buys up to this day (default: the last buy)"),
    horizon_days: int = Query(90, ge=1, le=3650), unit: Literal["week", "day"] = Query("week"),
    discount: float = Query(0.10, ge=0, lt=10, description="Annual discount rate (0.1 = 10%)"),
    margin: float = Query(1.0, gt=0, le=1), svc: Services = Depends(services),
) -> dict[str, Any]:
    from qianmian.clv import ClvOptions, clv_report

    cal = day(calibration_end, "calibration_end")
    end = day(holdout_end, "holdout_end") if holdout_end else None
    options = ClvOptions(unit=unit, annual_discount=discount, margin=margin)
    return plain(run(svc, clv_report, svc.store, calibration_end=cal, holdout_end=end, horizon_days=horizon_days, options=options).to_dict())
