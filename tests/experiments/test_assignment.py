"""Assignment: deterministic, balanced, sticky, layers exclusive, holdout nested, targeting."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

from qianmian.errors import InputError
from qianmian.experiments import Experiment, Variant, assign, assign_many, bucket, buckets
from qianmian.experiments.assignment import parse_variants
from qianmian.experiments.stats import srm

TWO_EIGHT = (Variant("test", 2), Variant("control", 8))
MILLION = np.char.add("user-", np.arange(1_000_000).astype(str))


def test_two_eight_split_over_a_million_ids_passes_srm():
    exp = Experiment("hero-2024", TWO_EIGHT)
    got = assign_many(exp, MILLION)
    counts = [int((got == "test").sum()), int((got == "control").sum())]
    assert sum(counts) == 1_000_000
    check = srm(counts, [2, 8])
    assert not check.mismatch, check
    assert abs(counts[0] / 1e6 - 0.2) < 0.002


def test_three_way_split_and_unequal_weights_pass_srm():
    exp = Experiment("three", (Variant("a"), Variant("b"), Variant("c")))
    got = assign_many(exp, MILLION[:300_000])
    assert not srm([int((got == v).sum()) for v in "abc"], [1, 1, 1]).mismatch


@settings(max_examples=200, deadline=None)
@given(hst.text(min_size=1, max_size=40).filter(lambda s: "\x00" not in s), hst.text(max_size=20))
def test_scalar_and_vectorized_hash_agree_and_repeat(unit, salt):
    b = bucket(salt, unit)
    assert 0.0 <= b < 1.0
    assert b == bucket(salt, unit)
    assert buckets(salt, [unit, unit])[1] == b


def test_same_id_always_gets_the_same_variant():
    exp = Experiment("hero-2024", TWO_EIGHT)
    ids = MILLION[:2000]
    first = [assign(exp, u) for u in ids]
    again = [assign(Experiment("hero-2024", TWO_EIGHT), u) for u in ids]
    assert first == again == list(assign_many(exp, ids))


def test_weight_change_moves_only_the_units_it_must():
    before = assign_many(Experiment("hero", TWO_EIGHT), MILLION[:200_000])
    after = assign_many(Experiment("hero", (Variant("test", 3), Variant("control", 7))), MILLION[:200_000])
    assert not ((before == "test") & (after == "control")).any()  # nobody leaves test
    moved = ((before == "control") & (after == "test")).mean()
    assert abs(moved - 0.10) < 0.005


layer_cuts = hst.lists(hst.floats(0.01, 0.99), min_size=1, max_size=5, unique=True).map(sorted)


@settings(max_examples=30, deadline=None)
@given(layer_cuts, hst.integers(0, 2**31))
def test_experiments_in_one_layer_are_mutually_exclusive(cuts, seed):
    edges = [0.0, *cuts, 1.0]
    exps = [
        Experiment(f"e{i}", TWO_EIGHT, layer="home", layer_range=(lo, hi))
        for i, (lo, hi) in enumerate(itertools.pairwise(edges))
    ]
    ids = np.char.add(f"s{seed}-", np.arange(3000).astype(str))
    member = np.array([assign_many(e, ids) != None for e in exps])  # noqa: E711 (object array)
    assert (member.sum(axis=0) == 1).all()  # the ranges cover the layer: exactly one each
    u = ids[0]
    assert sum(assign(e, str(u)) is not None for e in exps) == 1


def test_different_layers_are_independent():
    a = assign_many(Experiment("a", TWO_EIGHT, layer="home", layer_range=(0, 0.5)), MILLION[:200_000]) != None  # noqa: E711
    b = assign_many(Experiment("b", TWO_EIGHT, layer="search", layer_range=(0, 0.5)), MILLION[:200_000]) != None  # noqa: E711
    assert abs((a & b).mean() - 0.25) < 0.005


def test_global_holdout_is_shared_and_nested():
    small = assign_many(Experiment("x", TWO_EIGHT, holdout=0.03), MILLION[:200_000]) == None  # noqa: E711
    big = assign_many(Experiment("y", TWO_EIGHT, holdout=0.05), MILLION[:200_000]) == None  # noqa: E711
    assert abs(small.mean() - 0.03) < 0.003 and abs(big.mean() - 0.05) < 0.003
    assert not (small & ~big).any()


def test_audience_targeting():
    exp = Experiment("coffee", TWO_EIGHT, audience="coffee-buyers")
    assert assign(exp, "u1", audiences=["milk-powder"]) is None
    assert assign(exp, "u1", audiences=["coffee-buyers"]) in ("test", "control")
    with pytest.raises(InputError, match="audiences"):
        assign(exp, "u1")
    got = assign_many(exp, ["u1", "u2"], audience_members=np.array([True, False]))
    assert got[1] is None and got[0] == assign(exp, "u1", audiences=["coffee-buyers"])


def test_time_bounds_and_bad_definitions():
    import datetime as dt

    exp = Experiment("t", TWO_EIGHT, start=dt.datetime(2024, 2, 25), end=dt.datetime(2024, 3, 9))
    assert assign(exp, "u1", at=dt.datetime(2024, 3, 9)) is None
    assert assign(exp, "u1", at=dt.datetime(2024, 3, 1)) is not None
    with pytest.raises(InputError, match="variants"):
        Experiment("bad", (Variant("a"),))
    with pytest.raises(InputError, match="weights"):
        Experiment("bad", (Variant("a", 0), Variant("b")))
    with pytest.raises(InputError, match="layer_range"):
        Experiment("bad", TWO_EIGHT, layer="l", layer_range=(0.5, 0.5))
    assert parse_variants("test:2, control:8") == TWO_EIGHT
    assert Experiment("c", parse_variants("a,b")).control == "a"
