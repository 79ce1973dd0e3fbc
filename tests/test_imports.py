"""Every package of qianmian imports on its own, in a fresh interpreter (an import cycle shows up only
when a package is the first one imported: `import qianmian.features` used to fail that way)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import qianmian

ROOT = Path(qianmian.__file__).parent
PACKAGES = sorted(p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()) + sorted(
    p.stem for p in ROOT.glob("*.py") if not p.stem.startswith("_")
)


@pytest.mark.parametrize("name", PACKAGES)
def test_imports_first(name: str) -> None:
    done = subprocess.run([sys.executable, "-c", f"import qianmian.{name}"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
