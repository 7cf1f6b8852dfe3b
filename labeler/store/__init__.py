"""Project storage (Qt-free). Open or create projects with :class:`Store`.

The names below load on first use (PEP 562), so that importing a light module such as
``labeler.store.records`` (e.g. in the import's parser process) does not load SQLAlchemy
and Alembic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from labeler.store.location import ProjectLocation, resolve
    from labeler.store.project_store import Store
    from labeler.store.records import LabelDef, LabelEvent, ProjectInfo, Provenance, Sample

_WHERE = {
    "LabelDef": "records",
    "LabelEvent": "records",
    "ProjectInfo": "records",
    "Provenance": "records",
    "Sample": "records",
    "ProjectLocation": "location",
    "resolve": "location",
    "Store": "project_store",
}

__all__ = [
    "LabelDef",
    "LabelEvent",
    "ProjectInfo",
    "ProjectLocation",
    "Provenance",
    "Sample",
    "Store",
    "resolve",
]


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'labeler.store' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"labeler.store.{module}"), name)
    globals()[name] = value
    return value
