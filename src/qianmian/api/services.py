"""What one running app holds: the store (behind a lock), the durable log, caches, the clock.

Everything here can be rebuilt from the store and the data directory, which is what lets the
API run as several replicas (see docs/api.md).
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import pandas as pd

from qianmian.api import keys as keystore
from qianmian.api.auth import KeyRing
from qianmian.api.durable import DurableLog
from qianmian.config import Settings
from qianmian.errors import ConfigError
from qianmian.store import Store
from qianmian.store.schema import EVENTS, EXPOSURES

log = logging.getLogger("qianmian.api")

T = TypeVar("T")
Clock = Callable[[], dt.datetime]


def business_clock(zone: ZoneInfo) -> Clock:
    """A clock giving naive wall-clock time in `zone` (the time events and pages are stamped with)."""
    return lambda: dt.datetime.now(zone).replace(tzinfo=None)


def zone_of(settings: Settings) -> ZoneInfo:
    try:
        return ZoneInfo(settings.timezone)
    except Exception as exc:
        raise ConfigError(f"timezone: expected an IANA zone such as 'Asia/Shanghai', received {settings.timezone!r}") from exc


def rows_frame(rows: list[dict[str, Any]], time_columns: tuple[str, ...]) -> pd.DataFrame:
    """Rows from the WAL as a frame with real timestamps (the store casts the rest)."""
    frame = pd.DataFrame.from_records(rows)
    for col in time_columns:
        if col in frame.columns:
            frame[col] = pd.to_datetime(frame[col], format="ISO8601")
    return frame


@dataclass
class Services:
    """The app's state, reachable from a request as ``request.app.state.services``."""

    settings: Settings
    store: Store
    clock: Clock
    zone: ZoneInfo
    owns_store: bool = False
    lock: threading.RLock = field(default_factory=threading.RLock)
    keyring: KeyRing = field(init=False)
    log: DurableLog = field(init=False)
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.keyring = KeyRing(lambda: self.locked(keystore.active_hashes, self.store))
        s = self.settings
        self.log = DurableLog(
            s.data_dir / "wal",
            {"events": self.append_events, "exposures": self.append_exposures},
            segment_bytes=s.wal_segment_bytes,
            batch_rows=s.writer_batch_rows,
            interval=s.writer_interval_seconds,
        )

    def locked(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run `fn` holding the store lock (one connection is shared by every thread)."""
        with self.lock:
            return fn(*args, **kwargs)

    def append_events(self, rows: list[dict[str, Any]]) -> int:
        frame = rows_frame(rows, ("ts",))
        return self.locked(self.store.append, "events", frame[[c for c in frame.columns if c in EVENTS.names]])

    def append_exposures(self, rows: list[dict[str, Any]]) -> int:
        frame = rows_frame(rows, ("ts",))
        frame = frame[[c for c in frame.columns if c in EXPOSURES.names]]
        return self.locked(_log_exposures, self.store, frame)

    def start(self) -> None:
        self.locked(keystore.ensure, self.store)
        self.keyring.refresh()
        replayed = self.log.start()
        if replayed:
            log.info("write-ahead log: %d rows from the last run applied", replayed)

    def stop(self) -> None:
        self.log.stop()
        if self.owns_store:
            self.store.close()


def _log_exposures(store: Store, frame: pd.DataFrame) -> int:
    """Through the experiments package when it is installed (it owns the exposure log)."""
    try:
        from qianmian.experiments.exposures import log_exposures  # type: ignore[import-not-found]
    except ImportError:
        return store.append("exposures", frame)
    written = log_exposures(store, frame)
    return int(written) if isinstance(written, int) else len(frame)
