"""Parsing side of an import: column mapping, reading and validating chunks (Qt-free, no DB).

Everything here works on plain data (the project's :class:`ProjectInfo`, a path, a mapping),
so it can run in a thread or in a separate parser process.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from labeler.data.label_studio import ANNOTATIONS, Annotation
from labeler.data.payloads import Built, PayloadBuilder
from labeler.data.readers import csv_header, read_chunks
from labeler.errors import DataImportError
from labeler.progress import CancelToken
from labeler.store.records import ProjectInfo


@dataclass
class ColumnMapping:
    """Which columns of the file mean what. Unset fields get modality defaults."""

    id_column: str | None = None
    text_column: str | None = None
    image_column: str | None = None
    feature_columns: list[str] | None = None
    embedding_column: str | None = None
    label_column: str | None = None


def resolve_mapping(
    info: ProjectInfo, columns: list[str], mapping: ColumnMapping, source: str
) -> ColumnMapping:
    """Fill unset fields from the modality and check every named column exists."""
    m = ColumnMapping(**asdict(mapping))
    cols = set(columns)

    def pick(*names: str) -> str | None:
        return next((n for n in names if n in cols), None)

    if m.id_column is None:
        m.id_column = pick("id")
    if m.label_column is None:
        m.label_column = pick("label", "labels")
    if info.modality == "text" and m.text_column is None:
        m.text_column = pick("text", "content", "sentence", "document")
        if m.text_column is None:
            raise DataImportError("no text column: name it with --text-column", file=source)
    if info.modality == "image" and m.image_column is None:
        m.image_column = pick("image", "image_path", "path", "file", "filename")
        if m.image_column is None and m.embedding_column is None:
            raise DataImportError("no image column: name it with --image-column", file=source)
    if info.modality == "tabular" and m.feature_columns is None:
        used = {m.id_column, m.label_column, m.embedding_column}
        m.feature_columns = [c for c in columns if c not in used]
        if not m.feature_columns and m.embedding_column is None:
            raise DataImportError(
                "no feature columns: name them with --feature-columns", file=source
            )
    seen: set[str] = set()
    for col in columns:
        if col in seen:
            raise DataImportError("the file names this column twice", file=source, column=col)
        seen.add(col)
    named = [m.id_column, m.text_column, m.image_column, m.embedding_column, m.label_column]
    named += list(m.feature_columns or [])
    for col in named:
        if col is not None and col not in cols:
            raise DataImportError(
                f"missing column (the file has: {', '.join(map(str, columns))})",
                file=source,
                column=col,
            )
    return m


class ParseState:
    """Reads and validates chunks; fixes the column mapping from the first chunk (or header).

    Runs in a prefetch thread or a parser process, so it holds only picklable data.
    """

    def __init__(
        self,
        info: ProjectInfo,
        path: Path,
        kind: str,
        mapping: ColumnMapping,
        legacy_hashes: bool = False,
    ) -> None:
        self.info = info
        self.path = path
        self.kind = kind
        self.user_mapping = mapping
        self.mapping: ColumnMapping | None = None
        self.legacy_hashes = legacy_hashes  # see PayloadBuilder

    def _resolve(self, columns: list[str], frame: pd.DataFrame | None) -> PayloadBuilder:
        m = self.user_mapping
        if self.kind == "images" and m.image_column is None and frame is not None:
            m = _image_folder_mapping(self.info, frame, m)
        self.mapping = resolve_mapping(self.info, columns, m, str(self.path))
        base = self.path if self.kind == "images" else self.path.parent
        return PayloadBuilder(
            self.info, self.mapping, str(self.path), base_dir=base, legacy_hashes=self.legacy_hashes
        )

    def chunks(
        self, chunk_rows: int, cancel: CancelToken | None
    ) -> Iterator[tuple[int, int, Built]]:
        builder: PayloadBuilder | None = None
        string_columns: set[str] | None = None
        if self.kind in ("csv", "tsv"):
            header = csv_header(self.path, "\t" if self.kind == "tsv" else ",")
            if header:
                builder = self._resolve(header, None)
                string_columns = set(header) - set(self.mapping.feature_columns or [])  # type: ignore[union-attr]
        root = label_studio_root(self.info)
        for first_row, frame in read_chunks(self.path, chunk_rows, string_columns, root):
            if cancel is not None and cancel.cancelled:
                return
            given = None
            if ANNOTATIONS in frame.columns:  # a Label Studio export: every annotation
                given = list(frame.pop(ANNOTATIONS))
            if builder is None:
                builder = self._resolve([str(c) for c in frame.columns], frame)
            built = builder.build(frame, first_row)
            if given is not None:
                built.given = self._checked(given, first_row)
            yield first_row, len(frame), built

    def _checked(self, given: list[list[Annotation]], first_row: int) -> list[list[Annotation]]:
        """Every annotation's labels are labels of the project (and one, unless multi-label)."""
        names = set(self.info.label_names)
        for i, anns in enumerate(given):
            for ann in anns:
                bad = [x for x in ann.labels if x not in names]
                if bad:
                    raise DataImportError(
                        f"unknown label {bad[0]!r} (annotation by {ann.annotator}); the labels "
                        f"are {', '.join(self.info.label_names)}",
                        file=str(self.path),
                        row=first_row + i,
                        column="annotations",
                    )
                if not self.info.multi_label and len(ann.labels) != 1:
                    raise DataImportError(
                        f"{len(ann.labels)} labels in one annotation (by {ann.annotator}); "
                        f"a {self.info.task_type} project takes one",
                        file=str(self.path),
                        row=first_row + i,
                        column="annotations",
                    )
        return given


def label_studio_root(info: ProjectInfo) -> str:
    """The folder Label Studio's local-files URLs of this project's exports are relative to
    (project setting ``label_studio.document_root``; ``/`` when unset)."""
    value = (info.settings.get("label_studio") or {}).get("document_root")
    return str(value) if isinstance(value, str) and value else "/"


def _image_folder_mapping(
    info: ProjectInfo, frame: pd.DataFrame, mapping: ColumnMapping
) -> ColumnMapping:
    """Image folders: ``image`` is the path, ``id`` the relative path; subfolder names become
    labels when every image sits in a subfolder named after one of the project's labels."""
    m = ColumnMapping(**asdict(mapping))
    m.image_column = "image"
    m.id_column = m.id_column or "id"
    folders = frame["folder"]
    names = set(info.label_names)
    if m.label_column is None and folders.notna().all() and set(folders.unique()) <= names:
        m.label_column = "folder"
    return m
