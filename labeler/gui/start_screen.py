"""The start screen: recent projects, open a folder, new project, demo projects."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

DEMOS = (
    ("digits", "Handwritten digits", "8×8 images, labels 0–9"),
    ("text", "Which library is this docstring from?", "text, 4 labels"),
    ("tabular", "Wine cultivars", "13 measurements per row, 3 labels"),
)


class StartScreen(QWidget):
    openRequested = Signal(str)  # a project folder
    browseRequested = Signal()
    newProjectRequested = Signal()
    demoRequested = Signal(str)  # demo kind

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("startScreen")
        title = QLabel("Labeler")
        title.setObjectName("startTitle")
        subtitle = QLabel("Label data with a model that learns as you go.")
        subtitle.setObjectName("startSubtitle")

        self.open_button = QPushButton("Open project folder…   Ctrl+O")
        self.new_button = QPushButton("New project from a file or folder…   Ctrl+N")
        self.open_button.clicked.connect(self.browseRequested)
        self.new_button.clicked.connect(self.newProjectRequested)
        actions = QGroupBox("Start")
        a = QVBoxLayout(actions)
        for b in (self.open_button, self.new_button):
            b.setMinimumHeight(40)
            a.addWidget(b)

        demos = QGroupBox("Try a demo project")
        d = QVBoxLayout(demos)
        self.demo_buttons: dict[str, QPushButton] = {}
        for kind, name, what in DEMOS:
            b = QPushButton(f"{name}  ({what})")
            b.setMinimumHeight(36)
            b.clicked.connect(lambda _c=False, k=kind: self.demoRequested.emit(k))
            self.demo_buttons[kind] = b
            d.addWidget(b)

        recent = QGroupBox("Recent projects")
        r = QVBoxLayout(recent)
        self.recent_list = QListWidget()
        self.recent_list.setObjectName("recentProjects")
        self.recent_list.itemActivated.connect(
            lambda it: self.openRequested.emit(it.data(Qt.ItemDataRole.UserRole))
        )
        self.recent_empty = QLabel("No recent projects yet.")
        r.addWidget(self.recent_list)
        r.addWidget(self.recent_empty)

        left = QVBoxLayout()
        left.addWidget(actions)
        left.addSpacing(8)
        left.addWidget(demos)
        left.addStretch(1)
        columns = QHBoxLayout()
        columns.addLayout(left, 2)
        columns.addWidget(recent, 3)

        root = QVBoxLayout(self)
        root.setContentsMargins(48, 36, 48, 36)
        root.setSpacing(12)
        root.addWidget(title)
        root.addWidget(subtitle)
        root.addSpacing(12)
        root.addLayout(columns, 1)

    def set_recent(self, projects: Sequence[str]) -> None:
        self.recent_list.clear()
        for path in projects:
            p = Path(path)
            item = QListWidgetItem(f"{p.name}\n{p.parent}" if "://" not in path else path)
            item.setData(Qt.ItemDataRole.UserRole, path)
            item.setToolTip(path)
            self.recent_list.addItem(item)
        self.recent_list.setVisible(bool(projects))
        self.recent_empty.setVisible(not projects)
