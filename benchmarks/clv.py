"""CLV benchmark: BG/NBD + Gamma-Gamma fit and scoring on CDNOW (real) and on 1M generated consumers.

Contenders, in one run:
- ours: `qianmian.clv` — the store aggregates (frequency, recency, T, monetary) per consumer, the
  fit runs on the distinct rows with an analytic BG/NBD gradient, scoring is vectorised numpy;
- floor: a plain scipy fit (per-consumer rows, Nelder-Mead on the same likelihood, no gradient),
  the way the formulas are usually first written down;
- peer: `lifetimes` (unmaintained; only if it is installed, e.g. `pip install lifetimes` for this run).

Data: the CDNOW sample (2,357 customers, published fit) and master (23,570 customers) from
../shared/data/cdnow, ingested with the `cdnow` layout into a temporary DuckDB store; and N
generated consumers (synthetic, drawn from the BG/NBD and Gamma-Gamma stories with known
parameters) written as buy events into a DuckDB store, so the aggregation runs in the engine.

    .venv/bin/python benchmarks/clv.py                     # 1M generated consumers
    .venv/bin/python benchmarks/clv.py --consumers 100000  # quicker
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize

from qianmian.clv import models as M
from qianmian.clv.scores import ClvOptions, collect_summary, fit_summary, score_frame
from qianmian.ingest import ingest_file
from qianmian.store import connect

DATA = Path(os.environ.get("QIANMIAN_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426, "p": 6.25, "q": 3.74, "v": 15.45}
TRUTH = {"r": 0.6, "alpha": 40.0, "a": 0.7, "b": 2.5}  # days; generated data only
START = dt.date(2024, 1, 1)
CAL_END = dt.date(2024, 12, 31)


def result(claim: str, measured: str, target: str, ok: bool) -> None:
    print(f"RESULT {claim}: {measured} (target {target}) {'PASS' if ok else 'FAIL'}", flush=True)


def timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def plain_scipy_bgnbd(x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> tuple[np.ndarray, int]:
    """The floor: every consumer's row, Nelder-Mead, no gradient."""
    def neg(logp: np.ndarray) -> float:
        return -float(np.sum(M.bgnbd_loglik(np.exp(logp), x, t_x, T)))

    with np.errstate(all="ignore"):
        r = optimize.minimize(neg, np.log([1.0, float(np.mean(T)), 1.0, 1.0]), method="Nelder-Mead",
                              options={"xatol": 1e-6, "fatol": 1e-8, "maxiter": 4000})
    return np.exp(r.x), int(r.nfev)


def lifetimes_fit(x, t_x, T):
    try:
        from lifetimes import BetaGeoFitter
    except ImportError:
        return None
    return BetaGeoFitter().fit(x, t_x, T)


def cdnow_store(tmp: Path, name: str):
    store = connect(f"duckdb:///{tmp / (name + '.duckdb')}")
    ingest_file(store, DATA / "cdnow" / f"CDNOW_{name}.txt", layout="cdnow")
    return store


