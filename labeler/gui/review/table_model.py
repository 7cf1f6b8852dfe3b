"""The review table's model: it holds only sample ids and fetches display rows a page at a
time, on request, off the GUI thread (Anki's browser model, style item 7).

* ``set_ids(ids, first_rows)`` installs the ids of the current filter and sort order
  (computed by the query in ``labeler.store.review_table``), resetting the model. The view
  first installs only the first page (from a ``LIMIT`` query, with its rows, so they paint at
  once), then ``grow_ids(ids)`` with the full list: when it starts with the ids shown, the
  rest are appended as inserted rows (no reset: scroll position, selection and cached rows
  stay), otherwise the model is reset.
* ``data()`` only reads the page cache. For a row not cached yet it shows a placeholder and
  asks for the page with the ``pageWanted`` signal (queued, so ``data()`` stays free of side
  effects on the model's contents); ``set_page`` delivers it and emits ``dataChanged``.
* ``sort()`` does not reorder anything itself: it emits ``sortWanted(key, descending)`` and the
  owner re-runs the query, then calls ``set_ids``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QBrush, QColor

from labeler.store.review_table import ReviewRow

PAGE_SIZE = 200
MAX_CACHED_PAGES = 64
PLACEHOLDER = "…"

# (header, sort key or None when the column cannot be sorted)
COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("ID", "external_id"),
    ("Sample", None),
    ("Label", "label"),
    ("Annotator", "annotator"),
    ("Updated", "updated"),
    ("Predicted", "predicted"),
    ("Confidence", "confidence"),
    ("Suspect", "suspect"),
    ("Flags", None),
)
SUSPECT_COLOUR = QColor("#b03a2e")
DISAGREE_COLOUR = QColor("#9a6a00")

Index = QModelIndex | QPersistentModelIndex


def flags_text(row: ReviewRow) -> str:
    parts = []
    if row.n_annotators > 1:
        parts.append(f"{row.n_annotators} annotators")
    if row.disagreement:
        parts.append("disagree")
    if row.adjudicated:
        parts.append("adjudicated")
    if row.flagged:
        parts.append("flagged")
    return ", ".join(parts)


def cell_text(row: ReviewRow, column: int) -> str:
    if column == 0:
        return row.external_id
    if column == 1:
        return row.snippet
    if column == 2:
        return ", ".join(row.labels)
    if column == 3:
        return row.annotator or ""
    if column == 4:
        return row.updated_at.strftime("%Y-%m-%d %H:%M")
    if column == 5:
        return ", ".join(row.predicted) if row.predicted else ""
    if column == 6:
        return "" if row.confidence is None else f"{row.confidence:.2f}"
    if column == 7:
        return "" if row.suspect_score is None else f"{row.suspect_score:.2f}"
    return flags_text(row)


class ReviewTableModel(QAbstractTableModel):
    pageWanted = Signal(int, object)  # page number, np.ndarray of the page's sample ids
    sortWanted = Signal(str, bool)  # sort key, descending

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._ids = np.zeros(0, dtype=np.int64)
        self._pages: dict[int, dict[int, ReviewRow]] = {}
        self._requested: set[int] = set()
        self._generation = 0
        self.sort_column = 0
        self.sort_order = Qt.SortOrder.AscendingOrder

    # -- contents ------------------------------------------------------------------------

    @property
    def generation(self) -> int:
        """Bumped by every ``set_ids``: a page fetched for an older id list is dropped."""
        return self._generation

    def set_ids(self, ids: np.ndarray, first_rows: Mapping[int, ReviewRow] | None = None) -> None:
        """Show ``ids``; ``first_rows`` (display rows of the first page, if already fetched)
        go straight into the cache."""
        self.beginResetModel()
        self._ids = np.asarray(ids, dtype=np.int64)
        self._pages.clear()
        self._requested.clear()
        self._generation += 1
        if first_rows is not None and len(self._ids):
            self._pages[0] = {
                int(i): first_rows[int(i)] for i in self.page_ids(0) if int(i) in first_rows
            }
        self.endResetModel()

    def grow_ids(self, ids: np.ndarray) -> bool:
        """Install the full id list after a first page. If it starts with the ids shown, the
        rest are appended (``rowsInserted``) and True is returned; otherwise the model is
        reset with ``ids`` and False is returned."""
        ids = np.asarray(ids, dtype=np.int64)
        n = len(self._ids)
        if len(ids) < n or not np.array_equal(ids[:n], self._ids):
            self.set_ids(ids)
            return False
        if len(ids) > n:
            self.beginInsertRows(QModelIndex(), n, len(ids) - 1)
            self._ids = ids
            if n % PAGE_SIZE:
                # the last page was partly filled: forget it, and drop pages still on their
                # way (asked for with the shorter list); they are asked for again when painted
                self._pages.pop(n // PAGE_SIZE, None)
                self._requested.clear()
                self._generation += 1
            self.endInsertRows()
        return True

    def set_page(self, page: int, rows: Mapping[int, ReviewRow], generation: int) -> None:
        """Deliver a fetched page (ignored if the ids changed since it was asked for)."""
        if generation != self._generation:
            return
        self._requested.discard(page)
        if len(self._pages) >= MAX_CACHED_PAGES:
            self._pages.pop(next(iter(self._pages)))
        self._pages[page] = dict(rows)
        first = page * PAGE_SIZE
        last = min(len(self._ids), first + PAGE_SIZE) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    def refresh_rows(self) -> None:
        """Forget cached rows (after an edit); visible pages are asked for again."""
        self._pages.clear()
        self._requested.clear()
        self._generation += 1
        if len(self._ids):
            self.dataChanged.emit(
                self.index(0, 0), self.index(len(self._ids) - 1, len(COLUMNS) - 1)
            )

    def sample_id(self, row: int) -> int | None:
        return int(self._ids[row]) if 0 <= row < len(self._ids) else None

    def next_row_in(self, wanted: np.ndarray, row: int, step: int) -> int | None:
        """The nearest row after (``step`` 1) or before (-1) ``row`` whose id is in ``wanted``."""
        hits = np.flatnonzero(np.isin(self._ids, wanted))
        later = hits[hits > row] if step > 0 else hits[hits < row][::-1]
        return int(later[0]) if len(later) else None

    def row_of(self, sample_id: int) -> int | None:
        hits = np.flatnonzero(self._ids == sample_id)
        return int(hits[0]) if len(hits) else None

    def cached_row(self, row: int) -> ReviewRow | None:
        page = self._pages.get(row // PAGE_SIZE)
        if page is None or not 0 <= row < len(self._ids):
            return None
        return page.get(int(self._ids[row]))

    def page_ids(self, page: int) -> np.ndarray:
        return self._ids[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]

    # -- Qt model interface --------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008, N802
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(  # noqa: N802 - Qt override
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role != Qt.ItemDataRole.DisplayRole:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section][0] if 0 <= section < len(COLUMNS) else None
        return str(section + 1)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._ids):
            return None
        row = self.cached_row(index.row())
        if row is None:
            if role == Qt.ItemDataRole.DisplayRole:
                self._want(index.row() // PAGE_SIZE)
                return PLACEHOLDER
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            return cell_text(row, index.column())
        if role == Qt.ItemDataRole.ForegroundRole:
            if row.suspect_score is not None and index.column() in (2, 7):
                return QBrush(SUSPECT_COLOUR)
            if row.disagreement and not row.adjudicated and index.column() == 8:
                return QBrush(DISAGREE_COLOUR)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() in (6, 7):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.UserRole:
            return row.sample_id
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        key = COLUMNS[column][1] or "id"
        self.sort_column, self.sort_order = column, order
        self.sortWanted.emit(key, order == Qt.SortOrder.DescendingOrder)

    def _want(self, page: int) -> None:
        if page in self._requested:
            return
        self._requested.add(page)
        self.pageWanted.emit(page, self.page_ids(page).copy())
