"""A run's model file: where it is and which bytes it must hold.

The file is the model pipeline (:mod:`labeler.learning.pipeline`): raw-input step and
estimator saved together with skops. In a PostgreSQL project its bytes are also kept in the
database (``model_artifact``, keyed by SHA-256): a member whose folder lacks the file (another
machine, a fresh clone of the pointer) gets it from there, checked against the hash.

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
    """The run's model file and the hash to check it against; the file must exist (in a
    PostgreSQL project, a missing file is fetched from the database first)."""
    path = artifact_path(store, run)
    if not path.is_file() and run.artifact_sha256 and store.models.versions.keeps_artifacts:
        fetch_artifact(store, run.artifact_sha256, path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file of version {run.model_version} is missing")
    if run.artifact_sha256:
        return RunArtifact(path, run.artifact_sha256, True)
    return RunArtifact(path, file_sha256(path), False)


def fetch_artifact(store: Store, sha256: str, path: Path) -> None:
    """Write the database's copy of a model file to ``path`` (atomically); nothing if the
    database holds none. The bytes are checked against ``sha256`` before they are kept."""
    import hashlib
    import os
    import uuid

    from labeler.registry.trust import ModelIntegrityError

    content = store.models.versions.artifact(sha256)
    if content is None:
        return
    actual = hashlib.sha256(content).hexdigest()
    if actual != sha256:
        raise ModelIntegrityError(
            f"model file {sha256[:12]}... in the database has SHA-256 {actual[:12]}...; "
            "refusing to use it"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)


def load_run_pipeline(store: Store, run: RunRecord) -> Any:
    """The run's saved model, loaded safely: the file's SHA-256 must equal the one recorded
    at training, and only trusted types are loaded (:func:`labeler.registry.trust.load_trusted`).
    A run of this version gives its pipeline (raw input -> probabilities); a run of an older
    Labeler its bare estimator."""
    from labeler.registry.trust import load_trusted

    found = run_artifact(store, run)
    return load_trusted(found.path, found.sha256)


def load_run_model(store: Store, run: RunRecord) -> Any:
    """The run's estimator (on the project's feature matrix), loaded safely as
    :func:`load_run_pipeline`: the last step of the pipeline, or an older run's estimator."""
    from labeler.learning.pipeline import is_pipeline

    model = load_run_pipeline(store, run)
    return model.steps[-1][1] if is_pipeline(model) else model
