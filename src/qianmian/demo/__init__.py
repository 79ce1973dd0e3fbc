"""The demo: the bundled real data slice and the steps that prepare a store for `qianmian demo`.

`prepare` runs `STEPS` in order; each is idempotent, so running the demo twice is cheap:

1. load the bundled Taobao slice (84,475 real events of 815 shoppers, 2017-11-25 … 12-03);
2. create the Nivea template's eight audiences and materialize them as of the slice's last day;
3. train the recommendation models on every event of the slice (skipped when a version exists);
4. create the seed's 2:8 storefront experiment (20% personalized pages, 80% the default page);
5. console examples (`qianmian.demo.console`): an A/A check experiment with simulated exposures,
   labelled as such, so the Experiments page has a result to read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from qianmian.config import store_models_dir
from qianmian.ingest import IngestResult, ingest_file
from qianmian.store import Store

TAOBAO_SLICE = "taobao_ub_84k.csv.gz"
EXPERIENCES = "experiences.toml"
AS_OF = dt.date(2017, 12, 3)  # the slice's last (Beijing) day
EXPERIMENT = "storefront-2-8"


def slice_path() -> Path:
    """Path of the bundled Taobao slice (see PROVENANCE.md beside it)."""
    return Path(str(resources.files("qianmian.demo").joinpath(TAOBAO_SLICE)))


def experiences_path() -> Path:
    """The demo's storefront file: an experience per Nivea-template audience."""
    return Path(str(resources.files("qianmian.demo").joinpath(EXPERIENCES)))


def load_slice(store: Store, data_dir: Path) -> IngestResult:
    """Ingest the bundled slice; idempotent (a second run loads nothing)."""
    return ingest_file(store, slice_path(), layout="taobao")


def audiences(store: Store, data_dir: Path) -> dict:
    """The Nivea template's eight audiences, materialized as of the slice's last day."""
    from qianmian.audiences.membership import materialize
    from qianmian.audiences.registry import AudienceRegistry
    from qianmian.audiences.templates import apply, template

    created = apply(AudienceRegistry(store), template("nivea", store, as_of=AS_OF), replace=True)
    result = materialize(store, AS_OF)
    return {"audiences": [a.name for a in created], "members": getattr(result, "to_dict", lambda: str(result))()}


def models(store: Store, data_dir: Path) -> dict:
    """Recommendation models trained on the whole slice, saved under `<data_dir>/models/<store id>`."""
    from qianmian.recommend.train import train

    folder = store_models_dir(data_dir, store.id)
    if folder.is_dir() and any(folder.iterdir()):
        return {"models": str(folder), "trained": False}
    version = train(store, as_of=AS_OF + dt.timedelta(days=1), models_dir=folder)
    return {"models": str(version), "trained": True}


def experiment(store: Store, data_dir: Path) -> dict:
    """The seed's 2:8 test: 20% of shoppers see their audience's page, 80% the default page."""
    from qianmian.experiments.assignment import Experiment, Variant
    from qianmian.experiments.registry import ExperimentRegistry

    registry = ExperimentRegistry(store)
    if EXPERIMENT not in {e.name for e in registry.list()}:
        registry.create(Experiment(EXPERIMENT, (Variant("personalized", 2), Variant("control", 8))))
    return {"experiment": EXPERIMENT, "split": "personalized 2 : control 8"}


def console_examples(store: Store, data_dir: Path) -> object:
    """The console's examples: an A/A check experiment whose exposures are simulated (labelled so)."""
    from qianmian.demo.console import demo_step

    return demo_step(store, data_dir)


Step = tuple[str, Callable[[Store, Path], object]]
STEPS: list[Step] = [
    ("load the bundled Taobao slice", load_slice),
    ("audiences (Nivea template)", audiences),
    ("recommendation models", models),
    ("storefront experiment", experiment),
    ("console examples (A/A check, simulated exposures)", console_examples),
]


def prepare(store: Store, data_dir: Path | str = "var", on_step: Callable[[str], None] | None = None) -> list[tuple[str, object]]:
    """Run every demo step on `store`; returns (step name, its result)."""
    out = []
    for name, step in STEPS:
        if on_step:
            on_step(name)
        out.append((name, step(store, Path(data_dir))))
    return out
