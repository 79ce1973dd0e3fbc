"""What one running app holds: the store (behind a lock), the durable log, caches, the clock.

Everything here can be rebuilt from the store and the data directory, which is what lets the
API run as several replicas (see docs/api.md).
"""

from __future__ import annotations

import datetime as dt
import gc
import json
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
from qianmian.api.wal import Record
from qianmian.api.wiring import collaborators
from qianmian.config import Settings
from qianmian.consumers.snapshot import Consumers
from qianmian.errors import ConfigError
from qianmian.store import Store
from qianmian.store.schema import EVENTS, EXPOSURES
from qianmian.storefront import config as storefront_config
from qianmian.storefront.authoring import ExperienceService
from qianmian.storefront.input import GuideService, TagService
from qianmian.storefront.privacy import ConsentService, ErasureService
from qianmian.storefront.service import StorefrontService

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
    consumers: Consumers = field(default_factory=Consumers)  # the snapshot of shoppers every service below shares
    storefront: StorefrontService = field(init=False)
    experiences: ExperienceService = field(init=False)
    tags: TagService = field(init=False)
    guide: GuideService = field(init=False)
    consent: ConsentService = field(init=False)
    erasure: ErasureService = field(init=False)
    extras: dict[str, Any] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.keyring = KeyRing(lambda: self.locked(keystore.active_hashes, self.store))
        s = self.settings
        self.log = DurableLog(
            s.data_dir / "wal",
            {"events": self.append_events, "exposures": self.append_exposures},
            segment_bytes=s.wal_segment_bytes,
            batch_rows=s.writer_batch_rows,
            interval=s.writer_interval_seconds,
            quarantine=self.quarantine,
        )
        config = storefront_config.load(s.experiences_file)
        self.storefront = StorefrontService(
            self.store,
            lock=self.lock,
            config=config,
            collaborators=collaborators(s, self.extras, self.store),
            experiment_name=s.storefront_experiment,
            consumers=self.consumers,
        )
        self.experiences = ExperienceService(self.store, lock=self.lock, config=config, storefront=self.storefront)
        self.tags = TagService(self.store, lock=self.lock, consumers=self.consumers)
        self.guide = GuideService(config.questions, self.tags)
        self.consent = ConsentService(self.store, lock=self.lock, consumers=self.consumers, storefront=self.storefront)
        self.erasure = ErasureService(self.store, lock=self.lock, consumers=self.consumers, storefront=self.storefront)

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

    def quarantine(self, record: Record, exc: Exception) -> None:
        """Keep a record the store refused, with the reason (nothing is dropped silently)."""
        field_name = getattr(exc, "field", None)
        frame = pd.DataFrame(
            {
                "ingest_id": "http",
                "source": f"wal:{record.kind}:{record.position.segment}:{record.position.offset}" if record.position else f"wal:{record.kind}",
                "row_number": range(len(record.rows)),
                "raw": [json.dumps(r, ensure_ascii=False, default=str) for r in record.rows],
                "field": field_name,
                "reason": f"{type(exc).__name__}: {exc}",
                "quarantined_at": pd.Timestamp(self.clock()),
            }
        )
        self.locked(self.store.append, "quarantine", frame)

    def start(self) -> None:
        """Replay the log, build every cache, start the refresh timer (before serving).

        Idempotent: a second lifespan start-up (some test harnesses run one) changes nothing.
        """
        if self.log.started:
            return
        self.locked(keystore.ensure, self.store)
        self.keyring.refresh()
        replayed = self.log.start()
        if replayed:
            log.info("write-ahead log: %d rows from the last run applied", replayed)
        self.experiences.install_file(now=self.clock())
        self.storefront.refresh()
        log.info("storefront rails from %s", self.storefront.products.load_models())
        self._refresh_rollup()
        _settle_heap()
        threading.Thread(target=self._refresh_loop, name="qianmian-refresh", daemon=True).start()
        threading.Thread(target=self._keys_loop, name="qianmian-keys", daemon=True).start()

    def _keys_loop(self) -> None:
        """Keys reload on their own clock, so that a revocation reaches this replica within
        `cache_refresh_seconds` even when rebuilding the other snapshots takes longer (Spark)."""
        while not self._stop.wait(self.settings.cache_refresh_seconds):
            try:
                self.keyring.refresh()
            except Exception:  # keep the last keys; the next round retries
                log.exception("key refresh failed")

    def _refresh_loop(self) -> None:
        while not self._stop.wait(self.settings.cache_refresh_seconds):
            try:
                self.storefront.refresh()
                self._refresh_rollup()
                _settle_heap()
            except Exception:  # keep serving the last snapshot; the next round retries
                log.exception("cache refresh failed")

    def _refresh_rollup(self) -> None:
        """Absorb new events into the daily consumer rollup now, so that the first report after a
        large ingest does not pay for it while holding the store (the reports refresh it too)."""
        from qianmian.store.rollup import refresh_rollup

        try:
            done = self.locked(refresh_rollup, self.store)
        except Exception:  # reports fall back to refreshing it themselves
            log.exception("daily rollup refresh failed")
            return
        if done.events:
            log.info("daily rollup: %d events absorbed%s", done.events, " (first build)" if done.full else "")

    def refresh(self) -> None:
        """Rebuild caches now (after materializing audiences or training models)."""
        self.log.drain()
        self.keyring.refresh()
        self.storefront.refresh()
        self.storefront.products.load_models()

    def stop(self) -> None:
        if not self.log.started:
            return
        self._stop.set()
        self.log.stop()
        if self.owns_store:
            self.store.close()


def _settle_heap() -> None:
    """Move the long-lived snapshots out of the garbage collector's view.

    The snapshots hold large dicts (profiles, popularity, membership); without this every full
    collection walks them all, a pause that shows up as the p99 of page latency.
    """
    gc.collect()
    gc.freeze()


def _log_exposures(store: Store, frame: pd.DataFrame) -> int:
    """Pages in an experiment go through the experiments package (it owns the exposure log);
    pages outside any experiment are appended as they are (experiment and variant NULL)."""
    in_experiment = frame["experiment"].notna() if "experiment" in frame.columns else pd.Series(False, index=frame.index)
    written = store.append("exposures", frame[~in_experiment]) if (~in_experiment).any() else 0
    if in_experiment.any():
        try:
            from qianmian.experiments.exposures import log_exposures
        except ImportError:
            return written + store.append("exposures", frame[in_experiment])
        written += int(log_exposures(store, frame[in_experiment]))
    return written
