"""Deterministic assignment of units (shoppers) to experiment variants.

A unit's variant is a pure function of (experiment, unit id): no state, no clock, no randomness,
so the storefront, the Python API and any batch job agree without talking to each other.

How a unit is placed (each step hashes the unit id with a different salt, so the steps are
independent of each other):

1. **Global holdout**: `bucket("qianmian:holdout", unit) < experiment.holdout` → not in the
   experiment (None). Every experiment uses the same salt, so the holdout is the same set of
   shoppers everywhere, and a 5% holdout contains the 3% one.
2. **Audience targeting**: if the experiment targets an audience, units whose audiences (passed
   by the caller) do not include it → None.
3. **Layer**: experiments in one layer own disjoint ranges of `bucket("layer:" + layer, unit)`;
   a unit is in the experiment only when its layer bucket falls in the experiment's range, so two
   experiments in one layer never share a unit. Experiments in different layers are orthogonal.
4. **Variant**: `bucket(experiment.salt, unit)` falls in one of the consecutive ranges
   [0, w₁), [w₁, w₁ + w₂), … of the normalized weights.

Stickiness: the variant bucket does not depend on the weights, coverage, layer range or holdout.
Changing weights moves only the units whose bucket lies in the part of a range that changed hands
(2:8 → 3:7 moves 10% of units, all from control to test; no test unit leaves test). Widening a
layer range or lowering the holdout only adds units. Changing the salt reshuffles everyone (use a
new salt to start over).

The hash is FNV-1a (64-bit) over the UTF-8 bytes of `salt + "\\x1f" + unit_id`, finished with the
MurmurHash3 64-bit mixer; the top 53 bits give a bucket in [0, 1). `buckets` is the vectorized twin
of `bucket` (same numbers), for batch assignment over millions of ids.

>>> exp = Experiment("hero-test", (Variant("test", 2), Variant("control", 8)))
>>> assign(exp, "user-42") == assign(exp, "user-42")
True
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from qianmian.errors import InputError

HOLDOUT_SALT = "qianmian:holdout"
_SEP = "\x1f"
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_M1, _M2 = 0xFF51AFD7ED558CCD, 0xC4CEB93FE53E7B75
_MASK = (1 << 64) - 1
_SCALE = 2.0**-53

DEFAULT_METRICS: tuple[str, ...] = (
    "purchase_conversion",
    "click_through",
    "browse_conversion",
    "visitor_conversion",
    "bounce_rate",
    "average_order_value",
    "gmv_per_visitor",
)


@dataclass(frozen=True)
class Variant:
    """One arm: its name and relative weight (2 and 8 make a 2:8 split)."""

    name: str
    weight: float = 1.0


@dataclass(frozen=True)
class Experiment:
    """An experiment definition. `control` defaults to the variant named "control", else the first.

    `window_days`: attribution window after a unit's first exposure; `pre_days`: pre-period used
    as the CUPED covariate. `start`/`end` bound exposures that count (naive local wall-clock).
    """

    name: str
    variants: tuple[Variant, ...]
    salt: str = ""
    control: str = ""
    layer: str | None = None
    layer_range: tuple[float, float] = (0.0, 1.0)
    holdout: float = 0.0
    audience: str | None = None
    campaign: str | None = None
    metrics: tuple[str, ...] = DEFAULT_METRICS
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    window_days: float = 14.0
    pre_days: float = 28.0
    _cumulative: tuple[float, ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _validate(self)
        object.__setattr__(self, "salt", self.salt or self.name)
        names = self.variant_names
        object.__setattr__(self, "control", self.control or ("control" if "control" in names else names[0]))
        w = np.array([v.weight for v in self.variants], dtype=float)
        object.__setattr__(self, "_cumulative", tuple(np.cumsum(w / w.sum())[:-1]))

    @property
    def variant_names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.variants)

    @property
    def weights(self) -> tuple[float, ...]:
        return tuple(v.weight for v in self.variants)


def _validate(e: Experiment) -> None:
    if not e.name:
        raise InputError("name", "a non-empty experiment name", e.name)
    if len(e.variants) < 2:
        raise InputError("variants", "at least two variants", [v.name for v in e.variants])
    names = [v.name for v in e.variants]
    if len(set(names)) != len(names) or not all(names):
        raise InputError("variants", "distinct non-empty variant names", names)
    if any(not (v.weight > 0 and math.isfinite(v.weight)) for v in e.variants):
        raise InputError("variant weights", "positive finite numbers", [v.weight for v in e.variants])
    if e.control and e.control not in names:
        raise InputError("control", f"one of {names}", e.control)
    lo, hi = e.layer_range
    if not 0.0 <= lo < hi <= 1.0:
        raise InputError("layer_range", "0 <= start < end <= 1", e.layer_range)
    if not 0.0 <= e.holdout < 1.0:
        raise InputError("holdout", "a fraction in [0, 1)", e.holdout)
    if e.window_days <= 0 or e.pre_days < 0:
        raise InputError("window_days/pre_days", "window_days > 0 and pre_days >= 0", (e.window_days, e.pre_days))
    if e.start and e.end and e.end <= e.start:
        raise InputError("end", f"a time after start {e.start}", e.end)


def parse_variants(spec: str) -> tuple[Variant, ...]:
    """`"test:2,control:8"` → (Variant("test", 2), Variant("control", 8)); a bare name weighs 1."""
    out = []
    for part in (p.strip() for p in spec.split(",") if p.strip()):
        name, _, weight = part.partition(":")
        try:
            out.append(Variant(name.strip(), float(weight) if weight else 1.0))
        except ValueError as exc:
            raise InputError("variants", "name:weight pairs such as test:2,control:8", spec) from exc
    return tuple(out)


# -- hashing -------------------------------------------------------------------------------------
def _fnv(h: int, data: bytes) -> int:
    for byte in data:
        h = ((h ^ byte) * _FNV_PRIME) & _MASK
    return h


def _mix(h: int) -> int:
    h ^= h >> 33
    h = (h * _M1) & _MASK
    h ^= h >> 33
    h = (h * _M2) & _MASK
    return h ^ (h >> 33)


def bucket(salt: str, unit_id: str) -> float:
    """The unit's position in [0, 1) for `salt` (uniform, deterministic)."""
    h = _fnv(_fnv(_FNV_OFFSET, (salt + _SEP).encode()), unit_id.encode())
    return (_mix(h) >> 11) * _SCALE


