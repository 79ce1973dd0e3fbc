"""`clv_report`: fitted parameters, a calibration-vs-holdout check and a forecast for the store.

The holdout check is the standard one for BG/NBD (Fader, Hardie & Lee 2005, fig. 5): consumers are
grouped by their repeat purchases in the calibration window (0, 1, …, 6, 7+) and, per group, the
mean purchase days actually seen in the holdout window is set beside the mean the model expected
(E[Y(t) | x, t_x, T] with t = the holdout length). Totals over all consumers come with it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from qianmian.clv import models as M
from qianmian.clv.scores import (
    DEFAULT_OPTIONS,
    ClvModel,
    ClvOptions,
    fit_store,
    score_frame,
)
from qianmian.clv.summary import holdout_purchases
from qianmian.dates import DateLike, check_days, to_date
from qianmian.errors import InputError
from qianmian.store import Store
from qianmian.store.rows import records

TOP_BUCKET = 7


@dataclass(frozen=True)
class HoldoutCheck:
    """Predicted vs actual repeat purchase days in (calibration end, holdout end]."""

    start: dt.date
    end: dt.date
    predicted_total: float
    actual_total: int
    buckets: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat(), "days": (self.end - self.start).days + 1,
                "predicted_total": self.predicted_total, "actual_total": self.actual_total, "buckets": self.buckets}


@dataclass(frozen=True)
class ClvReport:
    """What `qianmian report clv` prints (see docs/clv.md for what each number means)."""

    model: ClvModel
    horizon_days: int
    forecast: dict[str, Any]
    holdout: HoldoutCheck | None
    top: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.model.to_dict(), "horizon_days": self.horizon_days, "forecast": self.forecast,
                "holdout": None if self.holdout is None else self.holdout.to_dict(), "top": self.top, "notes": self.notes}


def clv_report(
    store: Store, *, calibration_end: DateLike, holdout_end: DateLike | None = None, horizon_days: int = 90,
    calibration_start: DateLike | None = None, options: ClvOptions = DEFAULT_OPTIONS, top: int = 10,
) -> ClvReport:
    """Fit on the buys up to `calibration_end`; check against the holdout up to `holdout_end` (default:
    the last day with a buy, when it is after the calibration end); forecast `horizon_days` ahead."""
    check_days(horizon_days, "horizon")
    model, summary = fit_store(store, calibration_end=calibration_end, calibration_start=calibration_start, options=options)
    scored = score_frame(model, summary, purchase_days=(horizon_days,), value_days=(horizon_days,))
    last_buy = _last_buy_day(store)
    end = _holdout_end(last_buy, model.calibration_end, holdout_end)
    check = holdout_check(store, model, summary, end) if end is not None else None
    notes = [*_past_data_note(last_buy, model.calibration_end), *_notes(model, summary, horizon_days), *_holdout_notes(check, model)]
    return ClvReport(model, horizon_days, _forecast(scored, horizon_days), check, _top(scored, horizon_days, top), notes)


def _last_buy_day(store: Store) -> dt.date | None:
    ev = store.table("events")
    last = store.execute(ev.filter(ev.behavior == "buy").ts.max())
    return None if last is None or pd.isna(last) else pd.Timestamp(last).date()


def _past_data_note(last_day: dt.date | None, cal: dt.date) -> list[str]:
    """A calibration end after the last buy counts the empty days after it as 'no purchase': every
    consumer's age T grows, so P(alive) and the forecast fall for a reason the data does not show."""
    if last_day is None or cal <= last_day:
        return []
    return [f"the calibration end {cal} is {(cal - last_day).days} days after the last buy {last_day}: those days count as "
            f"days without purchases, so P(alive) and the forecast are too low; use --calibration-end {last_day} or earlier"]


def _notes(model: ClvModel, summary: pd.DataFrame, horizon_days: int) -> list[str]:
    """Warnings a reader needs next to the numbers."""
    notes = []
    span = int(summary["T"].max()) + 1
    if span < horizon_days:
        notes.append(f"the calibration window holds {span} days of purchases, less than the {horizon_days}-day horizon: "
                     "the forecast extrapolates far beyond what the data shows")
    if model.gamma_gamma is None:
        notes.append("no spend model: too few repeat buyers with amounts on their buy events, so no expected spend and no CLV")
    return notes


