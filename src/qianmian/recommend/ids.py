"""The one place where external ids (strings) become row/column numbers and back.

Models only ever see integers: user `u` is row `u` of the user×item matrix, item `i` is column `i`.
An `IdMap` is an ordered, duplicate-free array of external ids; position = internal number.

>>> m = IdMap.from_values(["b", "a", "b"])
>>> m.index(["a", "zz"]).tolist()
[0, -1]
>>> m.external([1]).tolist()
['b']
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from qianmian.errors import InputError


@dataclass(frozen=True)
class IdMap:
    """External ids in internal order; `index` maps ids to numbers (-1 when unknown)."""

    ids: np.ndarray
    _index: pd.Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ids = np.asarray(self.ids, dtype=object)
        index = pd.Index(ids)
        if not index.is_unique:
            raise InputError("ids", "unique external ids", f"{len(ids) - index.nunique()} duplicates")
        object.__setattr__(self, "ids", ids)
        object.__setattr__(self, "_index", index)

    @classmethod
    def from_values(cls, values: Iterable[object]) -> IdMap:
        """Sorted distinct string ids of `values` (None/NaN dropped)."""
        s = pd.Series(list(values) if not isinstance(values, (np.ndarray, pd.Series)) else values, dtype=object)
        s = s.dropna().astype(str)
        return cls(np.sort(s.unique()).astype(object))

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, external_id: object) -> bool:
        return str(external_id) in self._index

    def index(self, external_ids: Iterable[object]) -> np.ndarray:
        """Internal numbers of `external_ids` (int64), -1 for ids this map does not know."""
        if isinstance(external_ids, (list, tuple)) and len(external_ids) < 8:  # serving: skip pandas for a few ids
            return np.array([self._positions().get(str(x), -1) for x in external_ids], np.int64)
        values = pd.Index(
            np.asarray(list(external_ids) if not isinstance(external_ids, np.ndarray) else external_ids, dtype=object)
        ).astype(str)
        return self._index.get_indexer(values).astype(np.int64)

    def get(self, external_id: object) -> int | None:
        """The internal number of one id, or None."""
        return self._positions().get(str(external_id))

    def _positions(self) -> dict[str, int]:
        """id → number, built on first use (fast single lookups when serving)."""
        cached = self.__dict__.get("_dict")
        if cached is None:
            cached = {str(x): i for i, x in enumerate(self.ids)}
            object.__setattr__(self, "_dict", cached)
        return cached

    def external(self, internal: Iterable[int] | np.ndarray) -> np.ndarray:
        """External ids of internal numbers."""
        return self.ids[np.asarray(internal, dtype=np.int64)]

    def to_array(self) -> np.ndarray:
        """A unicode array for `np.savez` (no pickling needed to load it back)."""
        return self.ids.astype(str) if len(self.ids) else np.array([], dtype="<U1")
