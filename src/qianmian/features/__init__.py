"""The per-consumer feature table that audiences and ranking read (one row per consumer as of a date)."""

from qianmian.features.table import FeatureSpec, category_features, consumer_features, feature_table

__all__ = ["FeatureSpec", "category_features", "consumer_features", "feature_table"]
