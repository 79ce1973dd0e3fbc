"""The served scene as an evaluation method: what a shopper would get, not what a model scores.

`served:home` is `qianmian train --as-of <cutoff>` on a store holding the protocol's file, then
`RecommendService.recommend(user, "home", k)` for every evaluation user: the blend, the business
rules, the diversity cap, the padding, exactly as `GET /v1/recommendations?scene=home` answers.
Its list is scored on the split's target like every other method's, after the same exclusion of
the shopper's train items (the service is asked for k + |train items| so that k remain).
`served:home (rules off)` is the same scene with every rule off, so the rules' cost is visible.

Everything expensive is cached under `cache_dir`: the evaluation store (the protocol file
ingested with its layout; rebuilt when the file or the ingest code changes) and one trained
bundle per (store, cutoff, model set, training code).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import qianmian.recommend as recommend_pkg
from qianmian.errors import InputError
from qianmian.recommend.base import TopK
from qianmian.recommend.bundle import ModelSpec
from qianmian.recommend.evaluate.data import R1_FILE, Split
from qianmian.recommend.rules import Rules
from qianmian.store import Store, connect

LAYOUTS = {"R1": ("online-retail", R1_FILE)}
"""Protocol → (ingest layout, file under the data folder) for the evaluation store."""

RULES_OFF = Rules(exclude_bought=False, rebuy_consumables=False, in_stock_only=False, products_only=False, self_tags=False)
SERVED_METHODS = ("served:home", "served:home (rules off)")
MIN_KNOWN_SHARE = 0.95
"""At least this share of a split's evaluation users must be shoppers of the store's bundle."""


@dataclass(frozen=True)
class ServedSource:
    """Where the served scene learns: a store holding the protocol's events and a cache folder."""

    store_url: str
    cache_dir: Path
    models: tuple[ModelSpec, ...] | None = None
    """The model set to train (default: `train.DEFAULT_MODELS`, as `qianmian train` does)."""


def evaluation_store(protocol: str, data_dir: Path | str, cache_dir: Path | str, store_url: str | None = None) -> str:
    """The URL of a store holding `protocol`'s file: `store_url` (the file is ingested into it
    when it has no events yet) or a DuckDB store built once under `cache_dir`."""
    if protocol not in LAYOUTS:
        raise InputError("--protocol", f"one of {sorted(LAYOUTS)} for the served scene", protocol)
    layout, rel = LAYOUTS[protocol]
    path = Path(data_dir) / rel
    if store_url is None:
        cache = Path(cache_dir)
        cache.mkdir(parents=True, exist_ok=True)
        stat = path.stat() if path.is_file() else None
        ident = f"{path.resolve()}|{stat and stat.st_size}|{stat and stat.st_mtime_ns}|{package_code_key('ingest')}"
        key = hashlib.sha1(ident.encode()).hexdigest()[:10]
        store_url = f"duckdb:///{cache / f'{protocol.lower()}-{key}.duckdb'}"
    store = connect(store_url)
    try:
        if not _has_events(store):
            from qianmian.ingest.pipeline import ingest_file

            if not path.is_file():
                raise InputError("data", f"the protocol file at {path}", "a missing file")
            ingest_file(store, path, layout=layout)
    finally:
        store.close()
    return store_url


def _has_events(store: Store) -> bool:
    return "events" in store.list_tables() and int(store.execute(store.table("events").count())) > 0


def training_code_key() -> str:
    """A digest of the recommendation package's code outside `evaluate/` (a cached bundle is
    reused only while the code that trained it is unchanged)."""
    return package_code_key("recommend", skip="evaluate")


def package_code_key(package: str, *, skip: str | None = None) -> str:
    """A digest of `qianmian.<package>`'s source files (and layouts), except the folder `skip`."""
    root = Path(recommend_pkg.__file__).parent.parent / package
    h = hashlib.sha1()
    for f in sorted([*root.rglob("*.py"), *root.rglob("*.toml")]):
        if skip is None or skip not in f.relative_to(root).parts:
            h.update(f.read_bytes())
    return h.hexdigest()[:10]