HOLDOUT_TOLERANCE = 0.2
"""A holdout total further than this share from the forecast gets a note beside the numbers."""


def _holdout_notes(check: HoldoutCheck | None, model: ClvModel) -> list[str]:
    """Say when the fit was not checked against later purchases, or when the check went badly."""
    if check is None:
        return [f"no holdout check: there are no buys after the calibration end {model.calibration_end}; fit with an "
                "earlier --calibration-end to see the model's forecast set beside purchases it did not see"]
    if check.actual_total == 0:
        return []
    error = check.predicted_total / check.actual_total - 1
    if abs(error) <= HOLDOUT_TOLERANCE:
        return []
    side = "under" if error < 0 else "over"
    return [f"the holdout check {side}-forecasts: {check.predicted_total:,.0f} repeat purchase days expected from "
            f"{check.start} to {check.end}, {check.actual_total:,} seen ({error:+.0%}); read the forecast with that error in mind"]


def holdout_check(store: Store, model: ClvModel, summary: pd.DataFrame, holdout_end: dt.date) -> HoldoutCheck:
    """Per calibration-frequency bucket: consumers, mean actual and mean predicted holdout purchases."""
    cal = model.calibration_end
    actual = store.execute(holdout_purchases(store.table("events"), calibration_end=cal, holdout_end=holdout_end))
    merged = summary.merge(actual, on="user_id", how="left").fillna({"holdout_purchases": 0})
    u = model.options.unit_days
    t = ((holdout_end - cal).days) / u
    x, t_x, T = (merged[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    predicted = M.expected_purchases(model.bgnbd, t, x, t_x / u, T / u)
    frame = pd.DataFrame({"bucket": np.minimum(x, TOP_BUCKET).astype(int), "actual": merged.holdout_purchases.astype(float),
                          "predicted": predicted})
    per = frame.groupby("bucket").agg(consumers=("actual", "size"), actual_mean=("actual", "mean"),
                                      predicted_mean=("predicted", "mean")).reset_index()
    per["frequency"] = per.bucket.map(lambda b: f"{b}+" if b == TOP_BUCKET else str(b))
    rows = records(per[["frequency", "consumers", "actual_mean", "predicted_mean"]])
    return HoldoutCheck(cal + dt.timedelta(days=1), holdout_end, float(predicted.sum()), int(frame.actual.sum()), rows)


def _holdout_end(last_day: dt.date | None, cal: dt.date, given: DateLike | None) -> dt.date | None:
    if given is not None:
        end = to_date(given, "holdout_end")
        if end <= cal:
            raise InputError("holdout_end", f"a day after the calibration end {cal}", str(given))
        return end
    return last_day if last_day is not None and last_day > cal else None


def _forecast(scored: pd.DataFrame, days: int) -> dict[str, Any]:
    purchases, value = scored[f"expected_purchases_{days}d"], scored[f"clv_{days}d"]
    return {
        "consumers": len(scored),
        "expected_purchases": float(purchases.sum()),
        "clv": None if value.isna().all() else float(value.sum()),
        "mean_p_alive": float(scored.p_alive.mean()),
        "p_alive_below_0_3": int((scored.p_alive < 0.3).sum()),
        "expected_spend_mean": None if scored.expected_spend.isna().all() else float(scored.expected_spend.mean()),
    }


def _top(scored: pd.DataFrame, days: int, n: int) -> list[dict[str, Any]]:
    key = f"clv_{days}d" if not scored[f"clv_{days}d"].isna().all() else f"expected_purchases_{days}d"
    cols = ["user_id", "frequency", "recency_days", "T_days", "p_alive", f"expected_purchases_{days}d", "expected_spend", f"clv_{days}d"]
    return records(scored.sort_values([key, "user_id"], ascending=[False, True]).head(n)[cols])
