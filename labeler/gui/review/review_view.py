"""Review mode: every labeled sample in a lazy table (filters and sorting in the query), a
detail panel with the audit trail and the model's opinion, relabel and adjudicate, agreement,
suspected errors, plots, the audit queue, the run history and drift per import batch; export a dataset snapshot and
push the model to a registry.

Table queries, the detail panel and edits run on the view's own database worker
(:class:`~labeler.gui.tasks.TaskRunner`); exports and registry pushes on a second one, so they
never delay the table. The table shows its first page from a ``LIMIT`` query at once and
reads the full id list (and count) after it. Statistics are computed in a worker process
(waited for on the second runner) with staged progress in the top bar.
"""

from __future__ import annotations

import contextlib
import getpass
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from labeler.gui.dialogs import Reporter
from labeler.gui.file_dialogs import file_dialog
from labeler.gui.review.detail_panel import DetailPanel, SampleDetail
from labeler.gui.review.drift_panel import DriftPanel
from labeler.gui.review.filters import FilterBar
from labeler.gui.review.publish import Publisher
from labeler.gui.review.review_keys import KEY_HELP, ReviewKeys
from labeler.gui.review.search_box import SearchBox
from labeler.gui.review.stats_panels import (
    AgreementPanel,
    AuditPanel,
    PlotsPanel,
    RunsPanel,
    SuspectsPanel,
)
from labeler.gui.review.stats_runner import StatsRunner
from labeler.gui.review.table_loader import TableLoader
from labeler.gui.review.table_model import COLUMNS, ReviewTableModel
from labeler.gui.review.team_tabs import TeamTabs
from labeler.gui.tasks import TaskRunner
from labeler.progress import CancelToken
from labeler.review.service import ReviewSummary, save_plots
from labeler.review.stats_job import ReviewStats
from labeler.store import Store
from labeler.store.drift_records import drift_by_batch
from labeler.store.review_suspects import suspects
from labeler.store.review_table import ReviewFilter, review_ids


def _reviewer() -> str:
    try:
        return getpass.getuser() or "reviewer"
    except (KeyError, OSError):
        return "reviewer"


def attention_ids(store: Store) -> np.ndarray:
    """Ids of samples with annotator disagreement or a suspected label error."""
    return np.union1d(
        review_ids(store, ReviewFilter(disagreement=True)),
        review_ids(store, ReviewFilter(suspected=True)),
    )


def load_detail(store: Store, sample_id: int) -> SampleDetail:
    state = store.labels.state(sample_id)
    found = suspects(store, sample_id=sample_id)
    return SampleDetail(
        sample=store.samples.get(sample_id),
        events=store.labels.events(sample_id=sample_id),
        labels=state.labels,
        prediction=store.models.predictions([sample_id]).get(sample_id),
        suspect=found[0] if found else None,
    )


