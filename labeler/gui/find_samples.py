""" "Find samples" in the annotate view: the unlabeled samples whose text or id matches a few
words (or a regular expression) come next in the annotator's queue. It is the cold-start
keyword search (:func:`labeler.learning.coldstart.search_samples`, run in SQL) and the way to
hunt a rare class the model does not yet suggest.

:func:`find_items` is a plain function run on the controller's database worker: it searches,
leaves out what is on screen, waiting or done, claims the matches for this annotator (team
mode: what a colleague holds is left out) and returns them as queue items with the provenance
``strategy="search"`` (their labels record that a search put them there).
:class:`SampleFinder` (owned by the view) asks for them and puts them first in the session;
a swap to a new ranking keeps them first (see ``AnnotationSession.replace_upcoming``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from labeler.errors import LabelerError
from labeler.gui import annotation_ops as ops
from labeler.gui.dialogs import describe
from labeler.gui.session import Item
from labeler.store import Provenance, Store

if TYPE_CHECKING:
    from labeler.gui.controller import AnnotationController

FIND_LIMIT = 50  # matches queued per search
SEARCH_STRATEGY = "search"


@dataclass(frozen=True)
class Found:
    query: str
    items: list[Item]


def find_items(
    store: Store,
    query: str,
    regex: bool,
    exclude: Collection[int],
    annotator: str,
    session: str,
    limit: int = FIND_LIMIT,
) -> Found:
    """Unlabeled samples matching ``query``, most matches first, claimed for ``annotator``."""
    from labeler.learning.coldstart import search_samples

    skip = set(exclude) | store.claims.held_by_others(annotator, session)
    hits = [
        (sid, score)
        for sid, score in search_samples(
            store, query, limit + len(skip), regex=regex, unlabeled_only=True
        )
        if sid not in skip
    ][:limit]
    held = set(store.claims.claim(annotator, [sid for sid, _ in hits], session=session))
    latest = store.models.latest_ok()
    version = latest.model_version if latest is not None else None
    chosen = [
        (sid, Provenance(version, SEARCH_STRATEGY, score), None)
        for sid, score in hits
        if sid in held
    ]
    return Found(query, ops.items_for(store, chosen))


class FindDialog(QDialog):
    """Asks what to look for. Opened with ``open()`` (window-modal, never blocks)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Find samples")
        layout = QVBoxLayout(self)
        note = QLabel(
            "Unlabeled samples whose text or id contains every word come next "
            "(most matches first). Use it to find a class the model does not suggest yet."
        )
        note.setWordWrap(True)
        layout.addWidget(note)
        self.query = QLineEdit(objectName="findQuery")
        self.query.setPlaceholderText("e.g. refund late delivery")
        layout.addWidget(self.query)
        self.regex = QCheckBox("Regular expression", objectName="findRegex")
        layout.addWidget(self.regex)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Find")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(460, self.sizeHint().height())


class SampleFinder(QObject):
    """Runs "find samples" for an annotate controller; the matches are put first."""

    found = Signal(object)  # Found, once its items are first in the queue
    done = Signal()  # a search ended (found, nothing found, or refused)

    def __init__(self, controller: AnnotationController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller

    def find(self, query: str, regex: bool = False) -> bool:
        """Search on the database worker; False (nothing asked) without a project or query."""
        c = self.controller
        if c.session is None or c.store is None:
            return False
        if not query.strip():
            c.message.emit("Find samples: type a word the samples contain")
            return False
        c.message.emit(f"Searching for {query.strip()!r}…")
        c.runner.submit(
            find_items,
            c.store,
            query,
            regex,
            frozenset(c.session.known_ids()),
            c.annotator,
            c.session_id,
            on_done=self._found,
            on_error=self._failed,
        )
        return True

    def _found(self, found: Found) -> None:
        c = self.controller
        if c.session is None or not shiboken6.isValid(self):  # the view closed meanwhile
            return
        added = c.session.put_first(found.items)
        if not added:
            c.message.emit(f"No unlabeled sample matches {found.query!r}")
        else:
            plural = "s" if added != 1 else ""
            c.message.emit(f"{added} sample{plural} matching {found.query!r} come next")
            if c.session.current is None:
                c.itemShown.emit(c.session.advance())
        self.found.emit(found)
        self.done.emit()

    def _failed(self, exc: BaseException) -> None:
        if not shiboken6.isValid(self):
            return
        if isinstance(exc, LabelerError):  # the query itself (empty, not a regex, too slow)
            self.controller.message.emit(f"Find samples: {exc}")
        else:
            message, details = describe(exc)
            self.controller.failure.emit(f"Find samples: {message}", details)
        self.done.emit()
