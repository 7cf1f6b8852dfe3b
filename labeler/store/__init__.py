"""Project storage (Qt-free). Open or create projects with :class:`Store`."""

from labeler.store.location import ProjectLocation, resolve
from labeler.store.project_store import Store
from labeler.store.records import LabelDef, LabelEvent, ProjectInfo, Provenance, Sample

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
