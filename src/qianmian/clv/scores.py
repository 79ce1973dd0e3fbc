"""Fit BG/NBD + Gamma-Gamma on a store's calibration window and score every consumer, vectorised.

    model = fit_store(store, calibration_end="2010-09-30")
    frame = score_frame(model, summary, purchase_days=(90,), value_days=(365,))

Columns of a score frame: user_id, frequency, recency_days, T_days, monetary, p_alive,
expected_purchases_{N}d, expected_spend, clv_{N}d. `expected_spend` is the Gamma-Gamma mean spend
per purchase; `clv_{N}d` = margin × expected spend × discounted expected purchases in N days
(NULL when the store has no amounts to fit spend on).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from qianmian.clv import models as M
from qianmian.clv.summary import rfm_summary
from qianmian.dates import DateLike, to_date
from qianmian.errors import InputError
from qianmian.store import Store

Unit = Literal["day", "week"]
UNIT_DAYS: dict[str, int] = {"day": 1, "week": 7}


@dataclass(frozen=True)
class ClvOptions:
    """How time is measured (the model's unit), the annual discount rate, the margin and the CLV step."""

    unit: Unit = "week"
    annual_discount: float = 0.10
    margin: float = 1.0
    step_days: int = 30

    def __post_init__(self) -> None:
        if self.unit not in UNIT_DAYS:
            raise InputError("unit", "day or week", self.unit)
        if not 0 <= self.annual_discount < 10:
            raise InputError("annual_discount", "a yearly rate from 0 to 10 (0.1 = 10%)", self.annual_discount)
        if not 0 < self.margin <= 1:
            raise InputError("margin", "a share of revenue in (0, 1]", self.margin)
        if not isinstance(self.step_days, int) or self.step_days <= 0:
            raise InputError("step_days", "a positive whole number of days", self.step_days)

    @property
    def unit_days(self) -> int:
        return UNIT_DAYS[self.unit]

    def discount_per_unit(self) -> float:
        return (1 + self.annual_discount) ** (self.unit_days / 365.0) - 1


DEFAULT_OPTIONS = ClvOptions()


@dataclass(frozen=True)
class ClvModel:
    """The fitted models, the calibration end they were fitted up to and the options used."""

    calibration_end: dt.date
    bgnbd: M.BgNbd
    gamma_gamma: M.GammaGamma | None
    options: ClvOptions
    consumers: int
    repeat_consumers: int

    def to_dict(self) -> dict:
        gg = self.gamma_gamma
        return {
            "calibration_end": self.calibration_end.isoformat(), "unit": self.options.unit,
            "bgnbd": {k: self.bgnbd.to_dict()[k] for k in ("r", "alpha", "a", "b")},
            "gamma_gamma": None if gg is None else {k: gg.to_dict()[k] for k in ("p", "q", "v")},
            "loglik": {"bgnbd": self.bgnbd.loglik, "gamma_gamma": None if gg is None else gg.loglik},
            "consumers": self.consumers, "repeat_consumers": self.repeat_consumers,
            "annual_discount": self.options.annual_discount, "margin": self.options.margin,
        }


def collect_summary(store: Store, *, calibration_end: DateLike, calibration_start: DateLike | None = None) -> pd.DataFrame:
    """The per-consumer summary computed by the engine, collected and sorted by user_id (a fixed
    order, so both engines fit on identical input)."""
    expr = rfm_summary(store.table("events"), calibration_end=calibration_end, calibration_start=calibration_start)
    frame = store.execute(expr)
    return frame.sort_values("user_id", kind="stable").reset_index(drop=True)


def fit_summary(summary: pd.DataFrame, *, calibration_end: DateLike, options: ClvOptions = DEFAULT_OPTIONS) -> ClvModel:
    """Fit BG/NBD on every consumer and Gamma-Gamma on those with repeat purchases and amounts."""
    if summary.empty:
        raise InputError("calibration_end", "a day after consumers' purchases (no buy events before it)", str(calibration_end))
    x, t_x, T = _times(summary, options)
    bg = M.fit_bgnbd(x, t_x, T)
    m = summary["monetary"].to_numpy(dtype="float64", na_value=np.nan)
    priced = (x > 0) & np.isfinite(m) & (m > 0)
    gg = M.fit_gamma_gamma(x, m) if priced.sum() >= 3 else None
    return ClvModel(to_date(calibration_end, "calibration_end"), bg, gg, options, len(summary), int((x > 0).sum()))


def fit_store(store: Store, *, calibration_end: DateLike, calibration_start: DateLike | None = None,
              options: ClvOptions = DEFAULT_OPTIONS) -> tuple[ClvModel, pd.DataFrame]:
    """(fitted model, collected summary) for the store's buys in the calibration window."""
    summary = collect_summary(store, calibration_end=calibration_end, calibration_start=calibration_start)
    return fit_summary(summary, calibration_end=calibration_end, options=options), summary


def score_frame(model: ClvModel, summary: pd.DataFrame, *, purchase_days: Sequence[int] = (90,),
                value_days: Sequence[int] = (365,)) -> pd.DataFrame:
    """Every consumer of `summary` scored: P(alive), expected purchases and CLV per horizon (days)."""
    for name, days in (("purchase_days", purchase_days), ("value_days", value_days)):
        if any(not isinstance(d, int) or d <= 0 for d in days):
            raise InputError(name, "positive whole numbers of days", list(days))
    x, t_x, T = _times(summary, model.options)
    u = model.options.unit_days
    out = summary[["user_id", "frequency", "recency", "T", "monetary"]].rename(columns={"recency": "recency_days", "T": "T_days"})
    with np.errstate(all="ignore"):
        out["p_alive"] = M.p_alive(model.bgnbd, x, t_x, T)
        for d in purchase_days:
            out[f"expected_purchases_{d}d"] = M.expected_purchases(model.bgnbd, d / u, x, t_x, T)
        m = summary["monetary"].to_numpy(dtype="float64", na_value=np.nan)
        gg = model.gamma_gamma
        out["expected_spend"] = M.expected_spend(gg, x, np.where(x > 0, m, 0.0)) if gg else np.nan
        for d in value_days:
            out[f"clv_{d}d"] = _clv(model, x, t_x, T, m, d) if gg else np.nan
    return out


def _clv(model: ClvModel, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, m: np.ndarray, days: int) -> np.ndarray:
    o, gg = model.options, model.gamma_gamma
    assert gg is not None
    return M.clv(model.bgnbd, gg, x, t_x, T, np.where(x > 0, m, 0.0), horizon=days / o.unit_days,
                 step=min(o.step_days, days) / o.unit_days, discount_per_unit=o.discount_per_unit(), margin=o.margin)


def _times(summary: pd.DataFrame, options: ClvOptions) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    u = float(options.unit_days)
    return (summary["frequency"].to_numpy(dtype="float64"), summary["recency"].to_numpy(dtype="float64") / u,
            summary["T"].to_numpy(dtype="float64") / u)
