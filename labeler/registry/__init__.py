"""Model registry (Qt-free): a built-in folder back end and MLflow; see :mod:`.base`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from labeler.registry.base import ModelBundle, ModelVersion, Registry, RegistryError

if TYPE_CHECKING:
    from labeler.store import Store

ENV_REGISTRY = "LABELER_REGISTRY"


def default_registry_uri(store: Store | None) -> str:
    """``$LABELER_REGISTRY``, else the project's ``registry/`` folder."""
    env = os.environ.get(ENV_REGISTRY)
    if env:
        return env
    if store is None:
        raise RegistryError(f"name a registry with --registry URI (or set ${ENV_REGISTRY})")
    return str(store.artifacts_dir / "registry")


def open_registry(uri: str | None = None, store: Store | None = None) -> Registry:
    """``mlflow:<tracking uri>`` for MLflow; a folder path (or ``file://`` URI) for the
    built-in registry; None for the default (see :func:`default_registry_uri`)."""
    from labeler.registry.folder import FolderRegistry

    uri = uri or default_registry_uri(store)
    if uri.startswith("mlflow:"):
        from labeler.registry.mlflow_backend import MlflowRegistry

        return MlflowRegistry(uri[len("mlflow:") :])
    if uri.startswith("file://"):
        uri = uri[len("file://") :]
    if "://" in uri:
        raise RegistryError(f"{uri}: unknown registry; use a folder or mlflow:<tracking uri>")
    return FolderRegistry(Path(uri))


__all__ = [
    "ModelBundle",
    "ModelVersion",
    "Registry",
    "RegistryError",
    "default_registry_uri",
    "open_registry",
]
