"""Experiments over HTTP: list, create (split, audience, metrics), results with lifts and
intervals, the sample-ratio check, the plain-language summary, and the campaign close-out (结案).

Reports are the same functions `qianmian experiment report … --json` and `qianmian closeout … --json` print.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query
from pydantic import BaseModel, Field

from qianmian.api.auth import require
from qianmian.api.deps import services
from qianmian.api.routers._params import date_query, day, optional_day, plain, run
from qianmian.api.services import Services
from qianmian.store import Store

router = APIRouter(tags=["experiments"])

Name = Path(min_length=1, max_length=200, description="Experiment name")


class VariantIn(BaseModel):
    name: str = Field(..., min_length=1, max_length=64)
    weight: float = Field(..., gt=0, le=1000)


class ExperimentIn(BaseModel):
    name: str = Field(..., min_length=1, max_length=200)
    variants: list[VariantIn] = Field(..., min_length=2, max_length=20, description="e.g. test 2, control 8")
    control: str | None = Field(None, max_length=64, description="Control variant (default: 'control' or the first)")
    audience: str | None = Field(None, min_length=1, max_length=64, description="Only shoppers in this audience")
    campaign: str | None = Field(None, min_length=1, max_length=200, description="Campaign this experiment closes out")
    metrics: list[str] | None = Field(None, max_length=20, description="Built-in names or exists|count|amount:BEHAVIOUR[@MODULE]")
    start: str | None = Field(None, min_length=10, max_length=10, description="First day exposures count")
    end: str | None = Field(None, min_length=10, max_length=10, description="Exposures before this day count")
    window_days: float = Field(14.0, gt=0, le=365)
    pre_days: float = Field(28.0, ge=0, le=365)
    layer: str | None = Field(None, min_length=1, max_length=64)
    layer_range: tuple[float, float] = (0.0, 1.0)
    holdout: float = Field(0.0, ge=0, lt=1)


def _midnight(d: dt.date | None) -> dt.datetime | None:
    return None if d is None else dt.datetime.combine(d, dt.time())


def define(body: ExperimentIn) -> Any:
    """The checked `Experiment` for a request body."""
    from qianmian.experiments import Experiment, Variant
    from qianmian.experiments.assignment import DEFAULT_METRICS

    return Experiment(
        body.name, tuple(Variant(v.name, v.weight) for v in body.variants), control=body.control or "",
        layer=body.layer, layer_range=body.layer_range, holdout=body.holdout, audience=body.audience,
        campaign=body.campaign, metrics=tuple(body.metrics) if body.metrics else DEFAULT_METRICS,
        start=_midnight(optional_day(body.start, "start")), end=_midnight(optional_day(body.end, "end")),
        window_days=body.window_days, pre_days=body.pre_days,
    )


def listing(store: Store) -> list[dict[str, Any]]:
    """Every definition with its exposures so far (rows and distinct shoppers)."""
    from qianmian.experiments import ExperimentRegistry
    from qianmian.experiments.exposures import exposure_counts
    from qianmian.experiments.registry import to_row

    rows = [to_row(e) for e in ExperimentRegistry(store).list()]
    by_name = exposure_counts(store)
    for r in rows:
        hit = by_name.get(r["name"], {})
        r.update(exposures=int(hit.get("exposures", 0)), shoppers=int(hit.get("shoppers", 0)),
                 first_exposure=hit.get("first_ts"), last_exposure=hit.get("last_ts"))
    return rows


@router.get("/v1/experiments", summary="Every experiment with its exposures so far", dependencies=[require("read")])
def list_all(svc: Services = Depends(services)) -> list[dict[str, Any]]:
    return plain(run(svc, listing, svc.store))


@router.get("/v1/experiments/metrics", summary="Built-in metrics (name, kind, label, direction)", dependencies=[require("read")])
def metrics() -> list[dict[str, Any]]:
    from qianmian.experiments.assignment import DEFAULT_METRICS
    from qianmian.experiments.metrics import BUILTIN

    return [{"name": m.name, "kind": m.kind, "label": m.label, "higher_is_better": m.higher_is_better,
             "default": m.name in DEFAULT_METRICS} for m in BUILTIN.values()]


@router.post("/v1/experiments", status_code=201, summary="Define an experiment (weights, layer overlap and metrics are checked)",
             dependencies=[require("admin")])
def create(body: ExperimentIn, svc: Services = Depends(services)) -> dict[str, Any]:
    from qianmian.experiments import ExperimentRegistry
    from qianmian.experiments.registry import to_row

    exp = define(body)
    run(svc, lambda: ExperimentRegistry(svc.store).create(exp))
    return plain(to_row(exp))


@router.get("/v1/experiments/{name}/report", summary="Results as of a day: raw and CUPED-adjusted means, lifts, intervals, p-values, SRM (threshold: the srm_threshold setting), summary",
            dependencies=[require("read")])
def report(
    name: str = Name, as_of: str = date_query("Count events and exposures to the end of this day"),
    alpha: float = Query(0.05, gt=0.0001, lt=0.5), correction: Literal["holm", "bh", "none"] = Query("holm"),
    cuped: bool = Query(True), sequential: bool = Query(False),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    from qianmian.experiments.reports import experiment_report, report_dict

    rep = run(svc, experiment_report, svc.store, name, as_of=day(as_of, "as_of"), alpha=alpha, correction=correction,
              cuped=cuped, sequential=sequential, srm_threshold=svc.settings.srm_threshold)
    return plain(report_dict(rep))


@router.get("/v1/closeout/{campaign}", summary="Campaign close-out (结案): overall and by new/returning customer, audience, creative",
            tags=["experiments"], dependencies=[require("read")])
def closeout(
    campaign: str = Path(min_length=1, max_length=200), as_of: str = date_query("Close out as of this day"),
    experiment: str | None = Query(None, min_length=1, max_length=200, description="When the campaign has several"),
    alpha: float = Query(0.05, gt=0.0001, lt=0.5),
    svc: Services = Depends(services),
) -> dict[str, Any]:
    from qianmian.experiments.closeout import closeout as run_closeout
    from qianmian.experiments.closeout import closeout_dict, lift_rows

    c = run(svc, run_closeout, svc.store, campaign, as_of=day(as_of, "as_of"), experiment=experiment, alpha=alpha,
            srm_threshold=svc.settings.srm_threshold)
    return plain({**closeout_dict(c), "lifts": lift_rows(c)})

