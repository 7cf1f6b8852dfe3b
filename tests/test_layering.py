"""The layering of design.md, checked: Qt only in labeler/gui, SQL(Alchemy) only in
labeler/store, and every core module imports with PySide6 made unimportable."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO

PKG = REPO / "labeler"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _modules() -> list[Path]:
    return sorted(PKG.rglob("*.py"))


def test_qt_only_in_gui():
    offenders = [
        str(p.relative_to(REPO))
        for p in _modules()
        if {"PySide6", "shiboken6", "PyQt5", "PyQt6"} & _imports(p)
        and "gui" not in p.relative_to(PKG).parts[:1]
    ]
    assert offenders == []


def test_sqlalchemy_only_in_store():
    offenders = [
        str(p.relative_to(REPO))
        for p in _modules()
        if "sqlalchemy" in _imports(p) and p.relative_to(PKG).parts[0] != "store"
    ]
    assert offenders == []


BLOCK_QT = """
import importlib, pkgutil, sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'shiboken6'):
            raise ImportError('Qt is blocked in this test')
sys.meta_path.insert(0, Block())
import labeler
failed = []
for mod in pkgutil.walk_packages(labeler.__path__, 'labeler.'):
    name = mod.name
    if name.startswith(('labeler.gui', 'labeler.store.migrations')) or name in ('labeler.cli.gui_cmds', 'labeler.__main__'):
        continue
    try:
        importlib.import_module(name)
    except ImportError as exc:
        failed.append(f'{name}: {exc}')
print('\\n'.join(failed))
"""


def test_core_imports_without_qt():
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-c", BLOCK_QT], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", proc.stdout


def test_file_dialogs_come_from_one_module():
    """Only labeler/gui/file_dialogs.py builds file dialogs: its dialogs never read the
    database files (a dialog that did dropped SQLite's locks and corrupted projects)."""
    allowed = PKG / "gui" / "file_dialogs.py"
    offenders = [
        str(p.relative_to(REPO))
        for p in _modules()
        if p != allowed and "QFileDialog" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []
