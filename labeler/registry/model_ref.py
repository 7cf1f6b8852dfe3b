"""What ``labeler predict MODEL`` names, loaded safely.

MODEL is

* a project (folder, or ``URL#name`` for a team project): the champion of the project's
  registry (``$LABELER_REGISTRY``, else its ``registry/`` folder), else its latest model;
* a registry and a model in it: a folder registry path or ``mlflow:<tracking uri>``, then
  ``#NAME@ALIAS`` or ``#NAME:VERSION`` (``#NAME``: its champion, else its newest version;
  nothing: the registry's only model).

Every path checks the artifact's SHA-256 against the one recorded at training (or push) and
loads only trusted types. The model must be a pipeline on raw input (this Labeler's format).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from labeler.errors import LabelerError, ProjectError
from labeler.learning.pipeline import is_pipeline
from labeler.registry.base import Registry, RegistryError


@dataclass
class LoadedModel:
    """A model pipeline and where it came from."""

    pipeline: Any
    name: str
    version: int
    sha256: str
    source: str  # "project" | "registry"
    location: str  # the project folder / URL, or the registry URI
    project_location: Any = None  # ProjectLocation of a project model (training data at hand)

    @property
    def info(self) -> dict[str, Any]:
        return self.pipeline.labeler_info_

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "source": self.source,
            "location": self.location,
            "classes": list(self.info["classes"]),
            "multi_label": self.info["multi_label"],
            "inputs": dict(self.info["inputs"]),
        }


def _checked(model: Any, what: str) -> Any:
    if not is_pipeline(model):
        raise LabelerError(
            f"{what} was saved by an older Labeler without its feature pipeline, so it cannot "
            "score raw rows; retrain the project (labeler train) and push again"
        )
    return model


def load_model_ref(ref: str) -> LoadedModel:
    """Resolve and load MODEL (see the module docstring)."""
    from labeler.store.location import is_database_url, resolve

    if ref.startswith("mlflow:"):
        uri, _, fragment = ref.partition("#")
        return _from_registry(uri, fragment)
    if is_database_url(ref) and not ref.startswith("file://"):
        return _from_project(ref)
    path, _, fragment = ref.partition("#")
    if not fragment:
        try:
            resolve(path)
        except ProjectError:
            pass
        else:
            return _from_project(path)
    return _from_registry(path, fragment)


def _from_project(ref: str) -> LoadedModel:
    from labeler.learning.artifact import ModelFileError, load_run_pipeline, run_artifact
    from labeler.registry import open_registry
    from labeler.store import Store

    with Store.open(ref) as store:
        name = store.info.name
        try:
            registry = open_registry(None, store)
            champion = registry.alias_target(name, "champion")
        except RegistryError:
            registry, champion = None, None
        if registry is not None and champion is not None:
            loaded = _load_version(registry, name, champion)
            loaded.source, loaded.location = "project", str(store.location.folder)
            loaded.project_location = store.location
            return loaded
        run = store.models.latest_ok()
        if run is None or not run.artifact:
            raise LabelerError(
                f"project {name!r} has no trained model yet; run 'labeler train' first"
            )
        try:
            sha = run_artifact(store, run).sha256
        except ModelFileError as exc:
            raise LabelerError(str(exc)) from None
        pipeline = _checked(load_run_pipeline(store, run), f"model version {run.model_version}")
        return LoadedModel(
            pipeline,
            name,
            int(run.model_version or 0),
            sha,
            "project",
            str(store.location.folder),
            store.location,
        )


def _parse_fragment(fragment: str) -> tuple[str | None, int | str | None]:
    if not fragment:
        return None, None
    if "@" in fragment:
        name, _, alias = fragment.rpartition("@")
        return name, alias
    name, sep, version = fragment.rpartition(":")
    if sep and version.isdigit():
        return name, int(version)
    return fragment, None


def _from_registry(uri: str, fragment: str) -> LoadedModel:
    from pathlib import Path

    from labeler.registry import open_registry

    if not uri.startswith("mlflow:") and not Path(uri).expanduser().is_dir():
        raise LabelerError(f"{uri}: no such project or registry folder")
    registry = open_registry(uri)
    name, ref = _parse_fragment(fragment)
    if name is None:
        names = sorted({v.name for v in registry.versions()})
        if len(names) != 1:
            listed = ", ".join(names) if names else "none"
            raise RegistryError(
                f"{registry.uri}: name the model with #NAME@ALIAS or #NAME:VERSION "
                f"(models: {listed})"
            )
        name = names[0]
    if ref is None:
        ref = registry.alias_target(name, "champion")
        if ref is None:
            found = registry.versions(name)
            if not found:
                raise RegistryError(f"{registry.uri}: no model named {name!r}")
            ref = found[-1].version
    return _load_version(registry, name, ref)


def _load_version(registry: Registry, name: str, ref: int | str) -> LoadedModel:
    version = registry.get(name, ref)
    model = _checked(registry.load(name, version.version), f"{name} v{version.version}")
    return LoadedModel(model, name, version.version, version.sha256, "registry", registry.uri)
