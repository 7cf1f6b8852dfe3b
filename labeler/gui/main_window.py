"""The main window: a stack of screens (start, annotate, review), menus and the status bar.

Screens are separate widgets; this module only switches between them and wires menus to
them. Window geometry lives in ``QSettings`` (with a layout version key); everything else
the user chooses lives in :mod:`labeler.app_settings`.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QStackedWidget,
    QWidget,
)

from labeler.app_settings import SettingsFile, UserSettings, config_dir, data_dir
from labeler.gui.annotate_view import AnnotateView
from labeler.gui.annotation_ops import ProjectOverview
from labeler.gui.controller import AnnotationController
from labeler.gui.dialogs import Reporter
from labeler.gui.file_dialogs import DATA_FILES, file_dialog
from labeler.gui.leave_guard import confirm_leave
from labeler.gui.long_task import LongTask
from labeler.gui.project_rescue import ProjectRescue
from labeler.gui.start_screen import StartScreen
from labeler.gui.tasks import TaskRunner
from labeler.gui.theme import apply_theme
from labeler.gui.warmup import Warmup
from labeler.store.database import INTERACTIVE_TIMEOUTS, ServerTimeouts
from labeler.store.location import existing_db_file

log = logging.getLogger(__name__)

LAYOUT_VERSION = 1  # bump when the window's dock/toolbar layout changes incompatibly


def window_settings() -> QSettings:
    return QSettings(str(config_dir() / "window.ini"), QSettings.Format.IniFormat)


STATUS_MS = 10_000


class MainWindow(QMainWindow):
    projectShown = Signal(object)  # ProjectOverview, once the annotate view is up
    firstItemShown = Signal()  # the first sample of the opened project is on screen

    def __init__(
        self,
        settings_file: SettingsFile | None = None,
        *,
        retrainer_factory: Any = None,
        timeouts: ServerTimeouts = INTERACTIVE_TIMEOUTS,
    ) -> None:
        super().__init__()
        self._timeouts = timeouts  # a team project's server: how long until it counts as away
        self._closing = False  # the user chose to close despite an unsaved label
        self.leave_box: QMessageBox | None = None  # asking whether to lose an unsaved label
        self.setWindowTitle("Labeler")
        self.settings_file = settings_file or SettingsFile()
        self.user = self.settings_file.load()
        self._retrainer_factory = retrainer_factory
        self.reporter = Reporter(self)
        self.jobs = TaskRunner(self, name="labeler-jobs")  # demo creation, imports
        self.rescue = ProjectRescue(self, self)  # locks lost or a damaged database
        self._warmup: Warmup | None = None
        self.controller: AnnotationController | None = None
        self.annotate_view: AnnotateView | None = None
        self.review_view: QWidget | None = None

        self.stack = QStackedWidget()
        self.start = StartScreen()
        self.start.set_recent(self.user.recent_projects)
        self.start.openRequested.connect(self.open_project)
        self.start.browseRequested.connect(self.browse_project)
        self.start.newProjectRequested.connect(self.new_project)
        self.start.demoRequested.connect(self.open_demo)
        self.stack.addWidget(self.start)
        self.setCentralWidget(self.stack)

        self.status_text = QLabel()
        self.status_ms = STATUS_MS  # a message clears itself after this long
        self._status_timer = QTimer(self, singleShot=True)
        self._status_timer.timeout.connect(self.status_text.clear)
        self.failure_button = QPushButton()
        self.failure_button.setObjectName("failureButton")
        self.failure_button.setVisible(False)
        self.failure_button.clicked.connect(self.show_failure_details)
        self._failure_details = ""
        self.statusBar().addWidget(self.status_text, 1)
        self.statusBar().addPermanentWidget(self.failure_button)

        self._build_menus()
        apply_theme(QApplication.instance(), self.user.theme)  # type: ignore[arg-type]
        self._restore_geometry()

    # -- menus ---------------------------------------------------------------------------

    def _action(self, menu: Any, text: str, slot: Any, shortcut: str | None = None) -> QAction:
        act = QAction(text, self)
        if shortcut:
            act.setShortcut(QKeySequence(shortcut))
        act.triggered.connect(slot)
        menu.addAction(act)
        return act

    def _build_menus(self) -> None:
        bar = self.menuBar()
        f = bar.addMenu("&File")
        self._action(f, "&Open project…", self.browse_project, "Ctrl+O")
        self._action(f, "&New project…", self.new_project, "Ctrl+N")
        self._action(f, "&Import data…", self.choose_import, "Ctrl+I")
        self._action(f, "&Close project", lambda: self.leave_project(self.close_project))
        f.addSeparator()
        self._action(f, "&Settings…", self.open_settings, "Ctrl+,")
        f.addSeparator()
        self._action(f, "&Quit", self.close, "Ctrl+Q")
        # Label commands are keys of the annotate view; the menu shows them for discovery.
        e = bar.addMenu("&Label")
        for text, name in (
            ("Skip\tSpace", "skip"),
            ("Flag…\tCtrl+F", "flag"),
            ("Undo\tCtrl+Z", "undo"),
            ("Redo\tCtrl+Shift+Z", "redo"),
            ("Retrain now\tCtrl+R", "retrain"),
        ):
            self._action(e, text, lambda _c=False, n=name: self._command(n))
        v = bar.addMenu("&View")
        self._action(v, "&Annotate", self.show_annotate, "Ctrl+1")
        self.review_action = self._action(v, "&Review", self.show_review, "Ctrl+2")
        self._action(v, "&Start screen", self.show_start)

    def _command(self, name: str) -> None:
        if self.annotate_view is not None and self.stack.currentWidget() is self.annotate_view:
            self.annotate_view.command(name)

    # -- projects ------------------------------------------------------------------------

    def browse_project(self) -> None:
        file_dialog(self, "Open a project folder", self.open_project, mode="folder")

    def leave_project(self, then: Any) -> None:
        """Run ``then`` (which closes the open project), after asking if that would lose a
        label the store has not saved."""
        if self.leave_box is not None:  # already asking: one question at a time
            self.leave_box.raise_()
            return
        unsaved = self.controller.unsaved_label() if self.controller is not None else None
        box = confirm_leave(self, unsaved, then)
        if box is not None:
            self.leave_box = box
            box.finished.connect(self._left)

    def _left(self) -> None:
        self.leave_box = None

    def open_project(self, project: str) -> None:
        """Open a project folder (or URL#name) and show its annotate view."""
        self.leave_project(lambda: self._open_project(project))

    def _open_project(self, project: str) -> None:
        self.close_project()
        self.show_status(f"Opening {project}…")
        c = AnnotationController(
            self.user.annotator,
            self,
            retrainer_factory=self._retrainer_factory,
            timeouts=self._timeouts,
        )
        self.controller = c
        c.projectOpened.connect(lambda ov: self._project_opened(project, ov))
        c.openFailed.connect(lambda msg, details: self._open_failed(project, msg, details))
        c.message.connect(self.show_status)
        c.refused.connect(self.show_status)
        c.failure.connect(self.show_failure)
        c.failureResolved.connect(self.resolve_failure)
        # the server answers again: a "not saved" / "reconnecting" line is out of date
        c.connectionChanged.connect(lambda text: text or self.failure_button.setVisible(False))
        c.storeHazard.connect(lambda message: self.rescue.hazard(project, message))
        c.storeDamaged.connect(lambda db, what: self.rescue.damaged(project, db, what))
        c.open(project)

    def _project_opened(self, project: str, overview: ProjectOverview) -> None:
        assert self.controller is not None
        view = AnnotateView(self.controller, overview, self.user.font_size)
        self.annotate_view = view
        self.stack.addWidget(view)
        self.stack.setCurrentWidget(view)
        view.setFocus()
        self.setWindowTitle(f"{overview.info.name} — Labeler")
        self.remember(str(Path(project).resolve()) if "://" not in project else project)
        self.show_status(f"Opened {overview.info.name}: {overview.counts.total} samples")
        view.shownItem.connect(self._first_item)
        if self._warmup is None:  # once per window: later opens find the modules imported
            self._warmup = Warmup(self.jobs, self._last_activity, parent=self)
            self._warmup.start()
        self.projectShown.emit(overview)

    def _last_activity(self) -> float:
        """When the annotator last moved on to a sample (now, while nothing is open)."""
        view = self.annotate_view
        session = view.controller.session if view is not None else None
        return session.shown_at if session is not None else time.monotonic()

    def _first_item(self, item: Any) -> None:
        if item is not None and self.annotate_view is not None:
            self.annotate_view.shownItem.disconnect(self._first_item)
            self.firstItemShown.emit()

    def _open_failed(self, project: str, message: str, details: str) -> None:
        self.close_project()
        self.show_status("")
        self.reporter.error("Cannot open project", f"{project}\n\n{message}", details)

    def close_project(self) -> None:
        """Close the views (the review view first stops its workers), then the project."""
        for attr in ("review_view", "annotate_view"):
            view = getattr(self, attr)
            if view is not None:
                shutdown = getattr(view, "shutdown", None)
                if callable(shutdown):
                    shutdown()  # it shares the project's store: stop before the store closes
                self.stack.removeWidget(view)
                view.deleteLater()
                setattr(self, attr, None)
        if self.controller is not None:
            self.controller.close()
            self.controller.deleteLater()
            self.controller = None
        self.stack.setCurrentWidget(self.start)
        self.setWindowTitle("Labeler")
        self.show_status("")  # no message of the closed project survives onto the start screen

    def remember(self, project: str) -> None:
        self.update_user(self.user.with_recent(project))

    def update_user(self, user: UserSettings) -> None:
        self.user = user.validated()
        self.settings_file.save(self.user)
        self.start.set_recent(self.user.recent_projects)

    def open_demo(self, kind: str) -> None:
        folder = data_dir() / "demos" / kind
        if existing_db_file(folder) is not None:
            self.open_project(str(folder))
            return
        self.show_status(f"Creating the {kind} demo project…")
        from labeler.data.demo import create_demo

        def make() -> str:
            create_demo(kind, folder).close()
            return str(folder)

        self.jobs.submit(
            make,
            on_done=self.open_project,
            on_error=lambda exc: self.reporter.error("Cannot create the demo", str(exc)),
        )

    def new_project(self) -> None:
        from labeler.gui.wizard import NewProjectWizard

        wizard = NewProjectWizard(self, self.reporter, self.jobs)
        wizard.projectCreated.connect(self.open_project)
        wizard.open()
        self.wizard = wizard

    def choose_import(self) -> None:
        if self.controller is None or self.controller.store is None:
            self.show_status("Open a project to import data into it")
            return
        file_dialog(
            self,
            "Import data into this project",
            self.import_into_project,
            start=self.controller.store.location.folder.parent,
            name_filters=[DATA_FILES],
        )

    def import_into_project(self, path: str) -> LongTask | None:
        """Import a file into the open project (columns by their usual names), on the
        project's database worker; a bad file gets a dialog and changes nothing."""
        c = self.controller
        if c is None or c.store is None:
            return None
        from labeler.data.importer import import_file

        task = LongTask(c.runner, self, "Import", f"Importing {Path(path).name}")
        task.succeeded.connect(self._imported)
        task.failed.connect(
            lambda msg, details: self.reporter.error(
                "Import failed", f"{msg}\n\nThe project was not changed.", details
            )
        )
        task.cancelled.connect(lambda: self.show_status("Import cancelled; nothing was added"))
        self.import_task = task
        task.start(
            lambda *, progress, cancel: import_file(c.store, path, progress=progress, cancel=cancel)
        )
        return task

    def _imported(self, report: Any) -> None:
        self.show_status(
            f"Imported {report.added} samples ({report.duplicates} duplicates skipped)"
        )
        if self.controller is not None:
            self.controller.reload()

    # -- screens -------------------------------------------------------------------------

    def show_start(self) -> None:
        self.stack.setCurrentWidget(self.start)

    def show_annotate(self) -> None:
        if self.annotate_view is not None:
            self.stack.setCurrentWidget(self.annotate_view)
            self.annotate_view.setFocus()

    def show_review(self) -> None:
        if self.controller is None or self.controller.store is None:
            self.show_status("Open a project to review it")
            return
        try:
            from labeler.gui.review import ReviewView
        except ImportError:
            self.show_status("The review view is not installed")
            return
        if self.review_view is None:
            self.review_view = ReviewView(self.controller.store, self, self.user.annotator)
            self.stack.addWidget(self.review_view)
        self.stack.setCurrentWidget(self.review_view)
        self.review_view.table.setFocus()  # never a button: Space must not export or push

    def open_settings(self) -> None:
        from labeler.gui.settings_dialog import SettingsDialog

        project = (
            self.controller.overview.settings
            if self.controller and self.controller.overview
            else None
        )
        modality = (
            self.controller.overview.info.modality
            if self.controller and self.controller.overview
            else None
        )
        dialog = SettingsDialog(self.user, project, self, modality=modality)
        dialog.accepted.connect(lambda: self._apply_settings(dialog))
        dialog.open()
        self.settings_dialog = dialog

    def _apply_settings(self, dialog: Any) -> None:
        user = dialog.user_settings()
        self.update_user(user)
        apply_theme(QApplication.instance(), user.theme)  # type: ignore[arg-type]
        if self.controller is not None:
            self.controller.set_annotator(user.annotator)
            if self.review_view is not None:
                self.review_view.reviewer = user.annotator
            project = dialog.project_settings()
            overview = self.controller.overview
            if project is not None and overview is not None and project != overview.settings:
                self.controller.apply_project_settings(project)
        if self.annotate_view is not None:
            self.annotate_view.set_font_size(user.font_size)

    # -- status bar ----------------------------------------------------------------------

    def show_status(self, text: str) -> None:
        self.status_text.setText(text)
        if text:
            self._status_timer.start(self.status_ms)

    def show_failure(self, message: str, details: str) -> None:
        self.failure_button.setText(f"⚠ {message}  (details…)")
        self.failure_button.setVisible(True)
        self._failure_details = details or message

    def resolve_failure(self, message: str) -> None:
        """The failure ``message`` is over (e.g. a retrain succeeded since): hide it, unless
        the status bar shows another failure meanwhile."""
        if self.failure_button.text() == f"⚠ {message}  (details…)":
            self.failure_button.setVisible(False)

    def show_failure_details(self) -> None:
        self.reporter.error(
            "Details", self.failure_button.text().removeprefix("⚠ "), self._failure_details
        )
        self.failure_button.setVisible(False)

    # -- geometry ------------------------------------------------------------------------

    def _restore_geometry(self) -> None:
        qs = window_settings()
        if qs.value("layout_version", 0, type=int) == LAYOUT_VERSION:
            geometry = qs.value("geometry")
            state = qs.value("state")
            if isinstance(geometry, QByteArray):
                self.restoreGeometry(geometry)
            if isinstance(state, QByteArray):
                self.restoreState(state, LAYOUT_VERSION)
        else:
            self.resize(1280, 800)

    def _close_anyway(self) -> None:
        self._closing = True
        self.close()

    def save_geometry(self) -> None:
        qs = window_settings()
        qs.setValue("layout_version", LAYOUT_VERSION)
        qs.setValue("geometry", self.saveGeometry())
        qs.setValue("state", self.saveState(LAYOUT_VERSION))
        qs.sync()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt override
        unsaved = self.controller.unsaved_label() if self.controller is not None else None
        if unsaved is not None and not self._closing:
            event.ignore()  # asked first; closed again if the user chooses to lose the label
            self.leave_project(self._close_anyway)
            return
        self.save_geometry()
        self.close_project()
        self.jobs.shutdown(wait=True)
        super().closeEvent(event)