def arrays(summary: pd.DataFrame, unit: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return (summary.frequency.to_numpy(float), summary.recency.to_numpy(float) / unit, summary["T"].to_numpy(float) / unit)


def bench_cdnow(tmp: Path) -> None:
    sample = cdnow_store(tmp, "sample")
    summary = collect_summary(sample, calibration_end="1997-09-30")
    model = fit_summary(summary, calibration_end="1997-09-30")
    got = {**{k: getattr(model.bgnbd, k) for k in ("r", "alpha", "a", "b")}, **{k: getattr(model.gamma_gamma, k) for k in ("p", "q", "v")}}
    dev_bg = max(abs(got[k] / PUBLISHED[k] - 1) for k in ("r", "alpha", "a", "b"))
    dev_gg = max(abs(got[k] / PUBLISHED[k] - 1) for k in ("p", "q", "v"))
    print("CDNOW sample fit:", {k: round(v, 4) for k, v in got.items()})
    result("CDNOW sample BG/NBD vs Fader-Hardie-Lee 2005", f"max deviation {dev_bg:.3%}", "<= 1%", dev_bg <= 0.01)
    result("CDNOW sample Gamma-Gamma vs Fader-Hardie-Lee 2005", f"max deviation {dev_gg:.3%}", "<= 2%", dev_gg <= 0.02)

    master = cdnow_store(tmp, "master")
    summ, t_agg = timed(collect_summary, master, calibration_end="1997-09-30")
    fit, t_fit = timed(fit_summary, summ, calibration_end="1997-09-30")
    scores, t_score = timed(score_frame, fit, summ)
    x, t_x, T = arrays(summ, 7.0)
    (floor, nfev), t_floor = timed(plain_scipy_bgnbd, x, t_x, T)
    ours_ll = fit.bgnbd.loglik
    floor_ll = float(np.sum(M.bgnbd_loglik(floor, x, t_x, T)))
    print(f"CDNOW master: {len(summ):,} customers; store aggregation {t_agg:.3f}s, fit {t_fit:.3f}s "
          f"(BG/NBD {fit.bgnbd.r:.4f} {fit.bgnbd.alpha:.4f} {fit.bgnbd.a:.4f} {fit.bgnbd.b:.4f}, LL {ours_ll:.2f}), "
          f"scoring {t_score:.3f}s; plain scipy fit {t_floor:.3f}s ({nfev} evaluations, LL {floor_ll:.2f})")
    result(f"CDNOW master ({len(summ):,} customers) BG/NBD + Gamma-Gamma fit vs plain scipy BG/NBD fit",
           f"{t_fit:.3f}s vs {t_floor:.3f}s = {t_floor / t_fit:.1f}x faster, LL {ours_ll - floor_ll:+.3f}",
           ">= 2x faster at an equal or better likelihood", t_floor / t_fit >= 2 and ours_ll >= floor_ll - 1e-3)
    peer, t_peer = timed(lifetimes_fit, x, t_x, T)
    if peer is None:
        print("lifetimes is not installed: peer skipped (pip install lifetimes to compare)")
        return
    p = peer.params_
    dev = max(abs(getattr(fit.bgnbd, k) / p[k] - 1) for k in ("r", "alpha", "a", "b"))
    from lifetimes import (
        BetaGeoFitter,  # the same formulas with our parameters: checks the scoring, not the optimiser
    )

    same = BetaGeoFitter()
    same.params_ = pd.Series({k: getattr(fit.bgnbd, k) for k in ("r", "alpha", "a", "b")})
    pred_dev = float(np.max(np.abs(scores.expected_purchases_90d.to_numpy() - same.conditional_expected_number_of_purchases_up_to_time(90 / 7, x, t_x, T))))
    alive_dev = float(np.max(np.abs(scores.p_alive.to_numpy() - same.conditional_probability_alive(x, t_x, T))))
    result(f"CDNOW master fit vs lifetimes {getattr(__import__('lifetimes'), '__version__', '?')}",
           f"{t_fit:.3f}s vs {t_peer:.3f}s = {t_peer / t_fit:.1f}x; parameters within {dev:.4%}; with the same parameters "
           f"E[purchases 90d] max diff {pred_dev:.1e}, P(alive) {alive_dev:.1e}",
           "parameters within 0.1%, scores within 1e-9", dev <= 1e-3 and pred_dev <= 1e-9 and alive_dev <= 1e-9)


def generate(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """Buy events of `n` consumers who made a first purchase in 2024-H1, drawn from the BG/NBD story in
    whole days (synthetic), each purchase with an amount from the Gamma-Gamma story."""
    first = rng.integers(0, 182, n)
    T = (CAL_END - START).days - first
    lam, p = rng.gamma(TRUTH["r"], 1 / TRUTH["alpha"], n), rng.beta(TRUTH["a"], TRUTH["b"], n)
    nu = rng.gamma(3.5, 1 / 150.0, n)  # per-consumer spend rate: mean spend p / nu
    users, days = [np.arange(n)], [first]
    t, alive = np.zeros(n), np.ones(n, bool)
    while alive.any():
        t = t + rng.exponential(1 / np.maximum(lam, 1e-12))
        day = np.floor(t).astype(int)
        bought = alive & (day <= T)
        users.append(np.flatnonzero(bought))
        days.append(first[bought] + day[bought])
        alive = bought & (rng.random(n) >= p)
    u, d = np.concatenate(users), np.concatenate(days)
    amount = np.round(rng.gamma(6.0, 1 / nu[u]), 2)
    ts = pd.to_datetime(START) + pd.to_timedelta(d, unit="D") + pd.to_timedelta(rng.integers(9, 21, len(u)), unit="h")
    return pd.DataFrame({"event_id": np.arange(len(u)).astype(str), "user_id": pd.Series(u).astype(str).str.zfill(7),
                         "behavior": "buy", "ts": ts, "amount": amount})


def bench_generated(tmp: Path, n: int) -> None:
    rng = np.random.default_rng(2024)
    events, t_gen = timed(generate, n, rng)
    store = connect(f"duckdb:///{tmp / 'generated.duckdb'}")
    _, t_load = timed(store.append, "events", events, dedupe=False)
    print(f"generated (synthetic) {n:,} consumers, {len(events):,} buy events in {t_gen:.1f}s, loaded in {t_load:.1f}s")
    del events
    opts = ClvOptions(unit="day")
    summ, t_agg = timed(collect_summary, store, calibration_end=CAL_END)
    fit, t_fit = timed(fit_summary, summ, calibration_end=CAL_END, options=opts)
    scores, t_score = timed(score_frame, fit, summ, purchase_days=(90,), value_days=(365,))
    total = t_agg + t_fit + t_score
    b = fit.bgnbd
    print(f"{len(summ):,} buyers: store aggregation {t_agg:.2f}s, fit {t_fit:.2f}s (r {b.r:.3f} alpha {b.alpha:.2f} a {b.a:.3f} "
          f"b {b.b:.3f}; truth {TRUTH}), scoring {t_score:.2f}s ({t_score / len(summ) * 1e6:.2f} µs per consumer)")
    dev = max(abs(getattr(b, k) / v - 1) for k, v in TRUTH.items())
    result(f"{n / 1e6:g}M generated consumers (synthetic): aggregate in the store + fit + score", f"{total:.1f}s, parameters within {dev:.1%} of the truth",
           "<= 60 s on 2 shared cores, parameters within 10%", total <= 60 and dev <= 0.10)
    sub = min(len(summ), 20_000)  # the floor on a subsample: per-consumer rows, no gradient
    x, t_x, T = arrays(summ.iloc[:sub], 1.0)
    _, t_floor = timed(plain_scipy_bgnbd, x, t_x, T)
    _, t_sub = timed(M.fit_bgnbd, x, t_x, T)
    result(f"BG/NBD fit on {sub:,} generated consumers vs plain scipy", f"{t_sub:.2f}s vs {t_floor:.2f}s = {t_floor / t_sub:.1f}x faster",
           ">= 2x faster", t_floor / t_sub >= 2)
    loop_n = 2_000
    xs, txs, Ts = arrays(summ.iloc[:loop_n], 1.0)
    t0 = time.perf_counter()
    for i in range(loop_n):  # the floor for scoring: one consumer at a time
        M.p_alive(fit.bgnbd, xs[i:i + 1], txs[i:i + 1], Ts[i:i + 1])
        M.expected_purchases(fit.bgnbd, 90.0, xs[i:i + 1], txs[i:i + 1], Ts[i:i + 1])
    per_loop = (time.perf_counter() - t0) / loop_n
    _, t_vec = timed(lambda: (M.p_alive(fit.bgnbd, *arrays(summ, 1.0)), M.expected_purchases(fit.bgnbd, 90.0, *arrays(summ, 1.0))))
    per_vec = t_vec / len(summ)
    result("scoring P(alive) + E[purchases 90d] vectorised vs one consumer at a time", f"{per_vec * 1e6:.2f} vs {per_loop * 1e6:.1f} µs per consumer = "
           f"{per_loop / per_vec:.0f}x", ">= 50x", per_loop / per_vec >= 50)
    store.close()
    del scores


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--consumers", type=int, default=1_000_000, help="generated consumers")
    ap.add_argument("--skip-cdnow", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="qm-clv-bench-") as tmp:
        if not args.skip_cdnow:
            if not (DATA / "cdnow" / "CDNOW_master.txt").is_file():
                print(f"CDNOW not found under {DATA}: skipped")
            else:
                bench_cdnow(Path(tmp))
        bench_generated(Path(tmp), args.consumers)


if __name__ == "__main__":
    main()
