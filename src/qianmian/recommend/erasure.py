"""Erase one shopper from every trained model bundle on disk (right to be forgotten).

A bundle (`qianmian.recommend.bundle`) holds, per shopper: their external id, their rows of
every user-level training matrix and of the strongest-behaviour matrix, and model vectors such
as ALS user factors. For each bundle version that knows the shopper, `erase_user`:

- replaces their id with a tombstone (``"\\x00erased:<n>"``, never a real id),
- empties their matrix rows and zeroes every per-user array (``user_factors``),

then writes the version back in place (written beside it, then swapped by renames), so the
row numbering — and every other shopper's answers — stay the same.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp

from qianmian.recommend.bundle import Bundle, load_bundle, save_bundle
from qianmian.recommend.ids import IdMap

TOMBSTONE = "\x00erased:"
PER_USER_ARRAYS = ("user_factors",)


def _versions(models_dir: Path) -> list[Path]:
    if not models_dir.is_dir():
        return []
    return sorted(p for p in models_dir.iterdir() if p.is_dir() and (p / "manifest.json").is_file())


def _empty_row(m: sp.csr_matrix, row: int) -> sp.csr_matrix:
    """`m` with row `row` emptied (no stored entries, not even zeros)."""
    keep = np.ones(m.shape[0], np.float32)
    keep[row] = 0.0
    out = sp.csr_matrix(sp.diags(keep) @ m, dtype=m.dtype)
    out.eliminate_zeros()
    return out


def _scrub_models(models: dict[str, Any], row: int) -> None:
    for model in models.values():
        for name in PER_USER_ARRAYS:
            arr = getattr(model, name, None)
            if isinstance(arr, np.ndarray) and arr.ndim == 2 and row < arr.shape[0]:
                arr[row] = 0.0


def _scrub(bundle: Bundle, row: int) -> None:
    ids = bundle.users.ids.copy()
    ids[row] = f"{TOMBSTONE}{row}"
    bundle.users = IdMap(ids)
    bundle.matrices = {k: _empty_row(m, row) if m.shape[0] == len(ids) else m for k, m in bundle.matrices.items()}
    bundle.strongest = _empty_row(bundle.strongest, row)
    _scrub_models(bundle.models, row)


def _rewrite(path: Path, bundle: Bundle) -> None:
    """Write `bundle` as `path` again: save beside it, keep the version name, swap directories."""
    staging = path.parent / f".erase-{path.name}"
    shutil.rmtree(staging, ignore_errors=True)
    written = save_bundle(bundle, staging)
    manifest = json.loads((written / "manifest.json").read_text(encoding="utf-8"))
    manifest["version"] = path.name
    (written / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    old = path.parent / f".old-{path.name}"
    path.rename(old)
    written.rename(path)
    shutil.rmtree(old)
    shutil.rmtree(staging, ignore_errors=True)


def erase_user(models_dir: Path, user_id: str) -> list[str]:
    """Scrub `user_id` from every bundle version under `models_dir`; returns the versions changed."""
    changed = []
    for path in _versions(Path(models_dir)):
        bundle = load_bundle(path)
        row = bundle.users.get(user_id)
        if row is None:
            continue
        _scrub(bundle, row)
        _rewrite(path, bundle)
        changed.append(path.name)
    return changed
