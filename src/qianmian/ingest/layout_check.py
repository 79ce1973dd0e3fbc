"""Is this file in this layout at all? Checked on its first lines, before any scan.

The wrong `--format` gets one line, at once: ``file columns: expected …, found …``. A layout with a
header names the columns it reads; a layout without one (Taobao) says how many columns, and its
numeric columns and behaviour values must fit at least one of the first lines (a header line of
another layout, or a file of another shape, fits none).
"""

from __future__ import annotations

import gzip
import itertools
from pathlib import Path

from qianmian.errors import InputError
from qianmian.ingest.mapping import Mapping
from qianmian.store.schema import BEHAVIORS
from qianmian.store.staging import split_fields

SAMPLE = 20  # first non-empty lines looked at
LONGEST = 4096  # characters of each looked at (a huge field is the scan's to judge)


class LayoutMismatch(InputError):
    """The file is not in the layout asked for (e.g. the wrong --format)."""

    def __init__(self, expected: str, found: object) -> None:
        super().__init__("file columns", expected, found)
        self.args = (f"file columns: expected {expected}, found {found}",)

    def __str__(self) -> str:
        return self.args[0]


def unique_names(header: list[str]) -> list[str]:
    """Header cells as column names: an empty cell at position N (from 1) is named `columnN`, a
    repeated name gets `_N` (its position), e.g. ["", "a", "a"] → ["column1", "a", "a_3"]."""
    names: list[str] = []
    for i, cell in enumerate(header, start=1):
        name = cell or f"column{i}"
        if name in names:
            name = f"{name}_{i}"
        while name in names:
            name += "_"
        names.append(name)
    return names


def has_columns(names: list[str], m: Mapping) -> None:
    missing = sorted(m.source_columns() - set(names))
    if missing:
        raise LayoutMismatch(f"a header with the columns {', '.join(sorted(m.source_columns()))} ({m.name})",
                             f"{', '.join(names[:12])}{' …' if len(names) > 12 else ''} (missing {', '.join(missing)})")


def first_lines(path: Path, n: int = SAMPLE) -> list[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    try:
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as fh:  # type: ignore[operator]
            lines = [line.rstrip("\r\n")[:LONGEST] for line in itertools.islice(fh, n * 4)]
    except (OSError, EOFError):
        return []  # a broken gzip is reported by the survey, with its reason
    return [line.lstrip("\ufeff") for line in lines if line][:n]


def headerless(path: Path, m: Mapping) -> None:
    """A file without a header: the first lines must have the layout's columns and fit its types."""
    lines = first_lines(path)
    if not lines:
        return
    rows = [split_fields(line, m.delimiter) for line in lines]
    if any(_fits(row, m) for row in rows):
        return
    first = rows[0]
    expected = f"{len(m.columns)} columns without a header line ({', '.join(m.columns)}; {m.name})"
    shown = ", ".join(first[:12]) + (" …" if len(first) > 12 else "")
    if len(first) != len(m.columns):
        raise LayoutMismatch(expected, f"{len(first)} column{'s' if len(first) != 1 else ''} ({shown})")
    raise LayoutMismatch(expected, f"lines that do not fit it, the first: {shown}")


def _fits(row: list[str], m: Mapping) -> bool:
    if len(row) != len(m.columns):
        return False
    cell = dict(zip(m.columns, (c.strip() for c in row)))
    for name, spec in m.fields.items():
        if spec.column is None or spec.column not in cell:
            continue
        value = cell[spec.column]
        if (spec.unit or spec.type in ("int", "float")) and value and not _number(value):
            return False
        if name == "behavior":
            known = m.values.get("behavior") or {b: b for b in BEHAVIORS}
            if value not in known and value.lower() not in known:
                return False
    return True


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
