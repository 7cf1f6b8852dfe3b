"""Label Studio tasks: written (streamed) by the exporter; read back by
:mod:`labeler.data.label_studio` (JSON, JSON_MIN and CSV exports of Label Studio).

A task looks like::

    {"data": {"id": "s-1", "text": "..."},
     "annotations": [{"result": [{"from_name": "label", "to_name": "text",
                                  "type": "choices", "value": {"choices": ["pos"]}}],
                      "lead_time": 1.2}],
     "meta": {"annotator": "alice",
              "labeler": {"annotator": "alice", "labels": ["pos"], "time": "2026-..."}}}

``data`` holds the sample and its id: ``text``; ``image`` as a Label Studio local-files URL
(``/data/local-files/?d=<path under the document root>``, see :func:`image_url`); tabular
fields as the object ``item`` that Label Studio's ``<Table>`` tag shows (and ``embedding``
when the sample has one). A labeled sample carries one annotation whose ``choices`` are its
label(s); ``meta.labeler`` records who gave it and when, so that reading the task back (from
Label Studio, where the importing user becomes the annotation's author) returns it to that
annotator. :func:`label_config` is the labeling config that shows these tasks.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from xml.sax.saxutils import quoteattr

from labeler.data.label_studio import LOCAL_FILES_PREFIX, read_tasks
from labeler.export.errors import ExportError
from labeler.store.records import ProjectInfo

__all__ = ["FROM_NAME", "TaskWriter", "image_url", "label_config", "read_tasks", "to_task"]

FROM_NAME = "label"
TO_NAMES = {"text": "text", "image": "image", "tabular": "data"}


def image_url(path: str, document_root: str | Path) -> str:
    """``/data/local-files/?d=<path relative to document_root>``: how Label Studio serves a
    local file (``LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true`` and
    ``LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=<document_root>``)."""
    root = Path(document_root)
    try:
        rel = Path(path).relative_to(root)
    except ValueError:
        raise ExportError(
            f"image {path!r} is not under the Label Studio document root {str(root)!r}; "
            "choose a document root that holds every image"
        ) from None
    return f"{LOCAL_FILES_PREFIX}?d={quote(rel.as_posix(), safe='/')}"


def label_config(info: ProjectInfo) -> str:
    """The Label Studio labeling config (XML) for the project's exported tasks."""
    to_name = TO_NAMES[info.modality]
    if info.modality == "text":
        shown = '<Text name="text" value="$text"/>'
    elif info.modality == "image":
        shown = '<Image name="image" value="$image"/>'
    else:
        shown = '<Table name="data" value="$item"/>'
    choice = "multiple" if info.multi_label else "single-radio"
    options = "".join(f"\n    <Choice value={quoteattr(name)}/>" for name in info.label_names)
    return (
        f"<View>\n  {shown}\n"
        f'  <Choices name="{FROM_NAME}" toName="{to_name}" choice="{choice}" showInline="true">'
        f"{options}\n  </Choices>\n</View>\n"
    )


def to_task(
    record: dict[str, Any],
    modality: str,
    annotator: str | None,
    *,
    time: datetime | None = None,
    time_spent_ms: int | None = None,
    document_root: str | Path = "/",
) -> dict[str, Any]:
    """A Label Studio task for one export record (see :mod:`labeler.export.rows`)."""
    fields = {k: v for k, v in record.items() if k != "label" and v is not None}
    if modality == "image" and "image" in fields:
        fields["image"] = image_url(str(fields["image"]), document_root)
    if modality == "tabular":
        data: dict[str, Any] = {"id": fields.pop("id")}
        if "embedding" in fields:
            data["embedding"] = fields.pop("embedding")
        data["item"] = fields
    else:
        data = fields
    label = record.get("label")
    choices = label if isinstance(label, list) else [label] if label is not None else []
    task: dict[str, Any] = {"data": data}
    if choices:
        annotation: dict[str, Any] = {
            "result": [
                {
                    "from_name": FROM_NAME,
                    "to_name": TO_NAMES.get(modality, "data"),
                    "type": "choices",
                    "value": {"choices": choices},
                }
            ]
        }
        if time_spent_ms is not None:
            annotation["lead_time"] = time_spent_ms / 1000
        task["annotations"] = [annotation]
    if annotator:
        task["meta"] = {"annotator": annotator}
        if choices:
            ours: dict[str, Any] = {"annotator": annotator, "labels": choices}
            if time is not None:
                ours["time"] = time.isoformat(timespec="microseconds") + "Z"
            if time_spent_ms is not None:
                ours["time_spent_ms"] = time_spent_ms
            task["meta"]["labeler"] = ours
    return task


class TaskWriter:
    """Streams a JSON array of tasks: ``[`` first, tasks comma-separated, ``]`` on close."""

    def __init__(self, path: Path, modality: str, document_root: str | Path = "/") -> None:
        self._fh = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed in close()
        self._modality = modality
        self._root = document_root
        self._first = True
        self._fh.write("[")

    def write_tasks(
        self,
        records: Sequence[dict[str, Any]],
        annotators: Sequence[str | None],
        given: Sequence[tuple[datetime | None, int | None]] | None = None,
    ) -> None:
        """``given``: per record, when its label was given and how long it took (ms)."""
        parts = []
        when = given if given is not None else [(None, None)] * len(records)
        for rec, who, (time, spent) in zip(records, annotators, when, strict=True):
            sep = "\n" if self._first else ",\n"
            self._first = False
            task = to_task(
                rec,
                self._modality,
                who,
                time=time,
                time_spent_ms=spent,
                document_root=self._root,
            )
            parts.append(sep + json.dumps(task, ensure_ascii=False))
        self._fh.write("".join(parts))
        self._fh.flush()

    def close(self) -> None:
        self._fh.write("\n]\n")
        self._fh.close()
