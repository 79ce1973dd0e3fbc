"""Recommendation commands: train, recommend, similar, evaluate."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import typer

from qianmian.cli.common import (
    JsonOption,
    StoreOption,
    console,
    err_console,
    errors_to_exit,
    open_store,
    print_json,
    print_table,
    progress,
    settings,
)
from qianmian.dates import end_of
from qianmian.errors import InputError, NotFoundError
from qianmian.store import Store

ModelsDirOption = typer.Option(
    None, "--models-dir", help="Where model versions live (default: <data_dir>/models/<the store's id>)"
)


def _models_dir(path: Path | None, store: Store) -> Path:
    return path or settings().models_dir(store.id)


def _service(models_dir: Path | None, version: str | None, store: Store) -> Any:
    """The trained models of `store`: refused when they come from another store
    (`qianmian.recommend.bundle.check_store`); said plainly when the store has none yet."""
    from qianmian.recommend.bundle import has_versions
    from qianmian.recommend.service import RecommendService

    folder = _models_dir(models_dir, store)
    if models_dir is None and not has_versions(folder):
        raise NotFoundError(
            f"trained models of store {store.id} ({store.url}) in", str(folder),
            hint=f"train them with `qianmian train --store {store.url}`",
        )
    return RecommendService.load(folder, version=version, store=store)


def train(
    as_of: str | None = typer.Option(None, "--as-of", help="Train on events through the end of this day (YYYY-MM-DD, the store's time zone), or before this ISO time"),
    models: str | None = typer.Option(
        None, "--models", help="Comma-separated model names (default: all); blends bring their parts"
    ),
    holdout_days: float = typer.Option(
        7.0, "--holdout-days", help="Window before the cutoff on which blend weights are learned (0 = keep defaults)"
    ),
    models_dir: Path | None = ModelsDirOption,
    store: str | None = StoreOption,
    json: bool = JsonOption,
) -> None:
    """Fit the recommendation models on the store's events and save them as a new version."""
    from qianmian.recommend.train import DEFAULT_MODELS
    from qianmian.recommend.train import train as run_train

    with errors_to_exit():
        s = open_store(store)
        cutoff = _cutoff(s, as_of)
        specs = _select(DEFAULT_MODELS, models)
        with progress(not json) as bar:
            task = bar.add_task("training", total=len(specs) + sum(m.kind == "blend" for m in specs))
            path = run_train(
                s,
                as_of=cutoff,
                models_dir=_models_dir(models_dir, s),
                models=specs,
                holdout_days=holdout_days or None,
                on_step=lambda label: bar.update(task, advance=1, description=label),
            )
    from qianmian.recommend.bundle import load_bundle

    bundle = load_bundle(path)
    out = {
        "version": bundle.version,
        "path": str(path),
        "cutoff": cutoff.isoformat(),
        "users": len(bundle.users),
        "items": len(bundle.items),
        "categories": len(bundle.categories),
        "models": [m.name for m in specs],
        "blends": {n: list(s_.weights) for n, s_ in bundle.specs.items() if s_.kind == "blend"},
        "rankers": {n: {"parts": list(s_.parts), "coefficients": len(s_.params.get("coef", ()))} for n, s_ in bundle.specs.items() if s_.kind == "ranker"},
    }
    if json:
        print_json(out)
        return
    console.print(
        f"trained {out['version']} at {path}: {out['users']:,} users × {out['items']:,} items, events before {out['cutoff']}"
    )
    print_table(
        "blends (weights learned on the holdout window)",
        [{"blend": n, "parts": ", ".join(bundle.specs[n].parts), "weights": w} for n, w in out["blends"].items()],
    )
    if out["rankers"]:
        print_table(
            f"rankers (logistic, learned on days before the cutoff; coefficients in {path / 'manifest.json'})",
            [{"ranker": n, "parts": ", ".join(r["parts"]), "coefficients": r["coefficients"]} for n, r in out["rankers"].items()],
        )


def _cutoff(store, as_of: str | None) -> dt.datetime:
    """`--as-of DAY` means events through the end of DAY (`qianmian.dates.end_of`, as for reports);
    without it, all events (said out loud)."""
    if as_of:
        return end_of(as_of, "--as-of")
    from qianmian.store.summary import last_event_ts

    last = last_event_ts(store)
    if last is None:
        raise InputError("events", "at least one event to train on", "an empty events table")
    cutoff = (
        (last + dt.timedelta(seconds=1)).to_pydatetime() if hasattr(last, "to_pydatetime") else last + dt.timedelta(seconds=1)
    )
    err_console.print(f"[yellow]no --as-of given: training on all events (through {last})[/yellow]")
    return cutoff


