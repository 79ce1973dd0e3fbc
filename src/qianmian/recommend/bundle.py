"""A trained model set on disk: versioned directories of `.npz` + JSON files, never pickles.

Layout of `<models_dir>/v0001/` (by default `<data_dir>/models/<store id>/v0001/`):

    manifest.json     format, version, the store's id and URL, the cutoff, the model specs (blend
                      weights and the ranker's learned coefficients are part of them)
    ids.npz           users, items, categories (external ids, internal order)
    matrices.npz      each user-level training matrix (per matrix key), the strongest-behaviour
                      matrix and each item's category number
    <model>.npz/.json one file pair per fitted model (`qianmian.recommend.persist`)

The serving side keeps these matrices as the shoppers' histories and adds live events on top.
A bundle belongs to the store it was trained on: `check_store` refuses it for any other store.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from qianmian.errors import ConflictError, InputError, NotFoundError
from qianmian.recommend.base import Recommender
from qianmian.recommend.ids import IdMap
from qianmian.recommend.interactions import MatrixSpec
from qianmian.recommend.matrix import Level, RowKey
from qianmian.recommend.models.blend import BlendRecommender
from qianmian.recommend.models.ensemble import Ensemble
from qianmian.recommend.models.ranker import RankerRecommender
from qianmian.recommend.persist import load as load_model
from qianmian.recommend.persist import save as save_model
from qianmian.store import Store

FORMAT = 1
VERSION_RE = re.compile(r"^v(\d{4,})$")


@dataclass(frozen=True)
class ModelSpec:
    """One model of a bundle: what it is, and which matrix it learns from.

    `kind="blend"` combines the models named in `parts` (each scored on its own matrix) with
    `weights`; `train` replaces the weights by ones learned on a holdout window when it can.
    `kind="ranker"` learns a logistic ranker over its `parts` on labelled days before the cutoff
    (`params`: `label_days`, `candidates`, `l2`; `train` adds the learned coefficients).
    """

    name: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    matrix: MatrixSpec = field(default_factory=MatrixSpec)
    level: Level = "item"
    rows: RowKey = "user"
    parts: tuple[str, ...] = ()
    weights: tuple[float, ...] = ()

    def matrix_key(self) -> str:
        """Models with the same key share one training matrix."""
        payload = json.dumps([dataclasses.asdict(self.matrix), self.level, self.rows], sort_keys=True)
        return f"{self.level}-{self.rows}-{hashlib.sha1(payload.encode()).hexdigest()[:8]}"

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["params"], d["parts"], d["weights"] = dict(self.params), list(self.parts), list(self.weights)
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ModelSpec:
        return cls(
            name=d["name"],
            kind=d["kind"],
            params=dict(d.get("params", {})),
            matrix=MatrixSpec(**d.get("matrix", {})),
            level=d.get("level", "item"),
            rows=d.get("rows", "user"),
            parts=tuple(d.get("parts", ())),
            weights=tuple(float(w) for w in d.get("weights", ())),
        )


@dataclass
class Bundle:
    """Everything serving needs, loaded in memory."""

    version: str
    cutoff: str
    """The exclusive end of the training events (ISO), `qianmian.dates.end_of(as_of)`."""
    users: IdMap
    items: IdMap
    categories: IdMap
    item_category: np.ndarray
    matrices: dict[str, sp.csr_matrix]
    strongest: sp.csr_matrix
    specs: dict[str, ModelSpec]
    models: dict[str, Recommender]
    store_id: str | None = None
    """The id of the store the bundle was trained on (`Store.id`); None in bundles made before
    models recorded it, which no store accepts."""
    store_url: str | None = None

    def model(self, name: str) -> Recommender:
        if name not in self.models:
            raise NotFoundError("model", name)
        return self.models[name]

    def user_matrix(self, name: str) -> sp.csr_matrix:
        """The training matrix `name` was fitted on (user rows only)."""
        return self.matrices[self.specs[name].matrix_key()]

    def parts(self, name: str) -> list[str]:
        """The base models whose rows `name` needs (itself, or a blend's parts)."""
        spec = self.specs[name]
        return list(spec.parts) if spec.parts else [name]


def save_bundle(bundle: Bundle, models_dir: Path | str) -> Path:
    """Write `bundle` as the next version under `models_dir`; returns its directory."""
    root = Path(models_dir)
    root.mkdir(parents=True, exist_ok=True)
    version = f"v{_last_number(root) + 1:04d}"
    out = root / version
    out.mkdir()
    np.savez(
        out / "ids.npz", users=bundle.users.to_array(), items=bundle.items.to_array(), categories=bundle.categories.to_array()
    )
    flat: dict[str, np.ndarray] = {"item_category": bundle.item_category}
    for key, m in {**bundle.matrices, "strongest": bundle.strongest}.items():
        flat |= {f"{key}.data": m.data, f"{key}.indices": m.indices, f"{key}.indptr": m.indptr, f"{key}.shape": np.array(m.shape)}
    np.savez(out / "matrices.npz", **flat)
    for name, model in bundle.models.items():
        if not bundle.specs[name].parts:  # ensembles are rebuilt from their parts and the manifest
            save_model(model, out / name)
    manifest = {
        "format": FORMAT,
        "version": version,
        "store_id": bundle.store_id,
        "store_url": bundle.store_url,
        "cutoff": bundle.cutoff,
        "matrices": sorted(bundle.matrices),
        "models": [s.to_json() for s in bundle.specs.values()],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    bundle.version = version
    return out


def resolve(models_dir: Path | str, version: str | None = None) -> Path:
    """The directory of `version` (default: the highest version) under `models_dir`."""
    root = Path(models_dir)
    if version is None:
        n = _last_number(root)
        if n == 0:
            raise NotFoundError("trained models in", str(root))
        version = f"v{n:04d}"
    path = root / version
    if not (path / "manifest.json").is_file():
        raise NotFoundError("model version", str(path))
    return path


def load_bundle(path: Path | str) -> Bundle:
    """Load a bundle directory written by `save_bundle`."""
    path = Path(path)
    manifest = json.loads((path / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise InputError("bundle format", f"format {FORMAT}", manifest.get("format"))
    with np.load(path / "ids.npz", allow_pickle=False) as z:
        users, items, categories = (IdMap(z[k].astype(object)) for k in ("users", "items", "categories"))
    with np.load(path / "matrices.npz", allow_pickle=False) as z:
        flat = dict(z)
    matrices = {k: _csr(flat, k) for k in manifest["matrices"]}
    specs = {d["name"]: ModelSpec.from_json(d) for d in manifest["models"]}
    models = {n: load_model(path / n) for n, s in specs.items() if not s.parts}
    models |= ensembles(specs, models)
    return Bundle(
        manifest["version"],
        manifest.get("cutoff", manifest.get("as_of")),
        users,
        items,
        categories,
        flat["item_category"].astype(np.int64),
        matrices,
        _csr(flat, "strongest"),
        specs,
        models,
        manifest.get("store_id"),
        manifest.get("store_url"),
    )


def check_store(bundle: Bundle, store: Store, path: Path | str) -> None:
    """Refuse a bundle trained on another store than `store` (or on no recorded store)."""
    if bundle.store_id == store.id:
        return
    came = f"store {bundle.store_id} ({bundle.store_url})" if bundle.store_id else "no recorded store (trained before models recorded their store)"
    raise ConflictError(
        f"models in {path} come from {came}, but the open store is {store.id} ({store.url}): train this store's "
        f"own models with `qianmian train --store {store.url}`, or open the store they came from"
    )


ENSEMBLE_KINDS = ("blend", "ranker")
RANKER_OPTIONS = ("label_days",)
"""Spec params the ranker's training reads (the rest go to `RankerRecommender`)."""


def ensembles(specs: Mapping[str, ModelSpec], fitted: Mapping[str, Recommender]) -> dict[str, Ensemble]:
    """The blends and rankers of `specs`, built on the fitted base models they name."""
    out: dict[str, Ensemble] = {}
    for s in specs.values():
        parts = [fitted[p] for p in s.parts]
        if s.kind == "blend":
            out[s.name] = BlendRecommender(components=parts, weights=s.weights, normalize=s.params.get("normalize", "zscore"))
        elif s.kind == "ranker":
            options = {k: v for k, v in s.params.items() if k not in RANKER_OPTIONS}
            out[s.name] = RankerRecommender(components=parts, **options)
    return out


def _csr(flat: Mapping[str, np.ndarray], key: str) -> sp.csr_matrix:
    shape = tuple(int(x) for x in flat[f"{key}.shape"])
    return sp.csr_matrix((flat[f"{key}.data"], flat[f"{key}.indices"], flat[f"{key}.indptr"]), shape=shape)


def has_versions(models_dir: Path | str) -> bool:
    """Whether `models_dir` holds at least one bundle version."""
    return _last_number(Path(models_dir)) > 0


def _last_number(root: Path) -> int:
    if not root.is_dir():
        return 0
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := VERSION_RE.match(p.name)) and p.is_dir()]
    return max(numbers, default=0)