def buckets(salt: str, unit_ids: Sequence[str] | np.ndarray) -> np.ndarray:
    """`bucket(salt, u)` for every id, vectorized over ids (a loop over byte positions only).

    Ids must not contain NUL characters (NumPy's fixed-width bytes drop trailing NULs).
    """
    raw = np.strings.encode(np.asarray(unit_ids, dtype=np.str_), "utf-8")
    n, width = raw.size, raw.dtype.itemsize
    lengths = np.strings.str_len(raw)
    mat = raw.view(np.uint8).reshape(n, width) if n else np.zeros((0, 0), np.uint8)
    h = np.full(n, _fnv(_FNV_OFFSET, (salt + _SEP).encode()), dtype=np.uint64)
    prime = np.uint64(_FNV_PRIME)
    for j in range(width):
        step = (h ^ mat[:, j].astype(np.uint64)) * prime
        h = np.where(lengths > j, step, h)
    return (_mix_array(h) >> np.uint64(11)).astype(np.float64) * _SCALE


def _mix_array(h: np.ndarray) -> np.ndarray:
    s = np.uint64(33)
    h = h ^ (h >> s)
    h = h * np.uint64(_M1)
    h = h ^ (h >> s)
    h = h * np.uint64(_M2)
    return h ^ (h >> s)


# -- assignment --------------------------------------------------------------------------------
def assign(
    experiment: Experiment,
    unit_id: str,
    *,
    audiences: Collection[str] | None = None,
    at: dt.datetime | None = None,
) -> str | None:
    """The variant name of `unit_id`, or None when the unit is not in the experiment.

    `audiences`: the unit's audiences; required when the experiment targets one.
    `at`: the request time; when given, outside [start, end) the unit is not in the experiment.
    """
    if not _eligible(experiment, unit_id, audiences, at):
        return None
    u = bucket(experiment.salt, unit_id)
    return experiment.variants[int(np.searchsorted(experiment._cumulative, u, side="right"))].name


def _eligible(e: Experiment, unit_id: str, audiences: Collection[str] | None, at: dt.datetime | None) -> bool:
    if not isinstance(unit_id, str) or not unit_id:
        raise InputError("unit_id", "a non-empty string", unit_id)
    if at is not None and ((e.start and at < e.start) or (e.end and at >= e.end)):
        return False
    if e.audience is not None:
        if audiences is None:
            raise InputError("audiences", f"the unit's audiences (experiment {e.name!r} targets {e.audience!r})", None)
        if e.audience not in audiences:
            return False
    if e.holdout and bucket(HOLDOUT_SALT, unit_id) < e.holdout:
        return False
    if e.layer is not None:
        lo, hi = e.layer_range
        return lo <= bucket("layer:" + e.layer, unit_id) < hi
    return True


def assign_many(experiment: Experiment, unit_ids: Sequence[str] | np.ndarray, *, audience_members: np.ndarray | None = None) -> np.ndarray:
    """`assign` for many ids at once: an object array of variant names (None = not in it).

    `audience_members`: a boolean array, True where the unit belongs to the targeted audience.
    """
    ids = np.asarray(unit_ids, dtype=np.str_)
    keep = np.ones(ids.size, dtype=bool)
    if experiment.audience is not None:
        if audience_members is None:
            raise InputError("audience_members", f"a boolean array (experiment targets {experiment.audience!r})", None)
        keep &= np.asarray(audience_members, dtype=bool)
    if experiment.holdout:
        keep &= buckets(HOLDOUT_SALT, ids) >= experiment.holdout
    if experiment.layer is not None:
        lb = buckets("layer:" + experiment.layer, ids)
        keep &= (lb >= experiment.layer_range[0]) & (lb < experiment.layer_range[1])
    idx = np.searchsorted(np.asarray(experiment._cumulative), buckets(experiment.salt, ids), side="right")
    names = np.asarray(experiment.variant_names, dtype=object)[idx]
    return np.where(keep, names, None)


def overlapping(a: Experiment, b: Experiment) -> bool:
    """True when two experiments in the same layer claim a common part of the layer."""
    if a.layer is None or a.layer != b.layer:
        return False
    return a.layer_range[0] < b.layer_range[1] and b.layer_range[0] < a.layer_range[1]
