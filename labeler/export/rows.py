"""Turn a labeled sample into a flat export record: ``id``, the payload, ``label``.

The payload columns match what the importer reads back: ``text`` (text projects), ``image``
(image projects: the file path), the tabular fields as their own columns, and ``embedding``
(a list of floats) when the sample carries a vector. ``label`` is a string for single-label
and binary projects and a list of strings for multi-label projects.
"""

from __future__ import annotations

from typing import Any

from labeler.export.errors import ExportError
from labeler.store.export_queries import LabeledRow
from labeler.store.records import ProjectInfo

RESERVED = ("id", "text", "image", "embedding", "label")


def payload_columns(info: ProjectInfo, first: list[LabeledRow]) -> list[str]:
    """Column names of the records, fixed from the first chunk (tabular fields in file order)."""
    cols = ["id"]
    if info.modality == "text":
        cols.append("text")
    elif info.modality == "image":
        cols.append("image")
    else:
        seen: dict[str, None] = {}
        for row in first:
            for key in row.data or {}:
                seen.setdefault(str(key), None)
        cols.extend(k for k in seen if k not in RESERVED)
    if any(r.vector is not None for r in first):
        cols.append("embedding")
    cols.append("label")
    return cols


def to_record(
    info: ProjectInfo, row: LabeledRow, labels: tuple[str, ...], columns: list[str]
) -> dict[str, Any]:
    rec: dict[str, Any] = {"id": row.external_id}
    if info.modality == "text":
        rec["text"] = row.text
    elif info.modality == "image":
        rec["image"] = row.file_ref
    else:
        data = row.data or {}
        extra = [k for k in data if k not in columns]
        if extra:
            raise ExportError(
                f"sample {row.external_id!r}: field {extra[0]!r} is not among the columns "
                f"of the first rows ({', '.join(columns[1:-1])})"
            )
        for col in columns[1:]:
            if col not in ("embedding", "label"):
                rec[col] = data.get(col)
    if "embedding" in columns:
        rec["embedding"] = row.vector
    rec["label"] = list(labels) if info.multi_label else (labels[0] if labels else None)
    return rec
