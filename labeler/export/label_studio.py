"""Label Studio task JSON: written (streamed) by the exporter, read back by the importer.

A task looks like::

    {"data": {"id": "s-1", "text": "..."},
     "annotations": [{"result": [{"from_name": "label", "to_name": "text",
                                  "type": "choices", "value": {"choices": ["pos"]}}]}],
     "meta": {"annotator": "alice"}}

``data`` holds the sample (``text``, ``image`` or the tabular fields) and its id; a labeled
sample carries one annotation whose ``choices`` are its label(s). This matches Label Studio's
``<Choices name="label" toName="text|image|data">`` labeling configs.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from labeler.errors import DataImportError

FROM_NAME = "label"


def to_task(record: dict[str, Any], modality: str, annotator: str | None) -> dict[str, Any]:
    """A Label Studio task for one export record (see :mod:`labeler.export.rows`)."""
    data = {k: v for k, v in record.items() if k != "label" and v is not None}
    to_name = {"text": "text", "image": "image"}.get(modality, "data")
    label = record.get("label")
    choices = label if isinstance(label, list) else [label] if label is not None else []
    task: dict[str, Any] = {"data": data}
    if choices:
        task["annotations"] = [
            {
                "result": [
                    {
                        "from_name": FROM_NAME,
                        "to_name": to_name,
                        "type": "choices",
                        "value": {"choices": choices},
                    }
                ]
            }
        ]
    if annotator:
        task["meta"] = {"annotator": annotator}
    return task


class TaskWriter:
    """Streams a JSON array of tasks: ``[`` first, tasks comma-separated, ``]`` on close."""

    def __init__(self, path: Path, modality: str) -> None:
        self._fh = open(path, "w", encoding="utf-8", newline="\n")  # noqa: SIM115 - closed in close()
        self._modality = modality
        self._first = True
        self._fh.write("[")

    def write_tasks(
        self, records: Sequence[dict[str, Any]], annotators: Sequence[str | None]
    ) -> None:
        parts = []
        for rec, who in zip(records, annotators, strict=True):
            sep = "\n" if self._first else ",\n"
            self._first = False
            parts.append(sep + json.dumps(to_task(rec, self._modality, who), ensure_ascii=False))
        self._fh.write("".join(parts))
        self._fh.flush()

    def close(self) -> None:
        self._fh.write("\n]\n")
        self._fh.close()


def _choices(task: dict[str, Any], where: str, row: int) -> list[str] | None:
    """The label(s) of a task: its ground-truth annotation, else its latest one not cancelled."""
    anns = task.get("annotations") or task.get("completions") or []
    if not isinstance(anns, list):
        raise DataImportError("'annotations' is not a list", file=where, row=row)
    live = [a for a in anns if isinstance(a, dict) and not a.get("was_cancelled")]
    if not live:
        return None
    chosen = next((a for a in live if a.get("ground_truth")), live[-1])
    found: list[str] = []
    for item in chosen.get("result") or []:
        if isinstance(item, dict) and item.get("type") == "choices":
            choices = (item.get("value") or {}).get("choices") or []
            found.extend(str(c) for c in choices)
    return found or None


def read_tasks(path: str | Path) -> pd.DataFrame:
    """Read a Label Studio JSON export (a list of tasks) as a frame for the importer.

    Columns: ``id``, then the task's data fields (``text`` or ``image`` or tabular fields),
    then ``label``: a string, or a list of strings when any task has several choices
    (multi-label), or None for a task without an annotation.
    """
    where = str(path)
    try:
        with open(path, encoding="utf-8") as fh:
            tasks = json.load(fh)
    except json.JSONDecodeError as exc:
        raise DataImportError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", file=where
        ) from None
    except UnicodeDecodeError:
        raise DataImportError("not UTF-8 text", file=where) from None
    if isinstance(tasks, dict) and "data" in tasks:
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise DataImportError("expected a list of Label Studio tasks", file=where)
    rows: list[dict[str, Any]] = []
    labels: list[list[str] | None] = []
    for i, task in enumerate(tasks):
        row_no = i + 1
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise DataImportError("a task needs a 'data' object", file=where, row=row_no)
        data = dict(task["data"])
        meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
        ext = data.pop("id", None) or meta.get("external_id") or task.get("id") or row_no
        row = {"id": str(ext)}
        row.update(data)
        rows.append(row)
        labels.append(_choices(task, where, row_no))
    multi = any(lab is not None and len(lab) > 1 for lab in labels)
    frame = pd.DataFrame(rows)
    if "id" not in frame.columns:
        frame["id"] = pd.Series(dtype=str)
    frame["label"] = pd.Series(
        [lab if (multi or lab is None) else lab[0] for lab in labels], dtype=object
    )
    return frame
