"""A small, fully known experiment built in code: exposures and events for a 2:8 test.

Shared by the metric, report, close-out and CLI tests (imported, not a fixture, so each test picks
its own size and seed).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from qianmian.experiments import Experiment, Variant, assign_many

START = dt.datetime(2024, 2, 25)
AS_OF = dt.date(2024, 3, 8)
EXPERIMENT = Experiment(
    "cny-hero", (Variant("test", 2), Variant("control", 8)), campaign="cny-2024", window_days=7, pre_days=14,
    start=START, end=dt.datetime(2024, 3, 9),
)


def scenario(n: int = 600, seed: int = 1, drop_test: float = 0.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(exposures, events). `drop_test` loses that share of test exposures (a broken split)."""
    rng = np.random.default_rng(seed)
    users = np.char.add("u", np.arange(n).astype(str))
    variant = assign_many(EXPERIMENT, users).astype(str)
    first = pd.Timestamp(START) + pd.to_timedelta(rng.integers(0, 6 * 86400, n), unit="s")
    exp = pd.DataFrame({
        "experiment": EXPERIMENT.name, "variant": variant, "user_id": users, "ts": first,
        "audience": rng.choice(["coffee", "milk-powder"], n),
        "page": [f'{{"creative_id": "{c}"}}' for c in rng.choice(["hero-a", "hero-b"], n)], "source": "test",
    })
    again = exp.sample(frac=0.3, random_state=seed).assign(ts=lambda d: d.ts + pd.Timedelta(hours=5))
    exp = pd.concat([exp, again, _cross_over(exp)], ignore_index=True)
    if drop_test:
        lost = exp[(exp.variant == "test")].sample(frac=drop_test, random_state=seed).user_id
        exp = exp[~exp.user_id.isin(lost)]
    return exp, _events(rng, users, variant == "test", first)


def _cross_over(exp: pd.DataFrame) -> pd.DataFrame:
    """Two units also exposed to the other variant (to be excluded and counted)."""
    two = exp.head(2).copy()
    two["variant"] = np.where(two.variant == "test", "control", "test")
    return two.assign(ts=two.ts + pd.Timedelta(hours=1))


def _events(rng: np.random.Generator, users: np.ndarray, test: np.ndarray, first: pd.Series) -> pd.DataFrame:
    n = len(users)
    frames = []
    for k in range(4):  # up to four events per unit, before and after the exposure
        offset = pd.to_timedelta(rng.integers(-20 * 86400, 10 * 86400, n), unit="s")
        p_buy = np.where(test, 0.25, 0.15)
        behavior = np.where(rng.random(n) < p_buy, "buy", rng.choice(["view", "view", "click", "cart", "expose", "return"], n))
        amount = np.where(np.isin(behavior, ["buy", "return"]), rng.gamma(2, 40, n).round(2), np.nan)
        session = np.where(rng.random(n) < 0.8, np.char.add(np.char.add(users, "-s"), rng.integers(0, 3, n).astype(str)), None)
        frames.append(pd.DataFrame({
            "event_id": np.char.add(np.char.add(users, f"-e{k}-"), np.arange(n).astype(str)), "user_id": users,
            "behavior": behavior, "ts": first + offset, "session_id": session, "amount": amount,
            "order_id": np.where(behavior == "buy", np.char.add(users, f"-o{k % 2}"), None),
            "properties": np.where(behavior == "click", '{"module": "hero"}', None),
        }))
    ev = pd.concat(frames, ignore_index=True)
    ev.loc[ev.index % 97 == 0, "user_id"] = None  # anonymous events count for no unit
    return ev


def reference_per_unit(exp: pd.DataFrame, ev: pd.DataFrame, as_of: dt.date, window_days: float, pre_days: float) -> pd.DataFrame:
    """Per-unit metric values written directly in pandas (the definitions of metrics.py)."""
    end = pd.Timestamp(as_of) + pd.Timedelta(days=1)
    e = exp[exp.ts < end]
    units = e.groupby("user_id").agg(variant=("variant", "min"), nv=("variant", "nunique"), first=("ts", "min"))
    units = units[units.nv == 1].drop(columns="nv")
    j = ev[ev.user_id.notna() & (ev.ts < end)].merge(units, left_on="user_id", right_index=True)
    j = j[(j.ts >= j["first"] - pd.Timedelta(days=pre_days)) & (j.ts < j["first"] + pd.Timedelta(days=window_days))]
    post = j[j.ts >= j["first"]].copy()
    post["session"] = post.session_id.fillna(post.ts.dt.strftime("%Y-%m-%d"))
    g = post.groupby("user_id")
    out = pd.DataFrame(index=units.index)
    out["variant"] = units.variant
    has = lambda b: g.behavior.apply(lambda s: (s == b).any())  # noqa: E731
    out["purchase_conversion"] = has("buy")
    out["click_through"] = has("click")
    out["viewed"] = has("view")
    out["visited"] = g.behavior.apply(lambda s: (s != "expose").any())
    out["browse_num"] = out.purchase_conversion.fillna(False) & out.viewed.fillna(False)
    s = post.groupby(["user_id", "session"]).behavior.agg(views=lambda b: (b == "view").sum(), visits=lambda b: (b != "expose").sum())
    s["bounced"] = (s.views == 1) & (s.visits == 1)
    s["landed"] = s.views > 0
    out["sessions"] = s.groupby(level=0).landed.sum()
    out["bounced"] = s.groupby(level=0).bounced.sum()
    buys = post[post.behavior == "buy"].assign(order=lambda d: d.order_id.fillna(d.event_id))
    out["amount"] = buys.groupby("user_id").amount.sum()
    out["orders"] = buys.groupby(["user_id", "session"]).order.nunique().groupby(level=0).sum()
    signed = np.where(post.behavior == "buy", post.amount, np.where(post.behavior == "return", -post.amount, 0.0))
    out["revenue"] = pd.Series(signed, index=post.index).groupby(post.user_id).sum()
    return out.fillna(0).astype({c: float for c in out.columns if c != "variant"})
