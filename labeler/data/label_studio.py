"""Read Label Studio exports: JSON (tasks with every annotation), JSON_MIN and CSV.

Every annotation that is not cancelled and holds choices becomes its own label event, with
its annotator and its time (the importer appends them oldest first, so per annotator the
newest wins, and the newest of all is the sample's current label). The frame has the columns
``id``, the task's data fields, ``label`` (the newest annotation's choices) and
:data:`ANNOTATIONS` (the list of :class:`Annotation` of the row, read by the importer).

Who: ``completed_by`` as an e-mail, a user object (its ``email``) or a bare user id
(``label-studio-user-<id>``: Label Studio's plain export gives only ids; its snapshot
export with ``annotations__completed_by.only_id = false`` gives e-mails, and so do JSON_MIN
and CSV made from it). An annotation changed in Label Studio by another user
(``updated_by``) is that user's. The annotation a Labeler export put in the task (marked by
``meta.labeler``: annotator, labels and time) comes back as that annotator's, at that time,
as long as nobody changed its choices in Label Studio.

Images: ``/data/local-files/?d=<path>`` URLs (Label Studio's local-files serving) map back to
``<document root>/<path>``; the document root is the one the export used (see
:mod:`labeler.export.label_studio`).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pandas as pd

from labeler.errors import DataImportError

ANNOTATIONS = "__label_studio_annotations__"
LOCAL_FILES_PREFIX = "/data/local-files/"
# columns Label Studio's JSON_MIN and CSV exports add to each row (not data fields)
MIN_COLUMNS = ("annotator", "annotation_id", "created_at", "updated_at", "lead_time")
CSV_MARKERS = {"annotation_id", "annotator", "created_at", "updated_at"}
DEFAULT_ANNOTATOR = "label-studio"


@dataclass(frozen=True)
class Annotation:
    """One Label Studio annotation as a label event."""

    annotator: str
    labels: tuple[str, ...]
    time: datetime | None  # naive UTC, as the store keeps times
    time_spent_ms: int | None = None


def is_label_studio_csv(path: Path) -> bool:
    """Whether a CSV file is a Label Studio CSV export (by its header)."""
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            header = next(csv.reader(fh), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return False
    return set(header) >= CSV_MARKERS


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time (``Z`` or an offset) as naive UTC; None when missing or unreadable."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is not None:
        stamp = stamp.astimezone(UTC).replace(tzinfo=None)
    return stamp


def user_name(user: Any) -> str | None:
    """An annotator name from ``completed_by``/``updated_by``/``annotator`` values."""
    if user is None or user == "" or (isinstance(user, float) and pd.isna(user)):
        return None
    if isinstance(user, dict):
        email = user.get("email")
        if isinstance(email, str) and email.strip():
            return email.strip()
        return user_name(user.get("id"))
    if isinstance(user, bool):
        return None
    if isinstance(user, int | float):
        return f"label-studio-user-{int(user)}"
    text = str(user).strip()
    if text.isdigit():
        return f"label-studio-user-{text}"
    return text or None


def _user_key(user: Any) -> str | None:
    """A user's id (or e-mail) for telling whether two user fields name the same user."""
    if isinstance(user, dict):
        user = user.get("id", user.get("email"))
    return None if user is None else str(user)


def local_file_path(value: Any, document_root: str | Path) -> Any:
    """``/data/local-files/?d=a/b.png`` (any host) -> ``<document_root>/a/b.png``; other
    values unchanged."""
    if not isinstance(value, str) or LOCAL_FILES_PREFIX not in value:
        return value
    parsed = urlparse(value)
    if not parsed.path.startswith(LOCAL_FILES_PREFIX.rstrip("/")):
        return value
    rel = (parse_qs(parsed.query).get("d") or [""])[0]
    if not rel:
        return value
    return str(Path(document_root) / rel.lstrip("/"))


def _choices(result: Any) -> tuple[str, ...]:
    found: list[str] = []
    for item in result or []:
        if isinstance(item, dict) and item.get("type") == "choices":
            found.extend(str(c) for c in (item.get("value") or {}).get("choices") or [])
    return tuple(found)


def _lead_ms(value: Any) -> int | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(seconds) or seconds < 0 else int(round(seconds * 1000))


def _task_annotations(task: dict[str, Any], where: str, row: int) -> list[Annotation]:
    anns = task.get("annotations") or task.get("completions") or []
    if not isinstance(anns, list):
        raise DataImportError("'annotations' is not a list", file=where, row=row)
    meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
    ours = meta.get("labeler") if isinstance(meta.get("labeler"), dict) else {}
    ours_labels = tuple(str(x) for x in ours.get("labels") or [])
    ours_taken = False
    out: list[Annotation] = []
    live = [a for a in anns if isinstance(a, dict) and not a.get("was_cancelled")]
    for ann in sorted(live, key=lambda a: a.get("id") or 0):
        labels = _choices(ann.get("result"))
        if not labels:
            continue
        if (
            ours
            and not ours_taken
            and labels == ours_labels
            and ann.get("updated_by") in (None, "")
        ):
            ours_taken = True  # the annotation our export wrote, as Label Studio kept it
            who = str(ours.get("annotator") or meta.get("annotator") or DEFAULT_ANNOTATOR)
            out.append(
                Annotation(who, labels, parse_time(ours.get("time")), ours.get("time_spent_ms"))
            )
            continue
        editor = user_name(ann.get("updated_by"))
        author = user_name(ann.get("completed_by"))
        changed = editor is not None and _user_key(ann.get("updated_by")) != _user_key(
            ann.get("completed_by")
        )
        who = (editor if changed else author) or str(meta.get("annotator") or DEFAULT_ANNOTATOR)
        when = parse_time(ann.get("updated_at") if changed else ann.get("created_at"))
        out.append(Annotation(who, labels, when, _lead_ms(ann.get("lead_time"))))
    return out


