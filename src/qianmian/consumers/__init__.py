"""Consumers: what the platform holds about each shopper, in one place below every reader.

- `tags`: the self-tag log (`user_tags`) and its one reading rule (`active_tags_table`);
- `consent`: `users.consent`, read through `opted_out_table`, written by `set_consent`;
- `weights`: the behaviour weights (`BEHAVIOR_WEIGHTS`);
- `interests`: the shopper's top categories over a window (`top_categories`);
- `activity`: recent activity as it arrives (`LiveActivity`);
- `snapshot`: `Consumers`, the in-memory snapshot the storefront and recommendations share.

Features, audiences, recommend and the storefront import this package; it imports only the
store, errors and the date helpers.
"""

from qianmian.consumers.activity import LiveActivity, Seen
from qianmian.consumers.consent import load_opted_out, opted_out_table, set_consent
from qianmian.consumers.interests import top_categories
from qianmian.consumers.snapshot import Consumers, Profile, Snapshot, load_snapshot
from qianmian.consumers.tags import (
    active_tags,
    active_tags_table,
    load_tags,
    normalize_tag,
    remove_tags,
    set_tags,
)
from qianmian.consumers.weights import BEHAVIOR_WEIGHTS, INTENT_WEIGHTS

__all__ = [
    "BEHAVIOR_WEIGHTS", "INTENT_WEIGHTS", "Consumers", "LiveActivity", "Profile", "Seen", "Snapshot", "active_tags",
    "active_tags_table", "load_opted_out", "load_snapshot", "load_tags", "normalize_tag", "opted_out_table",
    "remove_tags", "set_consent", "set_tags", "top_categories",
]