def _select(specs, names: str | None):
    if not names:
        return list(specs)
    by_name = {m.name: m for m in specs}
    wanted = {n.strip() for n in names.split(",") if n.strip()}
    unknown = sorted(wanted - set(by_name))
    if unknown:
        raise InputError("--models", f"names among {sorted(by_name)}", unknown)
    wanted |= {"popular", "trending", "covisit"}  # every scene's fallback and reasons need them
    for n in list(wanted):
        wanted |= set(by_name[n].parts)
    if "home" not in wanted:
        raise InputError("--models", "a set including home (the main scene) or one of its parts and home", sorted(wanted))
    return [m for m in specs if m.name in wanted]


def recommend(
    user: str | None = typer.Argument(None, help="The shopper's id"),
    scene: str = typer.Option("home", "--scene", help="home, similar, cart, post_purchase, audience_top or layers"),
    k: int = typer.Option(20, "--k", help="How many items"),
    users: Path | None = typer.Option(None, "--users", help="File with one user id per line (prints one JSON line per user)"),
    item: str | None = typer.Option(None, "--item", help="The item for similar / post_purchase"),
    cart: str | None = typer.Option(None, "--cart", help="Comma-separated item ids in the cart"),
    version: str | None = typer.Option(None, "--version", help="Model version (default: latest)"),
    models_dir: Path | None = ModelsDirOption,
    store: str | None = StoreOption,
    json: bool = JsonOption,
) -> None:
    """Recommend items for one shopper, or for every shopper listed in --users."""
    from qianmian.recommend.scenes import SCENES

    if (user is None) == (users is None):
        raise typer.BadParameter("give either USER or --users FILE", param_hint="USER")
    with errors_to_exit():
        if scene not in SCENES:
            raise InputError("--scene", f"one of {', '.join(SCENES)}", scene)
        svc = _service(models_dir, version, open_store(store))
        basket = [c.strip() for c in cart.split(",") if c.strip()] if cart else None
        if users is not None:
            for uid in _read_users(users):
                print_json(_answer(svc, uid, scene, k, item, basket))
            return
        out = _answer(svc, user, scene, k, item, basket)
    if json:
        print_json(out)
        return
    print_table(f"{scene} for {user}", [{"#": i + 1, **r} for i, r in enumerate(out["items"])])


def _read_users(path: Path) -> list[str]:
    if not path.is_file():
        raise InputError("--users", "an existing file with one user id per line", str(path))
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _answer(svc, user: str, scene: str, k: int, item: str | None, cart: list[str] | None) -> dict:
    recs = svc.recommend(user, scene, k, item_id=item, cart=cart)
    return {"user_id": user, "items": [dataclasses.asdict(r) for r in recs]}


def similar(
    item: str = typer.Argument(..., help="The item's id"),
    k: int = typer.Option(10, "--k"),
    version: str | None = typer.Option(None, "--version"),
    models_dir: Path | None = ModelsDirOption,
    store: str | None = StoreOption,
    json: bool = JsonOption,
) -> None:
    """Items similar to ITEM (the item page's rail)."""
    with errors_to_exit():
        svc = _service(models_dir, version, open_store(store))
        out = {"item_id": item, "items": [dataclasses.asdict(r) for r in svc.similar(item, k)]}
    if json:
        print_json(out)
        return
    print_table(f"similar to {item}", [{"#": i + 1, **r} for i, r in enumerate(out["items"])])