class ReviewView(QWidget):
    """The review screen for ``store`` (the main window embeds it)."""

    firstRowsShown = Signal(int)  # rows of the first page, on screen before the full list
    idsLoaded = Signal(int)  # rows in the table (the full list)
    statsProgress = Signal(int, int, str)  # stages done, stages in all, the stage running
    statsLoaded = Signal()
    detailShown = Signal(int)  # sample id
    labelsChanged = Signal(int)  # sample id relabeled or adjudicated
    exportFinished = Signal(object)  # ExportResult
    pushFinished = Signal(object)  # PushResult

    def __init__(
        self, store: Store, parent: QWidget | None = None, reviewer: str | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("reviewView")
        self.store = store
        self.reviewer = reviewer or _reviewer()  # the annotator name from the user settings
        self._detail: SampleDetail | None = None
        self.reporter = Reporter(self)
        self.db = TaskRunner(self, name="labeler-review")
        self.jobs = TaskRunner(self, name="labeler-review-jobs")
        self.db.failed.connect(lambda exc: self.reporter.error("Review", str(exc)))
        self.jobs.failed.connect(lambda exc: self.reporter.error("Review", str(exc)))
        self.summary: ReviewSummary | None = None
        self.stats = StatsRunner(self.jobs, self)
        self.stats.progress.connect(self.statsProgress)
        self.stats.loaded.connect(self._stats_loaded)
        self.stats.failed.connect(self._stats_failed)
        info = store.info

        self.model = ReviewTableModel(self)
        self.loader = TableLoader(store, self.model, self.db, self)
        self.loader.firstRowsShown.connect(self.firstRowsShown)
        self.loader.idsLoaded.connect(self.idsLoaded)
        # the statistics compete for the CPU: they start once the first page is on screen
        self.loader.firstRowsShown.connect(self._start_stats)
        self.filters = FilterBar(info.label_names)
        self.filters.changed.connect(self.reload_ids)
        self.search = SearchBox()
        self.search.changed.connect(self.reload_ids)
        self.loader.searchFailed.connect(self.search.show_error)
        self.table = QTableView(objectName="reviewTable")
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)  # sorts by column 0, before anyone listens
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.model.sortWanted.connect(lambda *_: self.reload_ids())
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.horizontalHeader().setStretchLastSection(True)
        for column, width in enumerate((130, 230, 95, 75, 125, 95, 80, 65)):
            self.table.setColumnWidth(column, width)
        self.table.selectionModel().currentRowChanged.connect(self._row_selected)
        self.count_label = QLabel("", objectName="reviewCount")
        self.loader.countText.connect(self.count_label.setText)
        self.keys = ReviewKeys(
            self.table,
            {lab.shortcut: lab.name for lab in info.labels},
            relabel=self.relabel_selected,
            adjudicate=self.adjudicate_selected,
            jump=self.jump,
            find=self.search.focus,
        )
        self.search.leave.connect(self.table.setFocus)
        find = QShortcut(QKeySequence("Ctrl+F"), self, self.search.focus)
        find.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        key_help = QLabel(KEY_HELP, objectName="reviewKeys")
        key_help.setWordWrap(True)
        key_help.setStyleSheet("color: palette(mid);")

        samples_tab = QWidget()
        sl = QVBoxLayout(samples_tab)
        sl.addWidget(self.search)
        sl.addWidget(self.filters)
        sl.addWidget(self.table, 1)
        sl.addWidget(self.count_label)
        sl.addWidget(key_help)

        self.agreement = AgreementPanel()
        self.suspects = SuspectsPanel()
        self.plots = PlotsPanel()
        self.audit = AuditPanel()
        self.runs = RunsPanel()
        self.tabs = QTabWidget(objectName="reviewTabs")
        self.tabs.addTab(samples_tab, "Samples")
        self.tabs.addTab(self.agreement, "Agreement")
        self.tabs.addTab(self.suspects, "Suspected errors")
        self.tabs.addTab(self.plots, "Plots")
        self.tabs.addTab(self.audit, "Audit queue")
        self.tabs.addTab(self.runs, "Run history")
        self.team = TeamTabs(store, self.jobs, self.db, self.tabs, lambda: self.reviewer, self)
        self.drift = DriftPanel()
        self.tabs.addTab(self.drift, "Drift")
        self.suspects.sampleActivated.connect(self.show_sample)
        self.audit.sampleActivated.connect(self.show_sample)
        self.plots.saveRequested.connect(self._ask_save_plots)

        self.detail = DetailPanel(info.modality, info.label_names)
        self.detail.relabelRequested.connect(self.relabel)
        self.detail.adjudicateRequested.connect(self.adjudicate)
        self.team.adjudicated.connect(self._edited)
        self.team.sampleActivated.connect(self.show_sample)
        self.team.failed.connect(self.reporter.error)
        self.labelsChanged.connect(self.team.reload)
        self.loader.firstRowsShown.connect(self.team.start)

        bar = QHBoxLayout()
        title = QLabel(f"Review · {info.name}", objectName="reviewTitle")
        title.setStyleSheet("font-size: 14pt; font-weight: 600;")
        title.setMinimumWidth(120)  # a long project name is cut, the window is not widened
        self.status = QLabel("", objectName="reviewStatus")
        self.publish = Publisher(store, self.jobs, self.reporter, self, self.status.setText)
        self.publish.exportFinished.connect(self.exportFinished)
        self.publish.pushFinished.connect(self.pushFinished)
        self.stats_progress = QProgressBar(objectName="statsProgress")
        self.stats_progress.setMinimumWidth(120)  # not a fixed 260: the review fits 1000 px
        self.stats_progress.setMaximumWidth(260)
        self.stats_progress.setVisible(False)
        self.statsProgress.connect(self._on_stats_progress)
        # Buttons never take keyboard focus, so Space or Enter meant for the table (or for the
        # annotate view's skip) cannot export or push; their keys are shown on them.
        self.export_button = QPushButton("Export dataset…  Ctrl+E", objectName="exportButton")
        self.push_button = QPushButton(
            "Export model to registry…  Ctrl+Shift+E", objectName="pushButton"
        )
        for button, handler, key in (
            (self.export_button, self.publish.ask_export, "Ctrl+E"),
            (self.push_button, self.publish.confirm_push, "Ctrl+Shift+E"),
        ):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.setAutoDefault(False)
            button.clicked.connect(handler)
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)  # not from its dialogs
            shortcut.activated.connect(handler)
        bar.addWidget(title)
        bar.addWidget(self.status, 1)
        bar.addWidget(self.stats_progress)
        bar.addWidget(self.export_button)
        bar.addWidget(self.push_button)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.tabs)
        split.addWidget(self.detail)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([1020, 480])
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        self.detail.clear()
        self.destroyed.connect(
            lambda *_, db=self.db, jobs=self.jobs, stats=self.stats: _stop(db, jobs, stats=stats)
        )

        self._stats_started = False
        self._closed = False
        self.reload_ids()  # the statistics start once the first rows are on screen

    # -- table -----------------------------------------------------------------------------

    def reload_ids(self) -> None:
        """Re-run the table query for the current filters and sort order (the first page
        shows at once, the full id list follows)."""
        sort = COLUMNS[self.model.sort_column][1] or "id"
        descending = self.model.sort_order == Qt.SortOrder.DescendingOrder
        flt = replace(self.filters.current(), search=self.search.query())
        self.loader.reload(flt, sort, descending)

    def _start_stats(self, *_: object) -> None:
        """First statistics load, after the first rows are painted (it competes for the CPU)."""
        if not self._stats_started and not self._closed:
            self._stats_started = True
            self.reload_stats()

    def _row_selected(self, current: Any, _previous: Any) -> None:
        sid = self.model.sample_id(current.row()) if current.isValid() else None
        if sid is not None:
            self.show_sample(sid)

    def show_sample(self, sample_id: int) -> None:
        self.db.submit(load_detail, self.store, sample_id, on_done=self._detail_loaded)

    def _detail_loaded(self, detail: SampleDetail) -> None:
        self._detail = detail
        self.detail.show_detail(detail)
        self.detailShown.emit(detail.sample.id)

    # -- keys ------------------------------------------------------------------------------

    def selected_id(self) -> int | None:
        index = self.table.currentIndex()
        return self.model.sample_id(index.row()) if index.isValid() else None

    def relabel_selected(self, name: str) -> None:
        """A label key: the selected sample gets that label (multi-label: toggled)."""
        sid = self.selected_id()
        if sid is None:
            self.status.setText("Select a sample first (arrow keys)")
            return
        labels = [name]
        if self.store.info.task_type == "multi-label":
            shown = self._detail
            current = set(shown.labels or ()) if shown and shown.sample.id == sid else set()
            labels = sorted(current ^ {name})
            if not labels:
                self.status.setText("A multi-label sample keeps at least one label")
                return
        self.relabel(sid, labels)

    def adjudicate_selected(self) -> None:
        """Enter: make the selected sample's current label(s) final."""
        sid, shown = self.selected_id(), self._detail
        if sid is None or shown is None or shown.sample.id != sid or not shown.labels:
            self.status.setText("Select a labeled sample first")
            return
        self.adjudicate(sid, list(shown.labels))

    def jump(self, step: int) -> None:
        """n / p: the next (previous) disagreement or suspected error in the table."""
        row = self.table.currentIndex().row() if self.table.currentIndex().isValid() else -1
        self.db.submit(attention_ids, self.store, on_done=lambda ids: self._jump_to(ids, row, step))

    def _jump_to(self, ids: np.ndarray, row: int, step: int) -> None:
        target = self.model.next_row_in(ids, row, step)
        if target is None:
            self.status.setText("No more disagreements or suspected errors that way")
            return
        self.table.setCurrentIndex(self.model.index(target, 0))
        self.table.scrollTo(self.model.index(target, 0))

    # -- edits -----------------------------------------------------------------------------

    def relabel(self, sample_id: int, labels: list[str], comment: str = "") -> None:
        """The reviewer's own label (an ordinary label event by the reviewer)."""
        self.db.submit(
            self.store.labels.add, sample_id, labels, self.reviewer, comment=comment,
            on_done=lambda _eid: self._edited(sample_id, f"relabeled as {', '.join(labels)}"),
            on_error=lambda exc: self.reporter.error("Cannot relabel", str(exc)),
        )  # fmt: skip

    def adjudicate(self, sample_id: int, labels: list[str], comment: str = "") -> None:
        """The final label, overriding every annotator (an adjudicate event)."""
        self.db.submit(
            self.store.labels.adjudicate, sample_id, labels, self.reviewer, comment,
            on_done=lambda _eid: self._edited(sample_id, f"adjudicated as {', '.join(labels)}"),
            on_error=lambda exc: self.reporter.error("Cannot adjudicate", str(exc)),
        )  # fmt: skip

    def _edited(self, sample_id: int, what: str) -> None:
        self.status.setText(f"Sample {what}")
        self.model.refresh_rows()
        self.show_sample(sample_id)
        self.labelsChanged.emit(sample_id)

    # -- statistics ------------------------------------------------------------------------

    def reload_stats(self) -> None:
        """Compute the statistics in a worker process; progress shows in the top bar."""
        if not self._closed:
            self.stats.start(self.store.location)

    def _stats_failed(self, exc: BaseException) -> None:
        self.stats_progress.setVisible(False)
        if not self._closed:
            self.reporter.error("Review statistics", str(exc))

    @Slot(int, int, str)
    def _on_stats_progress(self, done: int, total: int, stage: str) -> None:
        bar = self.stats_progress
        bar.setVisible(done < total)
        bar.setMaximum(total)
        bar.setValue(done)
        bar.setFormat(f"Statistics: {stage} ({done}/{total})")

    def _stats_loaded(self, stats: ReviewStats) -> None:
        summary = stats.summary
        self.summary = summary
        self.stats_progress.setVisible(False)
        self.agreement.show_summary(summary)
        note = str(summary.suspects.attrs.get("note", ""))
        self.suspects.show_suspects(stats.suspects, summary.evaluated, note)
        self.plots.show_pngs(stats.pngs)
        self.audit.show_rows(stats.audit)
        self.runs.show_summary(summary)
        self.db.submit(drift_by_batch, self.store, on_done=self.drift.show_records)
        self.filters.set_annotators(stats.annotators)
        self.model.refresh_rows()  # suspect scores may have changed
        self.statsLoaded.emit()

    def save_plots(self, folder: str | Path, prefix: str = "review-") -> list[Path]:
        if self.summary is None:
            return []
        paths = save_plots(self.summary, folder, prefix)
        self.status.setText(f"Saved {len(paths)} plots to {folder}")
        return paths

    def _ask_save_plots(self) -> None:
        file_dialog(
            self,
            "Save plots to folder",
            self.save_plots,
            start=self.store.location.folder.parent,
            mode="folder",
        )

    # -- export and registry (see labeler.gui.review.publish) ---------------------------------

    def export_dataset(self, fmt: str, path: str | Path, policy: str = "latest") -> CancelToken:
        return self.publish.export_dataset(fmt, path, policy)

    def push_model(self, registry_uri: str | None = None, force: bool = False) -> None:
        self.publish.push_model(registry_uri, force)

    @property
    def push_confirmation(self) -> QMessageBox | None:
        return self.publish.push_confirmation

    def shutdown(self) -> None:
        """Stop the workers (a running statistics job stops at its next stage; queued store
        calls finish); no new work starts."""
        self._closed = True
        _stop(self.db, self.jobs, stats=self.stats)


def _stop(*runners: TaskRunner, stats: StatsRunner | None = None) -> None:
    with contextlib.suppress(RuntimeError):  # the C++ side is gone already
        if stats is not None:
            stats.shutdown()
    for runner in runners:
        with contextlib.suppress(RuntimeError):
            runner.shutdown(wait=True)
