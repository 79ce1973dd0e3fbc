"""The records of a source file, counted independently of the parser that reads them.

`survey(path)` reads the file once, as bytes (decompressing a .gz), and returns its SHA-256, how many
records it holds and which lines cannot be parsed on their own:

- a *record* of a line-based file (CSV, JSON Lines) is a non-empty line: an empty line (nothing, or
  only a carriage return) is not a record, and the header line of a CSV with a header is not one;
- a *broken* line is one whose quoting does not close by its end (an odd number of `"`). For a layout
  whose fields never span lines, such a line is quarantined alone and the lines after it load:
  the parser gets a copy of the file with that line emptied (`without_lines`), so it cannot swallow
  the next ones, and line numbers stay those of the original file.

Most files have no quote, no empty line and one kind of line ending; for them the survey is a few
byte searches per megabyte (run while DuckDB scans), and only chunks that have any of these are
looked at line by line.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from qianmian.errors import InputError

BLOCK = 1 << 20


@dataclass(frozen=True)
class Broken:
    """A line whose quoting does not close on that line: its number in the file and its full text."""

    line: int
    raw: str


@dataclass(frozen=True)
class Survey:
    sha256: str
    lines: int  # physical lines (a last line without a newline counts)
    records: int  # non-empty lines, minus the header line when there is one
    empty: tuple[int, ...] = ()  # numbers of the empty lines (not records)
    broken: tuple[Broken, ...] = ()
    mixed_endings: bool = False  # both "\r\n" and "\n" end lines: DuckDB cannot read such a file as is
    first_line: int = 1  # number of the first line that can hold a record

    @property
    def needs_copy(self) -> bool:
        return bool(self.broken) or self.mixed_endings

    def with_header(self) -> Survey:
        """The same file read with its first non-empty line as a header (not a record)."""
        if not self.records:
            return self
        empty = set(self.empty)
        header = next(i for i in range(1, self.lines + 2) if i not in empty)
        return replace(self, records=self.records - 1, first_line=header + 1,
                       broken=tuple(b for b in self.broken if b.line != header))


@dataclass
class _State:
    line: int = 0
    nonempty: int = 0
    crlf: int = 0
    empty: list[int] = field(default_factory=list)
    broken: list[Broken] = field(default_factory=list)


def _blocks(path: Path) -> Iterator[tuple[bytes, bytes]]:
    """(bytes as stored, bytes as read) per block; a .gz file is decompressed (multi-member too)."""
    gz = path.name.endswith(".gz")
    inflate = zlib.decompressobj(wbits=47) if gz else None
    with path.open("rb") as fh:
        for raw in iter(lambda: fh.read(BLOCK), b""):
            if inflate is None:
                yield raw, raw
                continue
            out = inflate.decompress(raw)
            while inflate.eof and inflate.unused_data:  # concatenated gzip members
                rest = inflate.unused_data
                inflate = zlib.decompressobj(wbits=47)
                out += inflate.decompress(rest)
            yield raw, out
    if inflate is not None and not inflate.eof:
        raise InputError("file", "a complete gzip stream", f"{path.name} cut short (the gzip stream ends early)")


def survey(path: Path, *, quotes: bool) -> Survey:
    """Count the records of a line-based file (every non-empty line; `Survey.with_header` takes a
    header line off); with `quotes`, also find lines whose quoting does not close."""
    digest, st, carry = hashlib.sha256(), _State(), b""
    try:
        for stored, data in _blocks(path):
            digest.update(stored)
            chunk = carry + data
            cut = chunk.rfind(b"\n") + 1
            carry = chunk[cut:]
            _chunk(chunk[:cut], st, quotes)
    except zlib.error as exc:
        raise InputError("file", "a readable gzip file", f"{path.name}: {exc}") from exc
    if carry:
        _chunk(carry + b"\n", st, quotes)
    mixed = 0 < st.crlf < st.line
    return Survey(digest.hexdigest(), st.line, st.nonempty, tuple(st.empty), tuple(st.broken), mixed, 1)


def _chunk(chunk: bytes, st: _State, quotes: bool) -> None:
    """Lines of `chunk` (whole lines, each ending in a newline)."""
    n = chunk.count(b"\n")
    st.crlf += chunk.count(b"\r\n")
    plain = not (quotes and b'"' in chunk) and b"\n\n" not in chunk and b"\n\r\n" not in chunk
    if plain and not chunk.startswith((b"\n", b"\r\n")):
        st.line += n
        st.nonempty += n
        return
    for text in chunk.split(b"\n")[:-1]:
        st.line += 1
        body = text[:-1] if text.endswith(b"\r") else text
        if not body:
            st.empty.append(st.line)
            continue
        st.nonempty += 1
        if quotes and body.count(b'"') % 2:
            st.broken.append(Broken(st.line, body.decode("utf-8", errors="replace")))


def without_lines(path: Path, drop: set[int], dest: Path) -> Path:
    """A copy of `path` (decompressed) with the lines numbered in `drop` emptied and every line ending
    made "\\n", so line numbers stay the original file's."""
    line, carry = 0, b""
    with dest.open("wb") as out:
        for _, data in _blocks(path):
            chunk = carry + data
            cut = chunk.rfind(b"\n") + 1
            carry = chunk[cut:]
            line = _copy(chunk[:cut], line, drop, out)
        if carry:
            _copy(carry + b"\n", line, drop, out)
    return dest


def _copy(chunk: bytes, line: int, drop: set[int], out) -> int:
    parts = chunk.split(b"\n")[:-1]
    for text in parts:
        line += 1
        out.write(b"\n" if line in drop else (text[:-1] if text.endswith(b"\r") else text) + b"\n")
    return line
