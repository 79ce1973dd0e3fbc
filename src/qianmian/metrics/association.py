"""Cross-category association: frequent itemsets and rules over baskets.

Baskets are built in the engine (`basket_pairs`), one row per (basket, item). Mining runs on a
sparse one-hot matrix with a level-wise, vectorised Eclat: every frequent itemset keeps the set of
baskets that contain it as a packed bitset; a candidate's support is the popcount of the AND of
two parents' bitsets sharing their first k-1 items. Level 2 uses one sparse product X^T X.
The output equals the reference implementation's (mlxtend `apriori`/`fpgrowth`):

    support(S) = |{baskets containing every item of S}| / |baskets|
    S is frequent  ⟺  support(S) >= min_support

Rules A → C from each frequent itemset S = A ∪ C (A, C non-empty, disjoint):

    confidence = support(S) / support(A)
    lift       = confidence / support(C)
    leverage   = support(S) - support(A) · support(C)
    conviction = (1 - support(C)) / (1 - confidence)      (inf when confidence = 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import ibis.expr.types as ir
import numpy as np
import pandas as pd
import scipy.sparse as sp

from qianmian.dates import Period
from qianmian.errors import InputError
from qianmian.metrics.common import in_period, order_key, products
from qianmian.metrics.sessions import with_sessions
from qianmian.store import Store
from qianmian.store.rows import records

Level = Literal["item", "category", "brand"]
BasketKind = Literal["order", "session", "day"]
RuleMetric = Literal["support", "confidence", "lift", "leverage", "conviction"]

_LEVEL_COLUMN = {"item": "item_id", "category": "category_id", "brand": "brand_id"}
_CHUNK_WORDS = 1 << 24  # 128 MiB of uint64 per candidate block


# -- baskets, built in the engine ---------------------------------------------------------------
def basket_pairs(
    events: ir.Table,
    *,
    period: Period | None = None,
    level: Level = "item",
    basket: BasketKind = "order",
    behaviors: Sequence[str] = ("buy",),
    session_gap_minutes: int = 30,
) -> ir.Table:
    """Distinct (basket, item) pairs: columns `basket`, `item`.

    `basket="order"` groups by order (an event without an order id is its own basket),
    `"session"` by browsing session (`session_id`, else a 30-minute inactivity gap per user),
    `"day"` by consumer and calendar day. `level` picks item, category or brand.
    """
    if level not in _LEVEL_COLUMN:
        raise InputError("level", f"one of {sorted(_LEVEL_COLUMN)}", level)
    ev = events.filter(events.behavior.isin(list(behaviors)))
    if period is not None:
        ev = ev.filter(in_period(ev, period))
    ev = products(ev.filter(ev[_LEVEL_COLUMN[level]].notnull()))  # postage or fees are not goods in a basket
    key = _basket_key(ev, basket, session_gap_minutes)
    return ev.select(basket=key, item=ev[_LEVEL_COLUMN[level]]).distinct()


def _basket_key(ev: ir.Table, basket: BasketKind, gap: int) -> ir.StringValue:
    if basket == "order":
        return order_key(ev)
    if basket == "day":
        return ev.user_id.fill_null(ev.event_id).concat("|", ev.ts.date().cast("string"))
    if basket == "session":
        raise InputError("basket", "use session_baskets() for sessions", basket)
    raise InputError("basket", "one of order, session, day", basket)


def session_basket_pairs(
    events: ir.Table,
    *,
    period: Period | None = None,
    level: Level = "item",
    behaviors: Sequence[str] = ("view", "click", "fav", "cart", "buy"),
    gap_minutes: int = 30,
) -> ir.Table:
    """Distinct (session, item) pairs for view data: columns `basket`, `item`."""
    if level not in _LEVEL_COLUMN:
        raise InputError("level", f"one of {sorted(_LEVEL_COLUMN)}", level)
    ev = events.filter(events.behavior.isin(list(behaviors)) & events.user_id.notnull())
    if period is not None:
        ev = ev.filter(in_period(ev, period))
    ev = with_sessions(ev, gap_minutes=gap_minutes)
    ev = products(ev.filter(ev[_LEVEL_COLUMN[level]].notnull()))
    return ev.select(basket=ev.session, item=ev[_LEVEL_COLUMN[level]]).distinct()


# -- the one-hot matrix ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Baskets:
    """Baskets as a boolean CSC matrix (baskets × items) plus the item labels (column order)."""

    matrix: sp.csc_matrix
    items: np.ndarray

    @classmethod
    def from_pairs(cls, basket: Sequence | np.ndarray, item: Sequence | np.ndarray) -> Baskets:
        """From parallel arrays of basket ids and item labels (duplicates are ignored)."""
        b_codes, _ = pd.factorize(np.asarray(basket, dtype=object), sort=False)
        i_codes, labels = pd.factorize(np.asarray(item, dtype=object), sort=True)
        data = np.ones(len(b_codes), dtype=bool)
        shape = (int(b_codes.max(initial=-1)) + 1, len(labels))
        m = sp.csc_matrix((data, (b_codes, i_codes)), shape=shape)
        m.sum_duplicates()
        m.data[:] = True
        return cls(m, np.asarray(labels, dtype=object))

    @classmethod
    def from_onehot(cls, frame: pd.DataFrame) -> Baskets:
        """From a boolean one-hot DataFrame (rows = baskets, columns = items), as mlxtend takes."""
        values = frame.to_numpy()
        if values.dtype != bool and not np.isin(values, [0, 1]).all():
            raise InputError("frame", "a one-hot DataFrame of booleans or 0/1", str(values.dtype))
        return cls(sp.csc_matrix(values.astype(bool)), np.asarray(frame.columns, dtype=object))

    @property
    def n_baskets(self) -> int:
        return int(self.matrix.shape[0])


# -- mining ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FrequentItemsets:
    """Frequent itemsets by length: `levels[k-1]` holds the sorted item indices (m × k) and
    `counts[k-1]` the number of baskets containing each. `to_frame()` gives the mlxtend layout."""

    items: np.ndarray
    n_baskets: int
    min_support: float
    levels: tuple[np.ndarray, ...]
    counts: tuple[np.ndarray, ...]

    def __len__(self) -> int:
        return int(sum(len(c) for c in self.counts))

    def to_frame(self) -> pd.DataFrame:
        """Columns `support`, `itemsets` (frozenset of item labels), `count`, `length`."""
        sets = [frozenset(self.items[row]) for lvl in self.levels for row in lvl]
        counts = np.concatenate(self.counts) if self.counts else np.empty(0, np.int64)
        lengths = np.concatenate([np.full(len(c), k + 1) for k, c in enumerate(self.counts)]) if self.counts else counts
        return pd.DataFrame(
            {"support": counts / float(self.n_baskets), "itemsets": sets, "count": counts, "length": lengths}
        )


def frequent_itemsets(baskets: Baskets, *, min_support: float, max_len: int | None = None) -> FrequentItemsets:
    """Every itemset whose support is at least `min_support` (exactly mlxtend's itemsets and supports).

    >>> b = Baskets.from_pairs([1, 1, 2, 2, 3], ["milk", "bread", "milk", "eggs", "milk"])
    >>> fi = frequent_itemsets(b, min_support=0.5)
    >>> sorted(map(sorted, fi.to_frame().itemsets))
    [['milk']]
    """
    _check_support(min_support)
    if max_len is not None and (not isinstance(max_len, int) or max_len < 1):
        raise InputError("max_len", "a positive integer or None", max_len)
    n = baskets.n_baskets
    if n == 0:
        return FrequentItemsets(baskets.items, 0, min_support, (), ())
    x = baskets.matrix
    counts1 = np.diff(x.indptr).astype(np.int64)
    keep = np.flatnonzero(counts1 / float(n) >= min_support)
    levels, counts = [keep[:, None]], [counts1[keep]]
    if len(keep) == 0:
        return FrequentItemsets(baskets.items, n, min_support, (), ())
    bits1 = _column_bits(x, keep)
    if max_len is None or max_len >= 2:
        pairs, pair_counts = _frequent_pairs(x[:, keep], n, min_support)
        if len(pairs):
            levels.append(keep[pairs])
            counts.append(pair_counts)
            _grow(levels, counts, pairs, bits1, n, min_support, max_len)
    return FrequentItemsets(baskets.items, n, min_support, tuple(levels), tuple(counts))


def _check_support(min_support: float) -> None:
    if not isinstance(min_support, (int, float)) or not 0.0 < float(min_support) <= 1.0:
        raise InputError("min_support", "a number in (0, 1]", min_support)


def _column_bits(x: sp.csc_matrix, cols: np.ndarray) -> np.ndarray:
    """Packed bitsets (len(cols) × words) of the baskets containing each column."""
    n = x.shape[0]
    words = (n + 63) // 64
    out = np.zeros((len(cols), words), dtype=np.uint64)
    step = max(1, (1 << 25) // max(n, 1))
    for lo in range(0, len(cols), step):  # blocks of columns keep the dense copy small
        dense = x[:, cols[lo : lo + step]].T.toarray()
        packed = np.packbits(dense, axis=1, bitorder="little")
        padded = np.zeros((packed.shape[0], words * 8), dtype=np.uint8)
        padded[:, : packed.shape[1]] = packed
        out[lo : lo + step] = padded.view("<u8")
    return out


def _frequent_pairs(xk: sp.csc_matrix, n: int, min_support: float) -> tuple[np.ndarray, np.ndarray]:
    """Frequent 2-itemsets (as positions into the frequent items) from one sparse product."""
    xi = xk.astype(np.int32)
    gram = sp.triu((xi.T @ xi).tocsr(), k=1).tocoo()
    ok = gram.data / float(n) >= min_support
    pairs = np.column_stack([gram.row[ok], gram.col[ok]]).astype(np.int64)
    order = np.lexsort((pairs[:, 1], pairs[:, 0])) if len(pairs) else np.empty(0, np.int64)
    return pairs[order], gram.data[ok].astype(np.int64)[order]


def _grow(levels: list, counts: list, current: np.ndarray, bits1: np.ndarray, n: int, min_support: float,
          max_len: int | None) -> None:
    """Level k → k+1 until nothing is frequent (or `max_len`); appends to `levels` and `counts`."""
    bits = bits1[current[:, 0]] & bits1[current[:, 1]]
    k = 2
    while max_len is None or k < max_len:
        left, right = _join_candidates(current)
        left, right = _prune(current, left, right)
        if len(left) == 0:
            return
        cand_bits, cand_counts = _and_count(bits, left, right)
        ok = cand_counts / float(n) >= min_support
        if not ok.any():
            return
        current = np.column_stack([current[left[ok]], current[right[ok], -1]])
        bits = cand_bits[ok]
        levels.append(levels[0][current, 0])
        counts.append(cand_counts[ok])
        k += 1


def _prune(sets: np.ndarray, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Apriori pruning: keep candidates whose every k-subset is frequent (the two parents are)."""
    cand = np.column_stack([sets[left], sets[right, -1]])
    known = np.sort(_row_keys(sets))
    ok = np.ones(len(cand), dtype=bool)
    for drop in range(sets.shape[1] - 1):  # dropping the last two positions gives the parents
        sub = _row_keys(np.delete(cand[ok], drop, axis=1))
        pos = np.minimum(np.searchsorted(known, sub), len(known) - 1)
        ok[np.flatnonzero(ok)[known[pos] != sub]] = False
    return left[ok], right[ok]


def _join_candidates(sets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All pairs (a < b) of rows of the sorted k-itemsets `sets` that share their first k-1 items."""
    m = len(sets)
    prefix = sets[:, :-1]
    new_group = np.ones(m, dtype=bool)
    new_group[1:] = (prefix[1:] != prefix[:-1]).any(axis=1)
    group_end = np.append(np.flatnonzero(new_group)[1:], m)
    ends = np.repeat(group_end, np.diff(np.append(np.flatnonzero(new_group), m)))
    partners = ends - np.arange(m) - 1
    left = np.repeat(np.arange(m), partners)
    starts = np.repeat(np.cumsum(partners) - partners, partners)
    right = left + 1 + (np.arange(len(left)) - starts)
    return left, right


def _and_count(bits: np.ndarray, left: np.ndarray, right: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bitsets of the candidates (AND of both parents) and their popcounts, in blocks."""
    words = bits.shape[1]
    block = max(1, _CHUNK_WORDS // max(words, 1))
    out_counts = np.empty(len(left), dtype=np.int64)
    out_bits = np.empty((len(left), words), dtype=np.uint64)
    for lo in range(0, len(left), block):  # blocks bound memory, each block is vectorised
        hi = lo + block
        np.bitwise_and(bits[left[lo:hi]], bits[right[lo:hi]], out=out_bits[lo:hi])
        out_counts[lo:hi] = np.bitwise_count(out_bits[lo:hi]).sum(axis=1, dtype=np.int64)
    return out_bits, out_counts


# -- rules ----------------------------------------------------------------------------------------
RULE_COLUMNS = [
    "antecedents", "consequents", "antecedent_support", "consequent_support", "support",
    "confidence", "lift", "leverage", "conviction",
]


def association_rules(
    itemsets: FrequentItemsets, *, metric: RuleMetric = "confidence", min_threshold: float = 0.8
) -> pd.DataFrame:
    """Rules A → C from every frequent itemset of 2+ items, kept where `metric >= min_threshold`.

    Columns: antecedents, consequents (frozensets of labels), antecedent_support,
    consequent_support, support, confidence, lift, leverage, conviction — the same values as
    mlxtend's `association_rules` for these columns.
    """
    if metric not in ("support", "confidence", "lift", "leverage", "conviction"):
        raise InputError("metric", "support, confidence, lift, leverage or conviction", metric)
    lookup = _SupportLookup(itemsets)
    frames = [
        _rules_for(lookup, itemsets.levels[k], itemsets.counts[k], mask)
        for k in range(1, len(itemsets.levels))
        for mask in range(1, (1 << (k + 1)) - 1)
    ]
    if not frames:
        return pd.DataFrame({c: [] for c in RULE_COLUMNS})
    raw = pd.concat(frames, ignore_index=True)
    raw = raw[raw[metric] >= min_threshold].reset_index(drop=True)
    return _label_rules(raw, itemsets.items)


class _SupportLookup:
    """Counts of frequent itemsets by their (sorted) item indices, one sorted key array per length."""

    def __init__(self, fi: FrequentItemsets) -> None:
        self.n = float(fi.n_baskets)
        self.keys, self.order, self.counts = [], [], []
        for lvl, cnt in zip(fi.levels, fi.counts):
            keys = _row_keys(lvl)
            order = np.argsort(keys, kind="stable")
            self.keys.append(keys[order])
            self.counts.append(cnt[order])

    def support(self, sets: np.ndarray) -> np.ndarray:
        k = sets.shape[1]
        pos = np.searchsorted(self.keys[k - 1], _row_keys(sets))
        return self.counts[k - 1][pos] / self.n


def _row_keys(rows: np.ndarray) -> np.ndarray:
    """One comparable key per row of an int matrix (its bytes), for sorting and searching."""
    arr = np.ascontiguousarray(rows, dtype=">i8")
    return arr.view(np.dtype((np.void, 8 * arr.shape[1]))).ravel()


def _rules_for(lookup: _SupportLookup, sets: np.ndarray, counts: np.ndarray, mask: int) -> pd.DataFrame:
    k = sets.shape[1]
    a_cols = [j for j in range(k) if mask >> j & 1]
    c_cols = [j for j in range(k) if not mask >> j & 1]
    ante, cons = sets[:, a_cols], sets[:, c_cols]
    s = counts / lookup.n
    sa, sc = lookup.support(ante), lookup.support(cons)
    conf = s / sa
    with np.errstate(divide="ignore"):
        conviction = np.where(conf >= 1.0, np.inf, (1.0 - sc) / (1.0 - conf))
    return pd.DataFrame(
        {
            "_ante": list(ante), "_cons": list(cons),
            "antecedent_support": sa, "consequent_support": sc, "support": s,
            "confidence": conf, "lift": conf / sc, "leverage": s - sa * sc, "conviction": conviction,
        }
    )


def _label_rules(raw: pd.DataFrame, items: np.ndarray) -> pd.DataFrame:
    raw.insert(0, "antecedents", [frozenset(items[a]) for a in raw["_ante"]])
    raw.insert(1, "consequents", [frozenset(items[c]) for c in raw["_cons"]])
    return raw.drop(columns=["_ante", "_cons"])[RULE_COLUMNS]


def top_rules(rules: pd.DataFrame, *, by: RuleMetric = "lift", limit: int = 20) -> pd.DataFrame:
    """The `limit` strongest rules by `by`, ties broken by support (stable, readable order)."""
    return rules.sort_values([by, "support"], ascending=False, kind="stable").head(limit)


@dataclass(frozen=True)
class AssociationReport:
    """Counts, the strongest rules and the most frequent itemsets (item labels as sorted lists)."""

    period: str | None
    level: str
    basket: str
    min_support: float
    min_confidence: float
    baskets: int
    itemsets: int
    rules: int
    top_rules: list[dict]
    top_itemsets: list[dict]

    def to_dict(self) -> dict:
        return asdict(self)


def mine_store(
    store: Store, *, period: Period | None = None, level: Level = "item", basket: BasketKind = "order",
    min_support: float, max_len: int | None = None,
) -> FrequentItemsets:
    """Build baskets in the engine, fetch the (basket, item) pairs as Arrow, mine them."""
    ev = store.table("events")
    pairs = session_basket_pairs(ev, period=period, level=level) if basket == "session" else \
        basket_pairs(ev, period=period, level=level, basket=basket)
    tbl = store.to_pyarrow(pairs)
    baskets = Baskets.from_pairs(tbl.column("basket").to_numpy(zero_copy_only=False), tbl.column("item").to_numpy(zero_copy_only=False))
    return frequent_itemsets(baskets, min_support=min_support, max_len=max_len)


def association_report(
    store: Store, *, period: Period | None = None, level: Level = "item", basket: BasketKind = "order",
    min_support: float = 0.01, min_confidence: float = 0.2, max_len: int | None = None, limit: int = 20,
) -> AssociationReport:
    """Mine the store's baskets; rules with confidence >= `min_confidence`, the top `limit` by lift."""
    fi = mine_store(store, period=period, level=level, basket=basket, min_support=min_support, max_len=max_len)
    rules = association_rules(fi, metric="confidence", min_threshold=min_confidence)
    frame = fi.to_frame()
    top_sets = frame[frame.length > 1].sort_values(["support", "length"], ascending=False).head(limit)
    return AssociationReport(
        period=None if period is None else str(period), level=level, basket=basket, min_support=min_support,
        min_confidence=min_confidence, baskets=fi.n_baskets, itemsets=len(frame), rules=len(rules),
        top_rules=_plain_rules(top_rules(rules, by="lift", limit=limit)),
        top_itemsets=[{"items": sorted(map(str, s)), "support": float(v), "count": int(c)}
                      for s, v, c in zip(top_sets.itemsets, top_sets.support, top_sets["count"])],
    )


def _plain_rules(rules: pd.DataFrame) -> list[dict]:
    out = rules.assign(antecedents=[sorted(map(str, a)) for a in rules.antecedents],
                       consequents=[sorted(map(str, c)) for c in rules.consequents])
    return records(out)


__all__ = [
    "AssociationReport", "Baskets", "FrequentItemsets", "association_report", "association_rules", "basket_pairs",
    "frequent_itemsets", "mine_store",
    "session_basket_pairs", "top_rules",
]
