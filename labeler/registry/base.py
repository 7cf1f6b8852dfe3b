"""The model registry interface and the records it hands out."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from labeler.errors import LabelerError

ALIASES = ("candidate", "champion")


class RegistryError(LabelerError):
    """The registry cannot be opened, or a version or alias does not exist."""


@dataclass(frozen=True)
class ModelBundle:
    """Everything pushed for one model version."""

    name: str  # registered model name (the project's name)
    model_path: Path  # the estimator, saved with skops
    metrics: dict[str, Any]
    params: dict[str, Any]
    label_set: list[str]
    feature_settings: dict[str, Any]
    lineage: dict[str, Any]  # the dataset snapshot's manifest (+ run and model version)
    model_card: str  # markdown
    dataset_path: Path | None = None
    input_example: Any = None  # raw rows (a DataFrame) for a pipeline, else a feature row
    model_sha256: str | None = None  # recorded at training: the pushed bytes must match it


@dataclass(frozen=True)
class ModelVersion:
    """One registered version, as listed or loaded."""

    name: str
    version: int
    sha256: str
    created_at: str
    metrics: dict[str, Any]
    params: dict[str, Any]
    label_set: list[str]
    feature_settings: dict[str, Any]
    lineage: dict[str, Any]
    aliases: list[str] = field(default_factory=list)
    location: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def check_pushed_bytes(bundle: ModelBundle, sha256: str) -> None:
    """Refuse to push a copy whose SHA-256 differs from the one recorded at training."""
    if bundle.model_sha256 and sha256 != bundle.model_sha256:
        from labeler.registry.trust import ModelIntegrityError

        raise ModelIntegrityError(
            f"{bundle.model_path}: SHA-256 {sha256[:12]}... does not match the recorded "
            f"{bundle.model_sha256[:12]}...; the file was changed, nothing was pushed"
        )


class Registry(ABC):
    """A place to push, list, alias and load model versions."""

    uri: str

    @abstractmethod
    def push(self, bundle: ModelBundle) -> ModelVersion:
        """Store a new version (numbered 1, 2, ... per model name)."""

    @abstractmethod
    def versions(self, name: str | None = None) -> list[ModelVersion]:
        """Every version (of ``name``, or of all models), oldest first."""

    @abstractmethod
    def set_alias(self, name: str, alias: str, version: int) -> None:
        """Point ``alias`` at ``version`` (moving it if it pointed elsewhere)."""

    @abstractmethod
    def aliases(self, name: str) -> dict[str, int]:
        """``{alias: version}`` of a model."""

    @abstractmethod
    def model_file(self, name: str, version: int) -> tuple[Path, str]:
        """A local path to the version's skops file and its recorded SHA-256."""

    def get(self, name: str, ref: int | str) -> ModelVersion:
        """A version by number or alias."""
        version = self._resolve(name, ref)
        for v in self.versions(name):
            if v.version == version:
                return v
        raise RegistryError(f"{self.uri}: model {name!r} has no version {version}")

    def alias_target(self, name: str, alias: str) -> int | None:
        return self.aliases(name).get(alias)

    def load(self, name: str, ref: int | str) -> Any:
        """The estimator of a version, loaded safely (SHA-256 check, trusted types only)."""
        from labeler.registry.trust import load_trusted

        path, sha = self.model_file(name, self._resolve(name, ref))
        return load_trusted(path, sha)

    def _resolve(self, name: str, ref: int | str) -> int:
        if isinstance(ref, int) or (isinstance(ref, str) and ref.isdigit()):
            return int(ref)
        target = self.aliases(name).get(ref)
        if target is None:
            raise RegistryError(f"{self.uri}: model {name!r} has no alias {ref!r}")
        return target
