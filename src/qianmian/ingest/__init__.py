"""Ingestion: files (CSV, gzipped CSV, JSON Lines, Parquet) in built-in layouts or any mapping, validated,
deduplicated by event id, with every rejected row quarantined with its reason."""

from qianmian.ingest.mapping import LAYOUTS, Mapping, load_mapping
from qianmian.ingest.pipeline import IngestResult, ingest_file

__all__ = ["LAYOUTS", "IngestResult", "Mapping", "ingest_file", "load_mapping"]
