"""The import contracts of .importlinter hold for the tree, and a forbidden import breaks them.

``scripts/test`` runs ``lint-imports`` before pytest; these tests show the check can fail: each
copies the package, adds one import that DESIGN.md forbids, and expects the named contract broken.
"""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), str(tree / ".importlinter"), "--no-cache"], cwd=tree,
                          env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the package and the contracts, importable from *tmp_path* before the checkout."""
    shutil.copytree(ROOT / "learnspace", tmp_path / "learnspace", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}  # added by the contract test\n")


def test_the_tree_keeps_every_contract(tree):
    result = _lint(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize("module, line, contract", [
    # accounts must not know spaces: activation listens to accounts.signals instead
    ("accounts/views.py", "from ..spaces import operations as _spaces", "Layers"),
    # one views module importing another's: pages are composed through learnspace.panels
    ("lessons/views.py", "from ..comments import views as _comments", "No views module imports"),
    ("lessons/uploads.py", "import minio", "Only storage imports minio"),
    ("directory/operations.py", "import jieba", "Only search imports whoosh"),
    ("study/operations.py", "from ..stats import operations as _stats", "Nothing imports stats"),
    # a cycle inside one package
    ("search/generations.py", "from . import writer as _writer", "No import cycles"),
])
def test_a_forbidden_import_breaks_its_contract(tree, module, line, contract):
    _append(tree / "learnspace" / module, line)
    result = _lint(tree)
    assert result.returncode != 0
    broken = result.stdout.split("Broken contracts", 1)[-1]
    assert contract in broken, result.stdout
