"""The import contracts of pyproject.toml ([tool.importlinter]), checked by import-linter.

`make lint` runs every contract; these tests run the ones that guard the faces, so `make test` also
fails when, say, a metric starts importing FastAPI. import-linter reads every import, function-level
ones included, so hiding an import in a function does not get past it.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import qianmian

REPO = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
FACE_CONTRACTS = ("domain-no-faces", "faces-build-no-queries", "store-ingest-no-metrics", "metrics-no-audiences",
                  "only-store-queries")


def lint(config: Path, contracts: tuple[str, ...], *, path: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run import-linter on `config`'s contracts; `path` first on PYTHONPATH (a copy of the package)."""
    args = [str(LINT_IMPORTS), "--no-cache", "--no-logo", *[a for c in contracts for a in ("--contract", c)], str(config)]
    env = {"PATH": "/usr/bin:/bin", **({"PYTHONPATH": str(path)} if path else {})}
    return subprocess.run(args, capture_output=True, text=True, check=False, cwd=config.parent, env=env)


def test_domain_code_imports_no_face_and_faces_build_no_queries() -> None:
    done = lint(REPO / "pyproject.toml", FACE_CONTRACTS)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_a_metric_importing_fastapi_breaks_the_contract(tmp_path: Path) -> None:
    """A copy of the package whose AIPL module imports FastAPI inside a function fails, naming the import."""
    shutil.copytree(Path(qianmian.__file__).parent, tmp_path / "src" / "qianmian",
                    ignore=shutil.ignore_patterns("__pycache__", "*.gz", "static"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    aipl = tmp_path / "src" / "qianmian" / "metrics" / "aipl.py"
    aipl.write_text(aipl.read_text() + "\n\ndef _app():\n    import fastapi\n\n    return fastapi.FastAPI()\n")
    done = lint(tmp_path / "pyproject.toml", ("domain-no-faces",), path=tmp_path / "src")
    assert done.returncode == 1, done.stdout[-4000:] + done.stderr[-2000:]
    assert "qianmian.metrics.aipl -> fastapi" in done.stdout
