"""How one sample looks: text, image or tabular row. Each view only displays; none takes the
keyboard focus, so label keys always reach the annotate view.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QMargins, QSize, Qt
from PySide6.QtGui import QAction, QFont, QImage, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from labeler.gui.image_cache import DECODED
from labeler.store.records import Sample


def _fmt_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


SHOWN_CHARS = 20_000  # a longer text is shown cut here, with "Show all" in its context menu


class TextSampleView(QPlainTextEdit):
    """Wrapped, selectable (by mouse), large text. A text longer than ``SHOWN_CHARS`` is
    shown cut (laying out megabytes of text would freeze the window); the context menu's
    "Show all" (``show_all``) shows the whole of it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.setFrameShape(QPlainTextEdit.Shape.NoFrame)
        self.setObjectName("sampleText")
        self._full: str | None = None  # the whole text while a cut one is shown
        self.show_all_action = QAction("Show all", self)
        self.show_all_action.setEnabled(False)
        self.show_all_action.triggered.connect(self.show_all)

    def show_sample(self, sample: Sample) -> None:
        text = sample.text if sample.text is not None else _fallback_text(sample)
        if len(text) > SHOWN_CHARS:
            self._full = text
            rest = len(text) - SHOWN_CHARS
            text = f"{text[:SHOWN_CHARS]}\n\n[… {rest:,} more characters: right-click, Show all]"
        else:
            self._full = None
        self.show_all_action.setEnabled(self._full is not None)
        self.setPlainText(text)
        self.verticalScrollBar().setValue(0)

    @property
    def is_cut(self) -> bool:
        return self._full is not None

    def show_all(self) -> None:
        """Show the whole of a text that was shown cut."""
        if self._full is not None:
            full, self._full = self._full, None
            self.show_all_action.setEnabled(False)
            self.setPlainText(full)

    def contextMenuEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        menu = self.createStandardContextMenu()
        menu.addSeparator()
        menu.addAction(self.show_all_action)
        menu.exec(event.globalPos())
        menu.deleteLater()

    def set_font_size(self, points: int) -> None:
        # a style sheet, because the application style sheet would override setFont()
        self.setStyleSheet(f"font-size: {points}pt;")
        self.document().setDocumentMargin(points)


class ImageSampleView(QScrollArea):
    """An image fitted to the view; zoom in/out multiplies the fitted size."""

    ZOOM_STEP = 1.25

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        self._label = QLabel()
        self._label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWidget(self._label)
        self.setWidgetResizable(False)
        self._image = QImage()
        self.zoom = 1.0  # relative to fit-to-view
        self.error: str | None = None

    def show_sample(self, sample: Sample) -> None:
        self.zoom = 1.0
        self.error = None
        image = QImage()
        if sample.file_ref:  # decoded ahead by the queue's fetch, else here
            image = DECODED.take(sample.file_ref) or QImage(sample.file_ref)
        if image.isNull():
            self.error = f"cannot display image {sample.file_ref or '(no file)'}"
            self._image = QImage()
            self._label.setPixmap(QPixmap())
            self._label.setText(self.error)
            self._label.adjustSize()
            return
        self._image = image
        self._render()

    def set_font_size(self, points: int) -> None:
        self._label.setStyleSheet(f"font-size: {points}pt;")

    def zoom_in(self) -> None:
        self.zoom = min(16.0, self.zoom * self.ZOOM_STEP)
        self._render()

    def zoom_out(self) -> None:
        self.zoom = max(0.1, self.zoom / self.ZOOM_STEP)
        self._render()

    def zoom_fit(self) -> None:
        self.zoom = 1.0
        self._render()

    def resizeEvent(self, event: Any) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        self._render()

    def displayed_size(self) -> QSize:
        return self._label.pixmap().size() if not self._image.isNull() else QSize()

    def _render(self) -> None:
        if self._image.isNull():
            return
        area = self.viewport().size()
        fit = self._image.size().scaled(
            area.shrunkBy(QMargins(8, 8, 8, 8)), Qt.AspectRatioMode.KeepAspectRatio
        )
        target = QSize(max(1, int(fit.width() * self.zoom)), max(1, int(fit.height() * self.zoom)))
        # small images (digits are 8x8) stay crisp when enlarged; photos are smoothed
        upscale = target.width() / max(1, self._image.width())
        mode = (
            Qt.TransformationMode.FastTransformation
            if upscale >= 3
            else Qt.TransformationMode.SmoothTransformation
        )
        pixmap = QPixmap.fromImage(
            self._image.scaled(target, Qt.AspectRatioMode.KeepAspectRatio, mode)
        )
        self._label.setPixmap(pixmap)
        self._label.resize(pixmap.size())


class TabularSampleView(QTableWidget):
    """Field / value form of one row."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 2, parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setHorizontalHeaderLabels(["Field", "Value"])
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setShowGrid(False)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.setWordWrap(True)

    def show_sample(self, sample: Sample) -> None:
        fields = list((sample.data or {}).items())
        if not fields and sample.vector is not None:
            fields = [("embedding", f"{len(sample.vector)} values")]
        if sample.text:
            fields.insert(0, ("text", sample.text))
        self.setRowCount(len(fields))
        bold = QFont(self.font())
        bold.setBold(True)
        for row, (name, value) in enumerate(fields):
            key = QTableWidgetItem(str(name))
            key.setFont(bold)
            self.setItem(row, 0, key)
            self.setItem(row, 1, QTableWidgetItem(_fmt_value(value)))
        self.resizeRowsToContents()
        self.scrollToTop()

    def set_font_size(self, points: int) -> None:
        self.setStyleSheet(f"font-size: {max(9, points - 2)}pt;")
        self.resizeRowsToContents()


def _fallback_text(sample: Sample) -> str:
    if sample.data:
        return "\n".join(f"{k}: {_fmt_value(v)}" for k, v in sample.data.items())
    if sample.vector is not None:
        return f"(embedding with {len(sample.vector)} values)"
    return "(empty sample)"


class SampleDisplay(QStackedWidget):
    """The modality's view plus a message page ("loading", "all labeled")."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.text_view = TextSampleView()
        self.image_view = ImageSampleView()
        self.table_view = TabularSampleView()
        self.message_view = QLabel()
        self.message_view.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message_view.setWordWrap(True)
        self.message_view.setObjectName("sampleMessage")
        for w in (self.text_view, self.image_view, self.table_view, self.message_view):
            self.addWidget(w)
        self.modality = "text"

    def view_for(self, modality: str) -> Any:
        return {"image": self.image_view, "tabular": self.table_view}.get(modality, self.text_view)

    def show_sample(self, sample: Sample) -> None:
        view = self.view_for(self.modality)
        view.show_sample(sample)
        if self.currentWidget() is not view:
            self.setCurrentWidget(view)

    def show_message(self, text: str) -> None:
        self.message_view.setText(text)
        self.setCurrentWidget(self.message_view)

    def set_font_size(self, points: int) -> None:
        for view in (self.text_view, self.image_view, self.table_view):
            view.set_font_size(points)
        self.message_view.setStyleSheet(f"font-size: {points}pt;")
