"""A write-ahead log: records are appended to segment files and fsynced before they count.

Layout under ``<data_dir>/wal/``::

    seg-00000001.wal     one record per line: "<crc32 hex> <json>\\n"
    seg-00000002.wal     (a new segment at every start-up and every ``segment_bytes``)
    checkpoint.json      {"segment": s, "offset": o}: every record up to there is in the store

One appender thread owns the open segment. Callers `submit` a record and get a future that is
resolved with the record's `Position` once the bytes are fsynced — group commit: all records
waiting when the thread wakes share one fsync. Durable records are then handed to `on_durable`
(the store writer). On start-up, `open` returns every record after the checkpoint so it can be
applied again; the store drops rows it already has by natural key, so a record applied twice
is stored once. A line cut short by a crash fails its checksum and ends that segment's replay;
it was never acknowledged, because acknowledgement waits for the fsync after the whole line.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

log = logging.getLogger("qianmian.wal")

CHECKPOINT = "checkpoint.json"


@dataclass(frozen=True, order=True)
class Position:
    """Where a record ends: segment number and byte offset just past its newline."""

    segment: int
    offset: int


@dataclass(frozen=True)
class Record:
    """One logged unit: `rows` of one `kind` (e.g. "events", "exposures")."""

    kind: str
    rows: tuple[dict[str, Any], ...]
    position: Position | None = None


def _orjson_first(payload: bytes) -> Any:
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:  # a line an older version wrote with json under " " (big integers)
        return json.loads(payload)


PARSERS: dict[bytes, Any] = {b" ": _orjson_first, b"j": json.loads}
"""The byte after the checksum names the JSON parser that reads the line back exactly: orjson for
what orjson wrote; `json` for what only `json` could write (integers beyond 64 bits, which orjson
would read back as floats)."""


def encode(record: Record) -> bytes:
    """``<crc32 of the JSON, 8 hex digits><parser byte><JSON>\n`` (see `PARSERS`)."""
    data = {"k": record.kind, "r": record.rows}
    try:
        payload, parser = orjson.dumps(data), b" "  # the hot path: every served page's exposure comes here
    except TypeError:  # what orjson refuses but json takes (e.g. integers beyond 64 bits)
        payload, parser = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode(), b"j"
    return b"%08x%s%s\n" % (zlib.crc32(payload), parser, payload)


def decode(line: bytes) -> Record | None:
    """The record on `line`, or None when the line is torn or corrupt."""
    loads = PARSERS.get(line[8:9])
    if len(line) < 10 or not line.endswith(b"\n") or loads is None:
        return None
    payload = line[9:-1]
    try:
        if int(line[:8], 16) != zlib.crc32(payload):
            return None
        data = loads(payload)
        return Record(str(data["k"]), tuple(data["r"]))
    except (ValueError, KeyError, TypeError):
        return None


def segment_name(n: int) -> str:
    return f"seg-{n:08d}.wal"


def _segments(directory: Path) -> list[int]:
    return sorted(int(p.name[4:12]) for p in directory.glob("seg-*.wal") if p.name[4:12].isdigit())


def read_segment(path: Path, number: int, start: int = 0) -> Iterator[Record]:
    """Records of one segment from byte `start`, stopping at the first torn or corrupt line."""
    with path.open("rb") as f:
        f.seek(start)
        offset = start
        for line in f:
            record = decode(line)
            if record is None:
                log.warning("wal %s: torn or corrupt record at byte %d ignored (never acknowledged)", path.name, offset)
                return
            offset += len(line)
            yield Record(record.kind, record.rows, Position(number, offset))


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_ROTATE = object()
_SYNC = object()
_STOP = object()


class WriteAheadLog:
    """Segmented, fsynced, checksummed append-only log with one appender thread."""

    def __init__(self, directory: Path, *, segment_bytes: int = 64 << 20, on_durable: Callable[[list[Record]], None] | None = None) -> None:
        self.directory = Path(directory)
        self.segment_bytes = segment_bytes
        self.on_durable = on_durable or (lambda records: None)
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._file: Any = None
        self._segment = 0
        self._offset = 0
        self._checkpoint_lock = threading.Lock()
        self._lazy: list[tuple[Record, None]] = []
        self._lazy_lock = threading.Lock()
        self.lazy_interval = 0.05

    # -- start-up ------------------------------------------------------------------------------
    def open(self) -> list[Record]:
        """Create the directory, return the records not yet checkpointed, start the appender."""
        if self._thread is not None and self._thread.is_alive():
            raise RuntimeError(f"write-ahead log {self.directory} is already open")
        self.directory.mkdir(parents=True, exist_ok=True)
        pending = list(self.pending())
        existing = _segments(self.directory)
        self._start_segment((existing[-1] if existing else 0) + 1)
        self._thread = threading.Thread(target=self._run, name="qianmian-wal", daemon=True)
        self._thread.start()
        return pending

    def checkpoint_position(self) -> Position:
        path = self.directory / CHECKPOINT
        if not path.exists():
            return Position(0, 0)
        data = json.loads(path.read_text())
        return Position(int(data["segment"]), int(data["offset"]))

    def pending(self) -> Iterator[Record]:
        """Every record after the checkpoint, in log order."""
        done = self.checkpoint_position()
        for n in _segments(self.directory):
            if n < done.segment:
                continue
            start = done.offset if n == done.segment else 0
            yield from read_segment(self.directory / segment_name(n), n, start)

    # -- appending -----------------------------------------------------------------------------
    def submit(self, kind: str, rows: list[dict[str, Any]]) -> Future[Position]:
        """Queue a record; the future resolves with its position once it is fsynced."""
        if self._thread is None or not self._thread.is_alive():
            raise RuntimeError("write-ahead log is not open")
        future: Future[Position] = Future()
        self._queue.put((Record(kind, tuple(rows)), future))
        return future

    def submit_lazy(self, kind: str, rows: list[dict[str, Any]]) -> None:
        """Queue a record nobody waits for: it is written with the next group (within
        `lazy_interval` seconds) without waking the appender now — cheap for hot paths."""
        if self._thread is None or not self._thread.is_alive():
            raise RuntimeError("write-ahead log is not open")
        with self._lazy_lock:
            self._lazy.append((Record(kind, tuple(rows)), None))

    def _take_lazy(self) -> list[tuple[Record, None]]:
        with self._lazy_lock:
            taken, self._lazy = self._lazy, []
        return taken

    def rotate(self) -> Future[Position]:
        """Start a new segment; resolves with the first position of the new one."""
        future: Future[Position] = Future()
        self._queue.put((_ROTATE, future))
        return future

    def sync(self) -> Future[Position]:
        """Resolves once everything submitted before it is fsynced and handed on."""
        future: Future[Position] = Future()
        self._queue.put((_SYNC, future))
        return future

    def close(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            self._queue.put((_STOP, None))
            self._thread.join()
        self._thread = None

    def _run(self) -> None:
        while True:
            try:
                batch = [self._queue.get(timeout=self.lazy_interval)]
            except queue.Empty:
                batch = []
            while len(batch) < 10_000:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            lazy = self._take_lazy()  # submitted before anything still in the queue
            if (lazy or batch) and not self._write(lazy + batch):
                return

    def _write(self, batch: list[tuple[Any, Future | None]]) -> bool:
        """Write a group of queued items with one fsync; False once asked to stop."""
        done: list[tuple[Record, Future | None]] = []
        for item, future in batch:
            if item is _STOP:
                self._commit(done)
                self._file.close()
                return False
            if item is _SYNC:
                self._commit(done)
                done = []
                future.set_result(Position(self._segment, self._offset))
                continue
            if item is _ROTATE:
                self._commit(done)
                done = []
                self._start_segment(self._segment + 1)
                future.set_result(Position(self._segment, 0))
                continue
            done.append(self._append(item, future))
        self._commit(done)
        return True

    def _append(self, record: Record, future: Future | None) -> tuple[Record, Future | None]:
        if self._offset >= self.segment_bytes:
            self._commit([])
            self._start_segment(self._segment + 1)
        line = encode(record)
        self._file.write(line)
        self._offset += len(line)
        return Record(record.kind, record.rows, Position(self._segment, self._offset)), future

    def _commit(self, done: list[tuple[Record, Future | None]]) -> None:
        if not done:
            return
        try:
            self._file.flush()
            os.fsync(self._file.fileno())
        except OSError as exc:
            log.error("wal: fsync failed (%s); %d records not acknowledged", exc, len(done))
            for _, future in done:
                if future is not None:
                    future.set_exception(exc)
            return
        self.on_durable([record for record, _ in done])
        for record, future in done:
            if future is not None:
                future.set_result(record.position)

    def _start_segment(self, n: int) -> None:
        if self._file is not None:
            self._file.close()
        self._segment, self._offset = n, 0
        self._file = (self.directory / segment_name(n)).open("ab")
        _fsync_dir(self.directory)

    # -- after the store has the records -------------------------------------------------------
    def checkpoint(self, position: Position) -> None:
        """Record that everything up to `position` is in the store; delete older segments."""
        with self._checkpoint_lock:
            tmp = self.directory / (CHECKPOINT + ".tmp")
            with tmp.open("w") as f:
                json.dump({"segment": position.segment, "offset": position.offset}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.directory / CHECKPOINT)
            _fsync_dir(self.directory)
            for n in _segments(self.directory):
                if n < position.segment:
                    (self.directory / segment_name(n)).unlink(missing_ok=True)