def _newest(anns: list[Annotation]) -> tuple[str, ...] | None:
    if not anns:
        return None
    floor = datetime.min
    return max(enumerate(anns), key=lambda p: (p[1].time or floor, p[0]))[1].labels


def _frame(rows: list[dict[str, Any]], anns: list[list[Annotation]]) -> pd.DataFrame:
    labels = [_newest(a) for a in anns]
    multi = any(lab is not None and len(lab) > 1 for lab in labels)
    frame = pd.DataFrame(rows)
    if "id" not in frame.columns:
        frame["id"] = pd.Series(dtype=str)
    frame["label"] = pd.Series(
        [None if lab is None else list(lab) if multi else lab[0] for lab in labels], dtype=object
    )
    frame[ANNOTATIONS] = pd.Series(anns, dtype=object)
    return frame


def _data_row(data: dict[str, Any], document_root: str | Path) -> dict[str, Any]:
    """A task's data as a row: tabular fields under ``item`` (the Table tag's field) are
    spread into columns; local-files URLs become paths."""
    row: dict[str, Any] = {}
    for key, value in data.items():
        if key == "item" and isinstance(value, dict):
            row.update(value)
        else:
            row[key] = local_file_path(value, document_root)
    return row


def _load_json(path: Path) -> Any:
    where = str(path)
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise DataImportError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})", file=where
        ) from None
    except UnicodeDecodeError:
        raise DataImportError("not UTF-8 text", file=where) from None


def read_tasks(path: str | Path, document_root: str | Path = "/") -> pd.DataFrame:
    """Read a Label Studio JSON or JSON_MIN export (see the module docstring)."""
    path = Path(path)
    where = str(path)
    tasks = _load_json(path)
    if isinstance(tasks, dict) and "data" in tasks:
        tasks = [tasks]
    if not isinstance(tasks, list):
        raise DataImportError("expected a list of Label Studio tasks", file=where)
    is_min = tasks and all(isinstance(t, dict) and "data" not in t for t in tasks)
    if is_min and any("annotation_id" in t for t in tasks):
        return _min_frame(tasks, where, document_root)
    rows: list[dict[str, Any]] = []
    anns: list[list[Annotation]] = []
    for i, task in enumerate(tasks):
        row_no = i + 1
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise DataImportError("a task needs a 'data' object", file=where, row=row_no)
        data = _data_row(task["data"], document_root)
        meta = task.get("meta") if isinstance(task.get("meta"), dict) else {}
        ext = data.pop("id", None) or meta.get("external_id") or task.get("id") or row_no
        rows.append({"id": str(ext), **data})
        anns.append(_task_annotations(task, where, row_no))
    return _frame(rows, anns)


def _min_choices(value: Any) -> tuple[str, ...]:
    if isinstance(value, dict):
        return tuple(str(c) for c in value.get("choices") or [])
    if isinstance(value, list):
        return tuple(str(c) for c in value)
    if value is None or value == "" or (isinstance(value, float) and pd.isna(value)):
        return ()
    return (str(value),)


def _min_frame(
    records: list[dict[str, Any]], where: str, document_root: str | Path, label_key: str = "label"
) -> pd.DataFrame:
    """JSON_MIN / CSV: one record per annotation (or per task without one), grouped by id."""
    order: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    anns: list[list[Annotation]] = []
    for i, rec in enumerate(records):
        row_no = i + 1
        if not isinstance(rec, dict):
            raise DataImportError("expected a JSON object per task", file=where, row=row_no)
        ext = rec.get("id")
        if ext is None or ext == "" or (isinstance(ext, float) and pd.isna(ext)):
            raise DataImportError("missing id", file=where, row=row_no, column="id")
        key = str(int(ext)) if isinstance(ext, float) and ext.is_integer() else str(ext)
        data = {k: v for k, v in rec.items() if k not in MIN_COLUMNS and k not in (label_key, "id")}
        if key not in order:
            order[key] = len(rows)
            rows.append({"id": key, **_data_row(data, document_root)})
            anns.append([])
        labels = _min_choices(rec.get(label_key))
        if labels:
            who = user_name(rec.get("annotator")) or DEFAULT_ANNOTATOR
            when = parse_time(rec.get("updated_at")) or parse_time(rec.get("created_at"))
            anns[order[key]].append(Annotation(who, labels, when, _lead_ms(rec.get("lead_time"))))
    return _frame(rows, anns)


def read_csv_export(path: str | Path, document_root: str | Path = "/") -> pd.DataFrame:
    """Read a Label Studio CSV export: one row per annotation; a multi-choice cell is the
    JSON ``{"choices": [...]}``; a Table's ``item`` is its JSON object."""
    path = Path(path)
    where = str(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataImportError("text is not valid UTF-8", file=where) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise DataImportError(f"malformed CSV ({exc})", file=where) from None
    records: list[dict[str, Any]] = []
    for i, rec in enumerate(frame.to_dict("records")):
        out: dict[str, Any] = {}
        for key, value in rec.items():
            if isinstance(value, str) and value[:1] in "{[":
                try:
                    parsed = json.loads(value)
                except ValueError:
                    parsed = None  # a text that merely starts with a brace
                if key in ("label", "item") or (isinstance(parsed, dict) and "choices" in parsed):
                    value = value if parsed is None else parsed
            out[str(key)] = None if value == "" else value
        if out.get("id") is None:
            raise DataImportError("missing id", file=where, row=i + 1, column="id")
        records.append(out)
    if not records:
        raise DataImportError("the file has no rows", file=where)
    return _min_frame(records, where, document_root)
