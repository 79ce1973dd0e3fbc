"""Experiments: assignment, exposures, metrics per variant, statistics, reports, close-out.

The storefront calls `assign(experiment, unit_id)` and `log_exposures(store, rows)`; analysts read
`experiment_report(store, name, as_of=...)` and `closeout(store, campaign, as_of=...)`.
"""

from qianmian.experiments.assignment import Experiment, Variant, assign, assign_many, bucket, buckets
from qianmian.experiments.exposures import ingest_exposures, log_exposures
from qianmian.experiments.registry import ExperimentRegistry

__all__ = [
    "Experiment",
    "ExperimentRegistry",
    "Variant",
    "assign",
    "assign_many",
    "bucket",
    "buckets",
    "ingest_exposures",
    "log_exposures",
]
