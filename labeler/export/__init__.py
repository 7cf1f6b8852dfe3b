"""Dataset export (Qt-free): immutable, versioned snapshots in CSV, Parquet, JSONL and Label
Studio task JSON; see :mod:`labeler.export.snapshot`.

The names below are loaded on first use, so that importing a light submodule (the label
policies, the format table the command line offers) does not load pandas and pyarrow."""

from __future__ import annotations

import importlib
from typing import Any

from labeler.export.errors import ExportError
from labeler.export.formats import FORMATS

_LAZY = {
    "ExportResult": "labeler.export.snapshot",
    "default_export_path": "labeler.export.snapshot",
    "export_dataset": "labeler.export.snapshot",
    "verify_snapshot": "labeler.export.snapshot",
}

__all__ = [
    "FORMATS",
    "ExportError",
    "ExportResult",
    "default_export_path",
    "export_dataset",
    "verify_snapshot",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'labeler.export' has no attribute {name!r}")
