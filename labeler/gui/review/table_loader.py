"""Feeds the review table's model from the store, on the view's database worker.

For every filter or sort change the first page (ids and display rows, one ``LIMIT`` query)
is shown at once, then the full id list is read and appended (see
:meth:`ReviewTableModel.grow_ids`). A query superseded by a newer change before it starts is
skipped, and a result for an old change is dropped. Pages the model asks for while scrolling
are fetched here too.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QObject, Qt, Signal

from labeler.gui.review.table_model import PAGE_SIZE, ReviewTableModel
from labeler.gui.tasks import TaskRunner
from labeler.store import Store
from labeler.store import review_table as rt
from labeler.store.search import SearchError


class TableLoader(QObject):
    firstRowsShown = Signal(int)  # rows of the first page, on screen before the full list
    idsLoaded = Signal(int)  # rows in the table (the full list)
    countText = Signal(str)  # what the count line under the table says
    searchFailed = Signal(str)  # the table's search could not run (e.g. out of time)

    def __init__(
        self, store: Store, model: ReviewTableModel, db: TaskRunner, parent: QObject | None = None
    ) -> None:
        super().__init__(parent)
        self.store, self.model, self.db = store, model, db
        self._generation = 0
        model.pageWanted.connect(self._fetch_page, Qt.ConnectionType.QueuedConnection)

    def reload(self, flt: rt.ReviewFilter, sort: str, descending: bool) -> None:
        """Show the labeled samples matching ``flt`` in ``sort`` order."""
        self._generation += 1
        generation = self._generation

        def current() -> bool:
            return generation == self._generation

        def first() -> Any:
            if not current():
                return None  # superseded before it started: skip the query
            return rt.first_page(self.store, flt, sort, descending, PAGE_SIZE)

        def first_done(result: Any) -> None:
            if result is None or not current():
                return
            ids, rows = result
            self.model.set_ids(ids, rows)
            self.countText.emit(
                f"{len(ids):,} labeled samples shown"
                if len(ids) < PAGE_SIZE
                else f"first {len(ids):,} labeled samples shown, counting…"
            )
            self.firstRowsShown.emit(len(ids))

        def full() -> Any:
            return rt.review_ids(self.store, flt, sort, descending) if current() else None

        def full_done(ids: Any) -> None:
            if ids is None or not current():
                return
            self.model.grow_ids(ids)
            self.countText.emit(f"{len(ids):,} labeled samples shown")
            self.idsLoaded.emit(len(ids))

        def failed(exc: BaseException) -> None:
            if not isinstance(exc, SearchError):
                self.db.failed.emit(exc)  # reported by the view like any other failure
                return
            if not current():
                return
            self.countText.emit("search stopped")
            self.searchFailed.emit(str(exc))

        self.countText.emit("loading…")
        self.db.submit(first, on_done=first_done, on_error=failed)
        self.db.submit(full, on_done=full_done, on_error=failed)

    def _fetch_page(self, page: int, ids: np.ndarray) -> None:
        generation = self.model.generation

        def done(rows: dict[int, rt.ReviewRow]) -> None:
            self.model.set_page(page, rows, generation)

        self.db.submit(rt.review_rows, self.store, [int(i) for i in ids], on_done=done)
