"""What the new-project wizard decides and does, without Qt: guesses from a file's first rows,
and "create the project and import the file" as one long operation with progress and cancel.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from labeler.data.importer import ColumnMapping, ImportReport, import_file
from labeler.errors import ProjectError
from labeler.learning.featureset import DEFAULT_TEXT_FEATURES
from labeler.learning.settings import new_project_settings as project_settings
from labeler.progress import CancelToken, ProgressFn
from labeler.store import Store
from labeler.store.project_store import DEFAULT_SHORTCUTS

TEXT_NAMES = ("text", "content", "sentence", "document", "review", "body", "message")
IMAGE_NAMES = ("image", "image_path", "path", "file", "filename")
LABEL_NAMES = ("label", "labels", "class", "category", "target", "folder")
ID_NAMES = ("id", "uid", "key")
MAX_GUESSED_LABELS = 35


@dataclass(frozen=True)
class Guess:
    modality: str
    id_column: str | None
    text_column: str | None
    image_column: str | None
    label_column: str | None
    feature_columns: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)


def _pick(columns: list[str], names: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _is_text(column: pd.Series) -> bool:
    """Strings, whether pandas holds them as objects (pandas 2) or as its string dtype
    (pandas 3 reads CSV text columns as ``str``, which is not ``object``)."""
    return column.dtype == object or pd.api.types.is_string_dtype(column.dtype)


def guess(frame: pd.DataFrame, is_folder: bool) -> Guess:
    """Modality and column roles a first look at the preview suggests."""
    columns = [str(c) for c in frame.columns]
    id_col = _pick(columns, ID_NAMES)
    label_col = _pick(columns, LABEL_NAMES)
    image_col = _pick(columns, IMAGE_NAMES)
    text_col = _pick(columns, TEXT_NAMES)
    if text_col is None:  # the column with the longest strings, if they look like prose
        strings = [
            c
            for c in columns
            if c not in (id_col, label_col) and _is_text(frame[c]) and frame[c].notna().any()
        ]
        lengths = {c: frame[c].dropna().astype(str).str.len().mean() for c in strings}
        best = max(lengths, key=lengths.get, default=None)  # type: ignore[arg-type]
        if best is not None and lengths[best] >= 25:
            text_col = best
    if is_folder or (image_col is not None and text_col is None):
        modality = "image"
    elif text_col is not None:
        modality = "text"
    else:
        modality = "tabular"
    features = [c for c in columns if c not in (id_col, label_col)]
    labels: list[str] = []
    if label_col is not None:
        values = frame[label_col].dropna().astype(str)
        for v in values:
            for part in v.split(","):
                part = part.strip()
                if part and part not in labels:
                    labels.append(part)
        labels = labels[:MAX_GUESSED_LABELS]
    return Guess(modality, id_col, text_col, image_col, label_col, features, labels)


def default_keys(labels: list[str]) -> list[str]:
    return list(DEFAULT_SHORTCUTS[: len(labels)])


@dataclass(frozen=True)
class NewProject:
    """Everything needed to create a project from a file."""

    folder: Path
    source: Path
    modality: str
    task_type: str
    labels: list[str]
    shortcuts: list[str]
    mapping: ColumnMapping
    text_features: str = DEFAULT_TEXT_FEATURES  # text projects: tfidf, embedding or both


def create_and_import(
    plan: NewProject, *, progress: ProgressFn | None = None, cancel: CancelToken | None = None
) -> tuple[str, ImportReport]:
    """Create the project and import the file. On any failure (a bad row, cancel) nothing is
    left behind: the folder this call made is removed. Returns (project folder, report)."""
    folder = plan.folder.expanduser().resolve()
    if folder.exists() and any(folder.iterdir()):
        raise ProjectError(f"{folder}: folder exists and is not empty; choose a new folder")
    made_folder = not folder.exists()
    store = Store.create(
        folder,
        modality=plan.modality,
        labels=plan.labels,
        task_type=plan.task_type,
        shortcuts=plan.shortcuts,
        settings=project_settings(plan.modality, plan.text_features),
    )
    try:
        report = import_file(store, plan.source, plan.mapping, progress=progress, cancel=cancel)
    except BaseException:
        store.close()
        if made_folder:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            for child in folder.iterdir():
                if child.is_dir():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        raise
    store.close()
    return str(folder), report
