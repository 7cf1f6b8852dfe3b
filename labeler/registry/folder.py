"""The built-in registry: a folder.

Layout::

    REGISTRY/
      <model name>/
        v1/ model.skops  meta.json  MODEL_CARD.md
            dataset/ <name>-v<N>.parquet  <name>-v<N>.parquet.manifest.json
        v2/ ...
        aliases.json          {"candidate": 2, "champion": 1}

A version folder is assembled under a temporary name and renamed into place, so a listed
version is always complete; its files are made read-only. ``meta.json`` records the model
file's SHA-256, checked before every load, and the path of the training-data snapshot
relative to the version folder (``lineage.dataset_path``): a version folder is complete on its
own, wherever the registry is moved.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import stat
from pathlib import Path

from labeler.export.atomic import fsync_dir, write_text_atomic
from labeler.hashing import file_sha256
from labeler.registry.base import (
    ModelBundle,
    ModelVersion,
    Registry,
    RegistryError,
    check_pushed_bytes,
)
from labeler.store.database import utcnow

MODEL_FILE = "model.skops"
META_FILE = "meta.json"
CARD_FILE = "MODEL_CARD.md"
ALIAS_FILE = "aliases.json"
DATASET_DIR = "dataset"
_VERSION_RE = re.compile(r"^v(\d+)$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _add_dataset(staging: Path, snapshot: Path) -> str:
    """Copy the training-data snapshot and its manifest into the version folder; returns the
    snapshot's path relative to the version folder (what ``meta.json`` records)."""
    from labeler.export.snapshot import manifest_path_for

    folder = staging / DATASET_DIR
    folder.mkdir()
    for source in (snapshot, manifest_path_for(snapshot)):
        if source.is_file():
            shutil.copyfile(source, folder / source.name)
    return f"{DATASET_DIR}/{snapshot.name}"


def _make_read_only(folder: Path) -> None:
    for f in folder.rglob("*"):
        if f.is_file():
            os.chmod(f, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


class FolderRegistry(Registry):
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)
        if self.root.exists() and not self.root.is_dir():
            raise RegistryError(f"{self.root}: not a folder")

    # -- writing -------------------------------------------------------------------------

    def push(self, bundle: ModelBundle) -> ModelVersion:
        model_dir = self._model_dir(bundle.name)
        model_dir.mkdir(parents=True, exist_ok=True)
        if not bundle.model_path.is_file():
            raise RegistryError(f"{bundle.model_path}: model file is missing")
        staging = model_dir / f".staging-{secrets.token_hex(6)}"
        staging.mkdir()
        try:
            shutil.copyfile(bundle.model_path, staging / MODEL_FILE)
            sha = file_sha256(staging / MODEL_FILE)
            check_pushed_bytes(bundle, sha)
            (staging / CARD_FILE).write_text(bundle.model_card, encoding="utf-8")
            lineage = dict(bundle.lineage)
            if bundle.dataset_path is not None:
                lineage["dataset_path"] = _add_dataset(staging, bundle.dataset_path)
            while True:
                version = self._next_version(bundle.name)
                meta = {
                    "name": bundle.name,
                    "version": version,
                    "sha256": sha,
                    "created_at": utcnow().isoformat(timespec="seconds") + "Z",
                    "metrics": bundle.metrics,
                    "params": bundle.params,
                    "label_set": list(bundle.label_set),
                    "feature_settings": bundle.feature_settings,
                    "lineage": lineage,
                }
                (staging / META_FILE).write_text(
                    json.dumps(meta, indent=2, default=str) + "\n", encoding="utf-8"
                )
                _make_read_only(staging)
                target = model_dir / f"v{version}"
                try:
                    os.rename(staging, target)  # fails if another push took this number
                except OSError:
                    if target.exists():
                        (staging / META_FILE).chmod(stat.S_IRUSR | stat.S_IWUSR)
                        continue
                    raise
                fsync_dir(model_dir)
                break
        except BaseException:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)
            raise
        return self.get(bundle.name, version)

    def set_alias(self, name: str, alias: str, version: int) -> None:
        if not (self._model_dir(name) / f"v{version}").is_dir():
            raise RegistryError(f"{self.uri}: model {name!r} has no version {version}")
        aliases = self.aliases(name)
        aliases[alias] = int(version)
        write_text_atomic(
            self._model_dir(name) / ALIAS_FILE,
            json.dumps(aliases, indent=2, sort_keys=True) + "\n",
            overwrite=True,
        )

    # -- reading -------------------------------------------------------------------------

    def aliases(self, name: str) -> dict[str, int]:
        path = self._model_dir(name) / ALIAS_FILE
        if not path.exists():
            return {}
        try:
            return {str(k): int(v) for k, v in json.loads(path.read_text("utf-8")).items()}
        except (ValueError, AttributeError):
            raise RegistryError(f"{path}: not a valid alias file") from None

    def versions(self, name: str | None = None) -> list[ModelVersion]:
        if not self.root.is_dir():
            return []
        names = [name] if name is not None else sorted(p.name for p in self.root.iterdir())
        out: list[ModelVersion] = []
        for model in names:
            model_dir = self.root / model
            if not model_dir.is_dir():
                continue
            by_version: dict[int, list[str]] = {}
            for alias, v in self.aliases(model).items():
                by_version.setdefault(v, []).append(alias)
            for number in self._numbers(model):
                meta_path = model_dir / f"v{number}" / META_FILE
                try:
                    meta = json.loads(meta_path.read_text("utf-8"))
                except (OSError, ValueError):
                    raise RegistryError(f"{meta_path}: missing or not valid JSON") from None
                out.append(
                    ModelVersion(
                        name=model,
                        version=number,
                        sha256=meta["sha256"],
                        created_at=meta["created_at"],
                        metrics=meta.get("metrics", {}),
                        params=meta.get("params", {}),
                        label_set=meta.get("label_set", []),
                        feature_settings=meta.get("feature_settings", {}),
                        lineage=meta.get("lineage", {}),
                        aliases=sorted(by_version.get(number, [])),
                        location=str(model_dir / f"v{number}"),
                    )
                )
        return out

    def model_file(self, name: str, version: int) -> tuple[Path, str]:
        vdir = self._model_dir(name) / f"v{version}"
        if not vdir.is_dir():
            raise RegistryError(f"{self.uri}: model {name!r} has no version {version}")
        meta = json.loads((vdir / META_FILE).read_text("utf-8"))
        return vdir / MODEL_FILE, str(meta["sha256"])

    def model_card(self, name: str, version: int) -> str:
        return (self._model_dir(name) / f"v{version}" / CARD_FILE).read_text("utf-8")

    # -- internals -----------------------------------------------------------------------

    def _model_dir(self, name: str) -> Path:
        if not _NAME_RE.match(name):
            raise RegistryError(f"model name {name!r}: use letters, digits, '.', '_' or '-'")
        return self.root / name

    def _numbers(self, name: str) -> list[int]:
        model_dir = self.root / name
        if not model_dir.is_dir():
            return []
        found = (_VERSION_RE.match(p.name) for p in model_dir.iterdir() if p.is_dir())
        return sorted(int(m.group(1)) for m in found if m)

    def _next_version(self, name: str) -> int:
        numbers = self._numbers(name)
        return (numbers[-1] if numbers else 0) + 1
