"""The demo: the bundled real data slice and the steps that prepare a store for `qianmian demo`.

Each capability adds a step to `STEPS` (a name and a function of the store); `prepare` runs them
in order, so the demo always shows everything the project can do so far.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

from qianmian.ingest import IngestResult, ingest_file
from qianmian.store import Store

TAOBAO_SLICE = "taobao_ub_84k.csv.gz"


def slice_path() -> Path:
    """Path of the bundled Taobao slice (see PROVENANCE.md beside it)."""
    return Path(str(resources.files("qianmian.demo").joinpath(TAOBAO_SLICE)))


def load_slice(store: Store) -> IngestResult:
    """Ingest the bundled slice; idempotent (a second run loads nothing)."""
    return ingest_file(store, slice_path(), layout="taobao")


Step = tuple[str, Callable[[Store], object]]
STEPS: list[Step] = [("load the bundled Taobao slice", load_slice)]


def prepare(store: Store, on_step: Callable[[str], None] | None = None) -> list[tuple[str, object]]:
    """Run every demo step on `store`; returns (step name, its result)."""
    out = []
    for name, step in STEPS:
        if on_step:
            on_step(name)
        out.append((name, step(store)))
    return out
