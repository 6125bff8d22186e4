"""The type stubs (_zen.pyi) match the compiled module."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import zen
import zen._zen

STUB = Path(zen.__file__).parent / "_zen.pyi"
# Its mypy settings: zen.compat.pal imports PAL's modules, absent here.
CONFIG = Path(__file__).resolve().parents[1] / "pyproject.toml"


def test_stubtest(tmp_path: Path) -> None:
    # Run elsewhere so that mypy's cache stays out of the source tree.
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "--mypy-config-file", str(CONFIG), "zen"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_stub_bases_match_the_runtime() -> None:
    """stubtest does not compare base classes; the builtin bases matter here
    (`except ValueError` catches InvalidArgumentsError)."""
    tree = ast.parse(STUB.read_text())
    classes = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    assert classes
    for node in classes:
        runtime = getattr(zen._zen, node.name)
        stub_bases = [ast.unparse(base) for base in node.bases] or ["object"]
        assert stub_bases == [base.__name__ for base in runtime.__bases__], node.name


def test_all_matches() -> None:
    # PalBridge serves zen.compat.pal only; the package does not re-export it.
    assert sorted(zen.__all__) == sorted(set(zen._zen.__all__) - {"PalBridge"})