def bundle_at(source: ServedSource, cutoff: dt.datetime, on_step: Callable[[str], None] | None = None) -> Path:
    """The bundle `qianmian train --as-of <the day before cutoff>` writes for the source's store (cached)."""
    from qianmian.recommend.train import DEFAULT_MODELS, train

    models = source.models or DEFAULT_MODELS
    payload = json.dumps(
        [source.store_url, cutoff.isoformat(), [m.to_json() for m in models], training_code_key()], sort_keys=True
    )
    folder = Path(source.cache_dir) / "bundles" / hashlib.sha1(payload.encode()).hexdigest()[:12]
    trained = sorted(folder.glob("v*/manifest.json")) if folder.is_dir() else []
    if trained:  # a run interrupted mid-training leaves no manifest: that version is never used
        return trained[-1].parent
    store = connect(source.store_url)
    try:
        return train(store, as_of=cutoff, models_dir=folder, models=models, on_step=on_step)
    finally:
        store.close()


def run_served(source: ServedSource, *, rules: Rules | None = None, scene: str = "home") -> Callable[[Split, object], object]:
    """A harness `run(split, config)` for the served scene trained as of the split's cutoff."""
    from qianmian.recommend.evaluate.methods import Run
    from qianmian.recommend.service import RecommendService

    def run(split: Split, _config: object) -> Run:
        if split.cutoff is None:
            raise InputError("split", "a split with a cutoff date", split.name)
        t0 = time.perf_counter()
        path = bundle_at(source, split.cutoff)
        train_s = time.perf_counter() - t0
        store = connect(source.store_url)
        try:
            kwargs = {} if rules is None else {"rules": rules}
            svc = RecommendService.load(path.parent, version=path.name, store=store, **kwargs)
        finally:
            store.close()
        top = served_topk(svc, split, scene)
        return Run(top, None, train_s)

    return run


def served_topk(svc: object, split: Split, scene: str = "home") -> TopK:
    """Each evaluation user's served list, as the split's item numbers, train items removed.

    Items the split does not know (e.g. a non-product code the store kept) stay in the list as
    misses (-1): the shopper would see them.
    """
    seen = split.train.matrix()[split.users]
    user_ids = split.user_ids.ids[split.users]
    known = np.array([svc.bundle.users.get(str(u)) is not None for u in user_ids])  # type: ignore[attr-defined]
    if len(known) and known.mean() < MIN_KNOWN_SHARE:
        raise InputError(
            "--store", f"a store holding the protocol's events ({MIN_KNOWN_SHARE:.0%} of evaluation users known)",
            f"{known.mean():.1%} known",
        )
    k = split.k
    ids = np.full((len(user_ids), k), -1, np.int64)
    scores = np.full((len(user_ids), k), -np.inf, np.float32)
    for r, uid in enumerate(user_ids):
        own = seen.indices[seen.indptr[r] : seen.indptr[r + 1]]
        recs = svc.recommend(str(uid), scene, k + len(own))  # type: ignore[attr-defined]
        cols = split.item_ids.index(np.array([x.item_id for x in recs], dtype=object)) if recs else np.zeros(0, np.int64)
        keep = ~np.isin(cols, own) | (cols < 0)
        cols, vals = cols[keep][:k], np.array([x.score for x in recs], np.float32)[keep][:k]
        ids[r, : len(cols)], scores[r, : len(cols)] = cols, vals
    return TopK(ids, scores)


def served_methods(source: ServedSource) -> list[object]:
    """The served scene with the default rules, and with every rule off."""
    from qianmian.recommend.evaluate.methods import Method

    return [
        Method("served:home", "served", ({"rules": "default"},), run_served(source)),
        Method("served:home (rules off)", "served", ({"rules": "off"},), run_served(source, rules=RULES_OFF)),
    ]


def with_models(source: ServedSource, models: Sequence[ModelSpec]) -> ServedSource:
    return dataclasses.replace(source, models=tuple(models))
