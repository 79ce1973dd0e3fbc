"""The verdict sentence says when a model targets worse than random (QA pass)."""

from __future__ import annotations

from qianmian.uplift.evaluate import Interval
from qianmian.uplift.fit import MODEL, verdict


def test_interval_below_zero_is_worse_than_random() -> None:
    below = verdict({MODEL: Interval(-0.0081, -0.0161, -0.0001, 0.95)}, 0.95)[0]
    assert below.endswith("worse than random targeting (0).")
    across = verdict({MODEL: Interval(-0.0033, -0.0208, 0.0124, 0.95)}, 0.95)[0]
    assert across.endswith("not distinguishable from random targeting (0).")
    above = verdict({MODEL: Interval(0.02, 0.01, 0.03, 0.95)}, 0.95)[0]
    assert above.endswith("better than random targeting (0).")