def evaluate(
    protocol: str = typer.Option(..., "--protocol", help="R1 (Online Retail II) or R2 (Taobao category layers)"),
    data: Path = typer.Option(Path("../shared/data"), "--data", help="The shared data folder"),
    methods: str | None = typer.Option(None, "--methods", help="Comma-separated method names (default: all)"),
    cutoffs: str | None = typer.Option(
        None,
        "--cutoffs",
        help="Rolling origin (R1): comma-separated dates; at each, train before it, validate on the two months "
        "before, test on the two months after (or up to the next cutoff); adds the served scene",
    ),
    store: str | None = typer.Option(
        None,
        "--store",
        help="Store the served scene trains on (it must hold the protocol's file, which is ingested into it when "
        "it has no events); default: an evaluation store built once under <data_dir>/eval",
    ),
    json: bool = JsonOption,
) -> None:
    """Compare our models, the served scene and peer libraries: tuned on validation, measured on test."""
    from qianmian.recommend.evaluate.data import parse_cutoffs
    from qianmian.recommend.evaluate.harness import run_protocol, run_rolling, steps

    chosen = [m.strip() for m in methods.split(",")] if methods else None
    with errors_to_exit(), quiet_peer_warnings():
        if protocol not in ("R1", "R2"):
            raise InputError("--protocol", "R1 or R2", protocol)
        days = parse_cutoffs(cutoffs) if cutoffs else None
        if days is not None and protocol != "R1":
            raise InputError("--cutoffs", "only with --protocol R1 (R2 has one fixed split)", protocol)
        if store is not None and days is None:
            raise InputError("--store", "used with --cutoffs (the served scene is evaluated at rolling cutoffs)", store)
        with progress(True) as bar:  # on stderr, with --json too: stdout keeps only the JSON
            total = steps(protocol, chosen, cutoffs=len(days or ()) or 1, served=days is not None)  # type: ignore[arg-type]
            task = bar.add_task(f"{protocol}: loading", total=total)
            on_step = _stepper(bar, task, total)
            if days is None:
                rows = run_protocol(protocol, data, methods=chosen, on_step=on_step)  # type: ignore[arg-type]
            else:
                source = _served_source(protocol, data, store, on_step)
                rows = run_rolling(protocol, data, days, methods=chosen, served=source, on_step=on_step)  # type: ignore[arg-type]
    if json:
        print_json([r.to_dict() for r in rows])
        return
    if days is not None:
        _print_rolling(protocol, rows)
        return
    print_table(
        f"{protocol}: test split, configs tuned on validation",
        [
            {
                "method": r.method,
                "family": r.family,
                f"recall@{r.k}": f"{r.recall:.4f} [{r.recall_lo:.4f}, {r.recall_hi:.4f}]",
                f"ndcg@{r.k}": r.ndcg,
                f"hitrate@{r.k}": r.hitrate,
                "coverage": r.coverage,
                "train_s": r.train_s,
                "vs best peer": _ratio(r),
                "config": r.config,
            }
            for r in rows
        ],
    )
    if any(r.family == "peer" for r in rows) and any(r.family == "ours" for r in rows):
        from qianmian.recommend.evaluate.harness import summary

        s = summary(rows)
        console.print(f"best ours {s['best_ours']:.4f} / best peer {s['best_peer']:.4f} = {s['ratio']:.3f}×")


def _stepper(bar, task, total: int):
    """Advance the bar; when stderr is not a terminal (a log file, CI), also one line per step."""
    done = [0]

    def step(label: str) -> None:
        done[0] += 1
        bar.update(task, advance=1, description=label)
        if not err_console.is_terminal:
            err_console.print(f"[{done[0]}/{total}] {label}", highlight=False)

    return step


def _served_source(protocol: str, data: Path, store: str | None, on_step):
    from qianmian.recommend.evaluate.served import ServedSource, evaluation_store

    cache = settings().data_dir / "eval"
    on_step(f"{protocol}: evaluation store")
    return ServedSource(evaluation_store(protocol, data, cache, store), cache)


def _ratio(r) -> str:
    if r.vs_best_peer != r.vs_best_peer:  # NaN: no peer on this split
        return "-"
    if r.vs_best_peer_lo != r.vs_best_peer_lo:
        return f"{r.vs_best_peer:.3f}×"
    return f"{r.vs_best_peer:.3f}× [{r.vs_best_peer_lo:.3f}, {r.vs_best_peer_hi:.3f}]"


def _print_rolling(protocol: str, rows) -> None:
    """One table: each method's recall per cutoff (95 % interval), its mean, and per cutoff its
    ratio to that cutoff's best peer (paired 95 % interval)."""
    from qianmian.recommend.evaluate.harness import rolling_summary

    cutoffs = sorted({r.cutoff for r in rows})
    table = []
    for method in dict.fromkeys(r.method for r in rows):
        mine = {r.cutoff: r for r in rows if r.method == method}
        line = {"method": method, "family": next(iter(mine.values())).family}
        for c in cutoffs:
            r = mine.get(c)
            line[f"recall {c}"] = "-" if r is None else f"{r.recall:.4f} [{r.recall_lo:.4f}, {r.recall_hi:.4f}]"
        line["mean"] = f"{sum(r.recall for r in mine.values()) / len(mine):.4f}"
        for c in cutoffs:
            line[f"vs best peer {c}"] = "-" if c not in mine else _ratio(mine[c])
        table.append(line)
    k = rows[0].k if rows else 20
    print_table(f"{protocol}: Recall@{k} at each cutoff (tuned on that cutoff's validation window) [95% bootstrap]", table)
    for line in rolling_summary(rows):
        console.print(line)


@contextlib.contextmanager
def quiet_peer_warnings():
    """Peer libraries' warnings (implicit's BLAS and GPU notices) stay out of the output."""
    import logging
    import warnings

    logger = logging.getLogger("implicit")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.command()(recommend)
    app.command()(similar)
    app.command()(evaluate)
