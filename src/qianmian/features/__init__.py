"""The per-consumer feature table that audiences and ranking read (one row per consumer as of a date)."""

from qianmian.features.table import (
    ALL_PARTS,
    PART_OF,
    PARTS,
    FeatureSpec,
    Part,
    category_features,
    consumer_features,
    feature_table,
)

__all__ = [
    "ALL_PARTS", "PARTS", "PART_OF", "FeatureSpec", "Part", "category_features", "consumer_features", "feature_table",
]
