"""The one store writer: takes durable WAL records, batches them, appends them, checkpoints.

Records arrive in log order. The writer waits until ``batch_rows`` rows are queued or
``interval`` seconds have passed, appends each kind's rows with one `sink` call (the sink for
"events" is `store.append("events", ...)`, which skips event ids already stored), then moves the
WAL checkpoint past the batch. If the store fails, the batch is kept and retried with back-off
and the checkpoint does not move, so nothing acknowledged is lost. A record the store refuses
as bad data (a `ValueError`, e.g. an `InputError` from a sink) can never succeed: the batch is
re-applied one record at a time and the refused record goes to `quarantine` with the reason,
so one poison record cannot block the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from qianmian.api.wal import Position, Record

log = logging.getLogger("qianmian.writer")

Sink = Callable[[list[dict[str, Any]]], int]
"""Writes rows of one kind to the store; returns how many were new."""

BAD_DATA: tuple[type[Exception], ...] = (ValueError, TypeError, KeyError)
"""Errors that mean "this data can never be stored" (InputError is a ValueError): retrying will not
help, so the offending record goes to quarantine instead of blocking the log."""


@dataclass
class WriterStats:
    applied_rows: int = 0
    new_rows: int = 0
    batches: int = 0
    failures: int = 0
    quarantined_records: int = 0
    last_error: str | None = None
    by_kind: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "applied_rows": self.applied_rows,
            "new_rows": self.new_rows,
            "duplicates": self.applied_rows - self.new_rows,
            "batches": self.batches,
            "failures": self.failures,
            "quarantined_records": self.quarantined_records,
            "last_error": self.last_error,
            "new_by_kind": dict(self.by_kind),
        }


class StoreWriter:
    """A daemon thread applying WAL records to the store in batches."""

    def __init__(
        self,
        sinks: dict[str, Sink],
        checkpoint: Callable[[Position], None],
        *,
        quarantine: Callable[[Record, Exception], None] | None = None,
        batch_rows: int = 5_000,
        interval: float = 1.0,
        max_backoff: float = 5.0,
    ) -> None:
        self.sinks = sinks
        self.checkpoint = checkpoint
        self.quarantine = quarantine
        self.batch_rows = batch_rows
        self.interval = interval
        self.max_backoff = max_backoff
        self.stats = WriterStats()
        self._pending: deque[Record] = deque()
        self._cond = threading.Condition()
        self._submitted = 0  # records handed to `put`
        self._done = 0  # records applied and checkpointed
        self._pending_rows = 0
        self._drain_requested = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="qianmian-writer", daemon=True)
        self._thread.start()

    def put(self, records: list[Record]) -> None:
        with self._cond:
            self._pending.extend(records)
            self._pending_rows += sum(len(r.rows) for r in records)
            self._submitted += len(records)
            self._cond.notify_all()

    def lag(self) -> int:
        """Records durable in the WAL but not yet in the store."""
        with self._cond:
            return self._submitted - self._done

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until every record put so far is in the store; False on timeout."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._submitted
            self._drain_requested = True
            self._cond.notify_all()
            while self._done < target:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None or not self._thread.is_alive():
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def stop(self, timeout: float = 30.0) -> None:
        self.drain(timeout)
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._apply_with_retry(batch)

    def _next_batch(self) -> list[Record] | None:
        """Block until there is work, then gather for up to `interval` (less when full or drained)."""
        with self._cond:
            while not self._pending and not self._stopping:
                self._cond.wait()
            if not self._pending:
                return None
            deadline = time.monotonic() + self.interval
            while not (self._stopping or self._drain_requested or self._pending_rows >= self.batch_rows):
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch = list(self._pending)
            self._pending.clear()
            self._pending_rows = 0
            self._drain_requested = False
            return batch

    def _apply_with_retry(self, batch: list[Record]) -> None:
        """Apply; bad data goes record by record to quarantine, anything else is retried."""
        backoff, isolate = 0.05, False
        while True:
            try:
                self._apply(batch, isolate=isolate)
                return
            except BAD_DATA:
                isolate = True  # next attempt: one record at a time, quarantining bad ones
            except Exception as exc:  # the store is down or busy: keep the batch, retry
                self.stats.failures += 1
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                if self.stats.failures == 1 or self.stats.failures % 100 == 0:
                    log.exception("store writer: batch of %d records failed (%d failures so far); retrying", len(batch), self.stats.failures)
                if self._stopping and backoff >= self.max_backoff:
                    return
                time.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)

    def _apply(self, batch: list[Record], *, isolate: bool = False) -> None:
        groups = [[r] for r in batch] if isolate else [batch]
        for group in groups:
            try:
                self._apply_group(group)
            except BAD_DATA as exc:
                if not isolate:
                    raise
                self._quarantine(group[0], exc)
        last = batch[-1].position
        if last is not None:
            self.checkpoint(last)
        self.stats.batches += 1
        with self._cond:
            self._done += len(batch)
            self._cond.notify_all()

    def _quarantine(self, record: Record, exc: Exception) -> None:
        log.error("store writer: %s record at %s refused (%s); quarantined", record.kind, record.position, exc)
        self.stats.quarantined_records += 1
        if self.quarantine is not None:
            self.quarantine(record, exc)

    def _apply_group(self, group: list[Record]) -> None:
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for record in group:
            by_kind.setdefault(record.kind, []).extend(record.rows)
        for kind, rows in by_kind.items():
            if kind not in self.sinks:
                log.warning("store writer: no sink for %r; %d rows skipped", kind, len(rows))
                continue
            new = self.sinks[kind](rows)
            self.stats.new_rows += new
            self.stats.applied_rows += len(rows)
            self.stats.by_kind[kind] = self.stats.by_kind.get(kind, 0) + new
