"""Nearest offline store (seed 001: shoppers who browse online and buy offline).

Distance is the haversine great-circle distance on a sphere of radius R = 6371.0088 km (the
mean Earth radius):

    d = 2R · asin(√(sin²(Δφ/2) + cos φ₁ · cos φ₂ · sin²(Δλ/2)))

`nearest_stores` is an Ibis expression over the `stores` table (runs in the engine);
`StoreLocator` is the same formula vectorized in numpy over a snapshot, for the page's
"visit us nearby" module where a query per request would cost too much.

>>> round(float(haversine_km(31.2304, 121.4737, np.array([39.9042]), np.array([116.4074]))[0]))
1068
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Final

import ibis
import numpy as np
import pandas as pd

from qianmian.errors import InputError
from qianmian.store import Store

EARTH_RADIUS_KM: Final = 6371.0088


def check_point(lat: float, lon: float) -> tuple[float, float]:
    """`(lat, lon)` when both are finite and in range; `InputError` naming the bad one."""
    if not (isinstance(lat, (int, float)) and math.isfinite(lat) and -90 <= lat <= 90):
        raise InputError("lat", "a latitude in [-90, 90]", lat)
    if not (isinstance(lon, (int, float)) and math.isfinite(lon) and -180 <= lon <= 180):
        raise InputError("lon", "a longitude in [-180, 180]", lon)
    return float(lat), float(lon)


def haversine_km(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Distances in km from one point to arrays of points (degrees)."""
    p1, p2 = np.radians(lat), np.radians(lats)
    dphi, dlmb = p2 - p1, np.radians(lons - lon)
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def nearest_stores(stores: ibis.Table, *, lat: float, lon: float, k: int = 3) -> ibis.Table:
    """The `k` stores closest to (lat, lon) with a `distance_km` column, nearest first."""
    lat, lon = check_point(lat, lon)
    if not isinstance(k, int) or not 1 <= k <= 100:
        raise InputError("k", "an integer in [1, 100]", k)
    located = stores.filter(stores.lat.notnull(), stores.lon.notnull())
    rad = math.pi / 180
    p1, p2 = lat * rad, located.lat * rad
    a = ((p2 - p1) / 2).sin() ** 2 + math.cos(p1) * p2.cos() * (((located.lon - lon) * rad) / 2).sin() ** 2
    a = ibis.greatest(ibis.least(a, 1.0), 0.0)
    distance = (a.sqrt().asin() * (2 * EARTH_RADIUS_KM)).name("distance_km")
    return located.mutate(distance_km=distance).order_by(["distance_km", "store_id"]).limit(k)


def nearest_store_rows(store: Store, *, lat: float, lon: float, k: int = 3) -> list[dict[str, Any]]:
    """`nearest_stores` on the store's `stores` table, as plain rows (missing values → None)."""
    frame = store.execute(nearest_stores(store.table("stores"), lat=lat, lon=lon, k=k))
    return frame.astype(object).where(frame.notna(), None).to_dict("records")


@dataclass(frozen=True)
class StoreLocator:
    """A snapshot of the stores table for fast lookups (rebuilt when the cache refreshes)."""

    frame: pd.DataFrame

    @classmethod
    def from_frame(cls, stores: pd.DataFrame) -> StoreLocator:
        located = stores.dropna(subset=["lat", "lon"]).sort_values("store_id").reset_index(drop=True)
        return cls(located)

    def nearest(self, lat: float, lon: float, k: int = 1) -> list[dict[str, Any]]:
        """The `k` nearest stores as dicts with `distance_km` (empty when there are no stores)."""
        lat, lon = check_point(lat, lon)
        if self.frame.empty:
            return []
        d = haversine_km(lat, lon, self.frame["lat"].to_numpy(float), self.frame["lon"].to_numpy(float))
        order = np.lexsort((np.arange(len(d)), d))[:k]
        rows = self.frame.iloc[order].assign(distance_km=d[order])
        return rows.to_dict("records")

    def in_city(self, city: str) -> list[dict[str, Any]]:
        """Stores in `city` (when the shopper's location is unknown but their city is)."""
        return self.frame[self.frame["city"] == city].to_dict("records")
