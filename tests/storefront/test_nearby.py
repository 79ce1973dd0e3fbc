"""Nearest store: haversine against known distances and an independent reference."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from qianmian.errors import InputError
from qianmian.storefront.nearby import StoreLocator, haversine_km, nearest_stores

# Great-circle distances on the 6371.0088 km sphere, e.g. from the movable-type.co.uk calculator.
KNOWN = [
    ((31.2304, 121.4737), (39.9042, 116.4074), 1067.3),  # Shanghai – Beijing
    ((51.5074, -0.1278), (48.8566, 2.3522), 343.6),  # London – Paris
    ((0.0, 0.0), (0.0, 180.0), math.pi * 6371.0088),  # half the equator
]


@pytest.mark.parametrize(("a", "b", "km"), KNOWN)
def test_known_distances(a, b, km):
    d = haversine_km(a[0], a[1], np.array([b[0]]), np.array([b[1]]))[0]
    assert d == pytest.approx(km, rel=2e-3)


def _reference_km(lat1, lon1, lat2, lon2):
    """Spherical law of cosines — a different formula for the same distance."""
    p1, p2, dl = map(math.radians, (lat1, lat2, lon2 - lon1))
    c = math.sin(p1) * math.sin(p2) + math.cos(p1) * math.cos(p2) * math.cos(dl)
    return 6371.0088 * math.acos(max(-1.0, min(1.0, c)))


def _stores(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "store_id": [f"s{i:03d}" for i in range(n)],
            "name": [f"Store {i}" for i in range(n)],
            "city": rng.choice(["Shanghai", "Hangzhou", "Beijing"], n),
            "lat": rng.uniform(20, 45, n),
            "lon": rng.uniform(100, 125, n),
        }
    )


def test_engine_expression_and_numpy_agree_with_reference(store):
    frame = _stores(40, seed=7)
    store.append("stores", frame.assign(address=None))
    here = (30.0, 120.0)
    got = store.execute(nearest_stores(store.table("stores"), lat=here[0], lon=here[1], k=5))
    ref = frame.assign(d=[_reference_km(*here, a, b) for a, b in zip(frame.lat, frame.lon)]).nsmallest(5, "d")
    assert got.store_id.tolist() == ref.store_id.tolist()
    assert np.allclose(got.distance_km, ref.d, rtol=1e-6)
    located = StoreLocator.from_frame(frame).nearest(*here, k=5)
    assert [s["store_id"] for s in located] == ref.store_id.tolist()


@pytest.mark.parametrize(("lat", "lon", "field"), [(91, 0, "lat"), (0, -181, "lon"), (float("nan"), 0, "lat")])
def test_bad_point_names_the_coordinate(lat, lon, field):
    with pytest.raises(InputError) as info:
        StoreLocator.from_frame(_stores(2, 1)).nearest(lat, lon)
    assert info.value.field == field


def test_stores_without_coordinates_are_skipped_and_empty_is_fine():
    frame = _stores(3, 2)
    frame.loc[0, "lat"] = None
    assert {s["store_id"] for s in StoreLocator.from_frame(frame).nearest(30, 120, k=10)} == {"s001", "s002"}
    assert StoreLocator.from_frame(frame.iloc[:0]).nearest(30, 120) == []
