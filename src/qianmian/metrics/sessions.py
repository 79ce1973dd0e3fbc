"""Browsing sessions: the event's `session_id`, or a gap-based session per consumer.

A derived session starts at a consumer's first event and whenever more than `gap_minutes`
passed since their previous event (ties in time are ordered by `event_id`). The key is
`user_id + "#" + n` where n counts the consumer's sessions from 1.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import ibis.expr.types as ir

from qianmian.dates import check_days


def with_sessions(events: ir.Table, *, gap_minutes: int = 30, within: Sequence[str] = ()) -> ir.Table:
    """`events` plus a `session` column (string); events without a user keep their session_id.

    `within` names extra columns that also cut sessions (e.g. a day column: no session spans midnight).
    """
    check_days(gap_minutes, "gap_minutes", "minutes")
    keys = [events.user_id, *[events[c] for c in within]]
    order = [events.ts, events.event_id]
    w = ibis.window(group_by=keys, order_by=order)
    secs = events.ts.epoch_seconds()
    prev = secs.lag().over(w)
    starts = (prev.isnull() | (secs - prev > gap_minutes * 60)).cast("int64")
    t = events.mutate(_qm_start=starts)
    cw = ibis.cumulative_window(group_by=[t.user_id, *[t[c] for c in within]], order_by=[t.ts, t.event_id])
    t = t.mutate(_qm_n=t._qm_start.sum().over(cw))
    derived = t.user_id.concat(*[x for c in within for x in ("|", t[c].cast("string").fill_null(""))], "#", t._qm_n.cast("string"))
    return t.mutate(session=t.session_id.fill_null(derived)).drop("_qm_start", "_qm_n")
