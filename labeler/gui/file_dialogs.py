"""Every file dialog of the app comes from here, built so it never opens a database file.

Qt's own file dialog guesses each listed file's type by reading its first bytes, and the
platform dialogs do the same. Opening and closing ``project.db-shm`` that way drops every
POSIX lock SQLite holds on it in this process (see :mod:`labeler.store.lock_guard`), which
corrupted projects. So these dialogs:

* are Qt's own widget dialog (platform dialogs may run in this process and read files),
* carry an icon provider that names types and icons from the file *name* only (checked: with
  it, a dialog listing the database folder itself leaves SQLite's locks in place),
* hide ``.labeler/`` folders and ``project.db*`` files,
* never start inside a folder that holds database files (they start one level up).

``tests/test_layering.py`` checks that no other module uses ``QFileDialog``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QFileInfo, QModelIndex, QPersistentModelIndex, QSortFilterProxyModel
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QFileDialog, QFileIconProvider, QFileSystemModel, QWidget

from labeler.store.location import DB_DIR, DB_FILE

DATA_FILES = "Data files (*.csv *.tsv *.parquet *.jsonl *.ndjson *.json *.xlsx *.xls)"


class NameOnlyIconProvider(QFileIconProvider):
    """Icons and type names from the file name alone: never reads a file's contents."""

    def icon(self, what: object) -> QIcon:  # type: ignore[override]
        if isinstance(what, QFileInfo):
            kind = (
                QFileIconProvider.IconType.Folder
                if what.isDir()
                else QFileIconProvider.IconType.File
            )
            return super().icon(kind)
        return super().icon(what)  # type: ignore[arg-type]

    def type(self, info: QFileInfo) -> str:  # noqa: A003 - Qt's name
        if info.isDir():
            return "Folder"
        suffix = info.suffix()
        return f"{suffix.upper()} file" if suffix else "File"


def is_database_name(name: str) -> bool:
    return name == DB_DIR or name.startswith(DB_FILE)


class _HideDatabase(QSortFilterProxyModel):
    def filterAcceptsRow(  # noqa: N802 - Qt override
        self, row: int, parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        source = self.sourceModel()
        if isinstance(source, QFileSystemModel):
            return not is_database_name(source.fileName(source.index(row, 0, parent)))
        return True


def holds_database(folder: Path) -> bool:
    """True if ``folder`` is a database folder or holds database files directly."""
    try:
        if folder.name == DB_DIR:
            return True
        return any(p.name.startswith(DB_FILE) for p in folder.iterdir())
    except OSError:
        return False


def safe_start(start: str | Path | None) -> str:
    """A folder to start a dialog in that holds no database files."""
    folder = Path(start).expanduser() if start else Path.home()
    if not folder.is_dir():
        folder = folder.parent if folder.parent.is_dir() else Path.home()
    while holds_database(folder) and folder.parent != folder:
        folder = folder.parent
    return str(folder)


def file_dialog(
    parent: QWidget | None,
    title: str,
    on_selected: Callable[[str], object],
    *,
    start: str | Path | None = None,
    mode: str = "open",
    name_filters: list[str] | None = None,
    file_name: str = "",
) -> QFileDialog:
    """A window-modal dialog (opened, not executed): ``mode`` is ``open`` (an existing
    file), ``save`` (a new file) or ``folder``. ``on_selected`` gets the chosen path."""
    dialog = QFileDialog(parent, title)
    dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    provider = NameOnlyIconProvider()
    dialog.setIconProvider(provider)
    dialog.setProperty("_labeler_icon_provider", provider)  # keep it alive with the dialog
    dialog.setProxyModel(_HideDatabase(dialog))
    if mode == "folder":
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
    elif mode == "save":
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setFileMode(QFileDialog.FileMode.AnyFile)
    else:
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    if name_filters:
        dialog.setNameFilters(name_filters)
    dialog.setDirectory(safe_start(start))
    if file_name:
        dialog.selectFile(file_name)
    dialog.fileSelected.connect(on_selected)
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog
