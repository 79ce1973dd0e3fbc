"""Save and load recommenders as `.npz` arrays + a JSON sidecar. Never pickle.

`save(model, "dir/ease")` writes `dir/ease.npz` (dense arrays as is; a CSR matrix `W` as
`W.data`, `W.indices`, `W.indptr`, `W.shape`) and `dir/ease.json`
(`{"format": 1, "kind": "ease", "params": {...}, "sparse": ["W"]}`). `load("dir/ease")` rebuilds
the model from its kind and params (`qianmian.recommend.models.build`, the one registry) and restores the arrays with `allow_pickle=False`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from qianmian.errors import InputError, NotFoundError
from qianmian.recommend.base import Recommender
from qianmian.recommend.models import build

FORMAT = 1


def save(model: Recommender, path: Path | str) -> Path:
    """Write `path`.npz and `path`.json; returns the .npz path."""
    base = Path(path)
    base.parent.mkdir(parents=True, exist_ok=True)
    flat, sparse = _flatten(model.arrays())
    np.savez(base.with_suffix(".npz"), **flat)
    meta = {"format": FORMAT, "kind": model.kind, "params": model.params(), "sparse": sparse}
    base.with_suffix(".json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return base.with_suffix(".npz")


def load(path: Path | str) -> Recommender:
    """The model saved at `path` (with or without suffix)."""
    base = Path(path).with_suffix("")
    meta_file, npz_file = base.with_suffix(".json"), base.with_suffix(".npz")
    if not meta_file.is_file() or not npz_file.is_file():
        raise NotFoundError("model", str(base))
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
    if meta.get("format") != FORMAT:
        raise InputError("model format", f"format {FORMAT}", meta.get("format"))
    model = build(meta["kind"], meta["params"])
    with np.load(npz_file, allow_pickle=False) as z:
        model.set_arrays(_unflatten(dict(z), meta["sparse"]))
    return model


def _flatten(arrays: dict[str, Any]) -> tuple[dict[str, np.ndarray], list[str]]:
    flat: dict[str, np.ndarray] = {}
    sparse: list[str] = []
    for name, value in arrays.items():
        if sp.issparse(value):
            m = sp.csr_matrix(value)
            flat.update(
                {
                    f"{name}.data": m.data,
                    f"{name}.indices": m.indices,
                    f"{name}.indptr": m.indptr,
                    f"{name}.shape": np.array(m.shape),
                }
            )
            sparse.append(name)
        else:
            flat[name] = np.asarray(value)
    return flat, sparse


def _unflatten(flat: dict[str, np.ndarray], sparse: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in flat.items() if k.rsplit(".", 1)[0] not in sparse}
    for name in sparse:
        shape = tuple(int(x) for x in flat[f"{name}.shape"])
        out[name] = sp.csr_matrix((flat[f"{name}.data"], flat[f"{name}.indices"], flat[f"{name}.indptr"]), shape=shape)
    return out
