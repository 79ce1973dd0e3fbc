"""`DurableLog`: the write-ahead log and the store writer wired together.

    log = DurableLog(data_dir / "wal", {"events": events_sink, "exposures": exposures_sink})
    replayed = log.start()                 # re-applies whatever the last run left unapplied
    await log.write("events", rows)        # returns once the rows are fsynced
    log.write_nowait("exposures", rows)    # durable within ~50 ms, nobody waits
    log.drain()                            # everything written so far is in the store
    log.stop()
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qianmian.api.wal import Position, Record, WriteAheadLog
from qianmian.api.writer import Sink, StoreWriter


class DurableLog:
    def __init__(
        self,
        directory: Path,
        sinks: dict[str, Sink],
        *,
        segment_bytes: int = 64 << 20,
        batch_rows: int = 5_000,
        interval: float = 1.0,
        quarantine: Callable[[Record, Exception], None] | None = None,
    ) -> None:
        self.wal = WriteAheadLog(directory, segment_bytes=segment_bytes)
        self.writer = StoreWriter(sinks, self.wal.checkpoint, quarantine=quarantine, batch_rows=batch_rows, interval=interval)
        self.wal.on_durable = self.writer.put
        self.replayed = 0
        self.started = False

    def start(self, *, replay_timeout: float = 600.0) -> int:
        """Open the log, apply every record left from the last run, start accepting writes."""
        pending = self.wal.open()
        self.writer.start()
        self.writer.put(pending)
        self.replayed = sum(len(r.rows) for r in pending)
        self.writer.drain(replay_timeout)
        self.started = True
        return self.replayed

    async def write(self, kind: str, rows: list[dict[str, Any]]) -> Position:
        """Log `rows`; returns once they are fsynced (safe to acknowledge)."""
        return await asyncio.wrap_future(self.wal.submit(kind, rows))

    def write_nowait(self, kind: str, rows: list[dict[str, Any]]) -> None:
        """Log `rows` without waiting (durable within ~50 ms; used for the exposure log)."""
        self.wal.submit_lazy(kind, rows)

    def drain(self, timeout: float = 30.0) -> bool:
        """Wait until everything logged so far (waited for or not) is in the store."""
        if self.started:
            self.wal.sync().result(timeout)
        return self.writer.drain(timeout)

    def purge(self, timeout: float = 30.0) -> bool:
        """Apply everything, then delete the segments holding it (used after an erasure).

        Rotating first means every record written so far sits in an older segment; once the
        store has them all, the checkpoint moves to the new segment and the old ones are removed.
        """
        first_new = self.wal.rotate().result(timeout)
        if not self.writer.drain(timeout):
            return False
        self.wal.checkpoint(first_new)
        return True

    def stop(self) -> None:
        self.writer.stop()
        self.wal.close()
        self.started = False

    def status(self) -> dict[str, Any]:
        return {"started": self.started, "replayed": self.replayed, "lag": self.writer.lag(), **self.writer.stats.to_dict()}
