"""Plain records the store hands out (immutable, Qt-free, safe to pass between threads)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np

MODALITIES = ("text", "image", "tabular")
TASK_TYPES = ("single-label", "multi-label", "binary")


@dataclass(frozen=True)
class LabelDef:
    name: str
    shortcut: str | None
    position: int


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    name: str
    modality: str
    task_type: str
    labels: tuple[LabelDef, ...]
    settings: dict[str, Any] = field(default_factory=dict)
    created_at: datetime | None = None

    @property
    def label_names(self) -> list[str]:
        return [lab.name for lab in self.labels]

    @property
    def multi_label(self) -> bool:
        return self.task_type == "multi-label"


@dataclass(frozen=True)
class Sample:
    id: int
    external_id: str
    content_hash: str
    text: str | None
    file_ref: str | None
    data: dict[str, Any] | None
    vector: np.ndarray | None
    import_batch_id: int


@dataclass(frozen=True)
class LabelEvent:
    id: int
    sample_id: int
    annotator: str
    action: str
    labels: tuple[str, ...] | None
    target_event_id: int | None
    comment: str | None
    created_at: datetime
    time_spent_ms: int | None
    model_version: int | None
    strategy: str | None
    score: float | None
    session: str | None


@dataclass(frozen=True)
class Provenance:
    """Why a sample was put in front of the annotator (written with its label event)."""

    model_version: int | None = None
    strategy: str | None = None
    score: float | None = None


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def loads_labels(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(json.loads(text))


def vector_to_bytes(vec: np.ndarray) -> bytes:
    return np.asarray(vec, dtype="<f4").tobytes()


def bytes_to_vector(raw: bytes | None) -> np.ndarray | None:
    return None if raw is None else np.frombuffer(raw, dtype="<f4")
