"""A run's model file: where it is and which bytes it must hold.

A retrain records its model file relative to the project folder (``models/v3.skops``) and
the file's SHA-256 taken right after saving it (``RunRecord.artifact_sha256``). So a copied
or moved project folder finds its models, and a push or a load refuses a file whose bytes
are not the ones trained.

Runs recorded by older versions hold an absolute path and no hash. Fallback (no migration
rewrites them): the absolute path is used if the file is there, else the file of the same
name in the project's ``models/`` folder (the folder was moved or copied); the hash is the
file's as found, and :attr:`RunArtifact.recorded` says it was not recorded at training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from labeler.errors import LabelerError
from labeler.hashing import file_sha256

if TYPE_CHECKING:
    from labeler.store.models import RunRecord
    from labeler.store.project_store import Store

MODELS_DIR = "models"


class ModelFileError(LabelerError):
    """A run has no model file, or it is missing."""


@dataclass(frozen=True)
class RunArtifact:
    """A run's model file and the SHA-256 it must have."""

    path: Path
    sha256: str
    recorded: bool  # False: a run of an older Labeler, hash taken from the file as found


def artifact_path(store: Store, run: RunRecord) -> Path:
    """The run's model file in this project folder (see the module doc for older runs)."""
    if not run.artifact:
        raise ModelFileError(f"model version {run.model_version} has no model file recorded")
    recorded = Path(run.artifact)
    if not recorded.is_absolute():
        return store.artifacts_dir / recorded
    if recorded.is_file():
        return recorded
    return store.artifacts_dir / MODELS_DIR / recorded.name


def run_artifact(store: Store, run: RunRecord) -> RunArtifact:
    """The run's model file and the hash to check it against; the file must exist."""
    path = artifact_path(store, run)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file of version {run.model_version} is missing")
    if run.artifact_sha256:
        return RunArtifact(path, run.artifact_sha256, True)
    return RunArtifact(path, file_sha256(path), False)


def load_run_model(store: Store, run: RunRecord) -> Any:
    """The run's estimator, loaded safely: the file's SHA-256 must equal the one recorded at
    training, and only trusted types are loaded (:func:`labeler.registry.trust.load_trusted`)."""
    from labeler.registry.trust import load_trusted

    found = run_artifact(store, run)
    return load_trusted(found.path, found.sha256)
