"""Application settings, in two typed tiers, without Qt.

* :class:`UserSettings` belong to the person at the keyboard: annotator name, theme, font size,
  recent projects. They live in ``settings.json`` in the user's config folder
  (``$LABELER_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/labeler``, else ``~/.config/labeler``).
  The file carries a ``version``; older files are migrated step by step on load, and a file
  that cannot be read is set aside (``settings.json.bad``) rather than crashing the app.
* :class:`ProjectSettings` belong to the project and are saved with it
  (``store.update_settings``): query strategy, model, retrain interval, batch size. Every
  annotator of a shared project uses the same active-learning set-up.

Window geometry and dock state are not settings: the GUI keeps them in ``QSettings``.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from labeler.learning.compute import ComputeError, parse_compute
from labeler.learning.featureset import TEXT_FEATURES
from labeler.learning.settings import TrainSettings
from labeler.store.overlap import OverlapSettings

SETTINGS_VERSION = 2
THEMES = ("light", "dark")
MAX_RECENT = 10
FONT_SIZES = range(9, 41)


def config_dir() -> Path:
    """The user's Labeler config folder (not created here)."""
    base = os.environ.get("LABELER_CONFIG_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_CONFIG_HOME")
    root = Path(xdg) if xdg else Path.home() / ".config"
    return root / "labeler"


def data_dir() -> Path:
    """Where the app keeps data it makes itself (demo projects)."""
    base = os.environ.get("LABELER_DATA_DIR")
    if base:
        return Path(base)
    xdg = os.environ.get("XDG_DATA_HOME")
    root = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return root / "labeler"


def _default_annotator() -> str:
    try:
        return getpass.getuser() or "annotator"
    except (KeyError, OSError):  # no user database entry (containers)
        return "annotator"


@dataclass(frozen=True)
class UserSettings:
    """Per-user preferences."""

    annotator: str = field(default_factory=_default_annotator)
    theme: str = "light"
    font_size: int = 16  # points, for sample text
    recent_projects: tuple[str, ...] = ()

    def validated(self) -> UserSettings:
        """A copy with out-of-range values replaced by defaults."""
        default = UserSettings()
        return replace(
            self,
            annotator=str(self.annotator).strip() or default.annotator,
            theme=self.theme if self.theme in THEMES else default.theme,
            font_size=int(self.font_size)
            if isinstance(self.font_size, int | float) and int(self.font_size) in FONT_SIZES
            else default.font_size,
            recent_projects=tuple(str(p) for p in self.recent_projects)[:MAX_RECENT],
        )

    def with_recent(self, project: str) -> UserSettings:
        """Put ``project`` first in the recent list (once)."""
        from labeler.store.passfile import without_password

        project = without_password(project)  # never a database password in settings.json
        rest = [p for p in self.recent_projects if p != project]
        return replace(self, recent_projects=tuple([project, *rest][:MAX_RECENT]))

    def without_recent(self, project: str) -> UserSettings:
        return replace(self, recent_projects=tuple(p for p in self.recent_projects if p != project))


# Each step takes the raw dict of version N and returns version N + 1.
def _v0_to_v1(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 0 (unversioned) named the annotator ``name`` and had ``dark: bool``."""
    out = dict(raw)
    if "name" in out and "annotator" not in out:
        out["annotator"] = out.pop("name")
    if "dark" in out:
        out["theme"] = "dark" if out.pop("dark") else "light"
    return out


def _v1_to_v2(raw: dict[str, Any]) -> dict[str, Any]:
    """Version 1 kept recent projects as ``recent`` (newest last); version 2 newest first."""
    out = dict(raw)
    if "recent" in out:
        out["recent_projects"] = list(reversed(out.pop("recent") or []))
    return out


MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _v0_to_v1, 1: _v1_to_v2}


def migrate_raw(raw: dict[str, Any]) -> dict[str, Any]:
    """Bring a raw settings dict from its ``version`` to :data:`SETTINGS_VERSION`."""
    version = int(raw.get("version", 0))
    out = {k: v for k, v in raw.items() if k != "version"}
    while version < SETTINGS_VERSION:
        out = MIGRATIONS[version](out)
        version += 1
    return out


def settings_from_raw(raw: dict[str, Any]) -> UserSettings:
    data = migrate_raw(raw)
    known = {f.name for f in fields(UserSettings)}
    kwargs = {k: v for k, v in data.items() if k in known}
    if "recent_projects" in kwargs:
        kwargs["recent_projects"] = tuple(kwargs["recent_projects"] or ())
    return UserSettings(**kwargs).validated()


def settings_to_raw(settings: UserSettings) -> dict[str, Any]:
    raw = asdict(settings)
    raw["recent_projects"] = list(settings.recent_projects)
    return {"version": SETTINGS_VERSION, **raw}


class SettingsFile:
    """Loads and saves :class:`UserSettings` as JSON (atomic replace on save)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or config_dir() / "settings.json"

    def load(self) -> UserSettings:
        if not self.path.is_file():
            return UserSettings()
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            if not isinstance(raw, dict):
                raise ValueError("not a JSON object")
            return settings_from_raw(raw)
        except (ValueError, TypeError, KeyError, OSError):
            bad = self.path.with_name(self.path.name + ".bad")
            with contextlib.suppress(OSError):
                os.replace(self.path, bad)
            return UserSettings()

    def save(self, settings: UserSettings) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(settings_to_raw(settings), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)


_ENGINE = TrainSettings()  # the engine's defaults: the one source of truth for both views
_OVERLAP = OverlapSettings()  # the queue's overlap defaults (labeler.store.overlap)


@dataclass(frozen=True)
class ProjectSettings:
    """Active-learning set-up saved in the project, shared by all its annotators.

    ``strategy``, ``model``, ``batch_size`` (samples ranked per retrain), ``text_features``
    and ``tracking`` are the engine's training settings (``settings["learning"]``:
    ``strategy``, ``model``, ``queue_size``, ``features.text_features``, ``tracking``; defaults
    from
    :class:`~labeler.learning.settings.TrainSettings`); ``retrain_every`` belongs to the
    annotate screen (``settings["annotate"]``); ``overlap`` (distinct annotators per overlap
    sample) and ``overlap_fraction`` (the share of samples that get them) to the team's queue
    (``settings["team"]``, read by :class:`~labeler.store.overlap.OverlapSettings`).
    """

    strategy: str = _ENGINE.strategy
    model: str = _ENGINE.model
    retrain_every: int = 10  # labels between background retrains; 0: only on demand
    batch_size: int = _ENGINE.queue_size
    text_features: str = _ENGINE.features.text_features  # used by text projects only
    overlap: int = _OVERLAP.overlap
    overlap_fraction: float = _OVERLAP.fraction
    compute: str = _ENGINE.compute  # where pool scoring runs (labeler.learning.compute)
    tracking: str = _ENGINE.tracking  # "mlflow:<uri>": every retrain logged there; "": none

    @classmethod
    def from_project(cls, settings: dict[str, Any]) -> ProjectSettings:
        default = cls()
        learning = settings.get("learning") or {}
        annotate = settings.get("annotate") or {}
        features = learning.get("features") or {}
        raw = {
            "strategy": learning.get("strategy", default.strategy),
            "model": learning.get("model", default.model),
            "batch_size": learning.get("queue_size", default.batch_size),
            "retrain_every": annotate.get("retrain_every", default.retrain_every),
            "text_features": features.get("text_features", default.text_features),
            "compute": learning.get("compute", default.compute),
            "tracking": learning.get("tracking", default.tracking) or "",
        }
        values: dict[str, Any] = {}
        for key, value in raw.items():
            expected = type(getattr(default, key))
            try:
                values[key] = expected(value)
            except (TypeError, ValueError):
                values[key] = getattr(default, key)
        values["retrain_every"] = max(0, values["retrain_every"])
        values["batch_size"] = max(1, values["batch_size"])
        try:
            values["compute"] = str(parse_compute(values["compute"]))
        except ComputeError:
            values["compute"] = default.compute
        if values["text_features"] not in TEXT_FEATURES:  # e.g. an older hash width
            values["text_features"] = (
                "tfidf" if "text_features" in features else default.text_features
            )
        overlap = OverlapSettings.from_settings(settings)
        return cls(**values, overlap=overlap.overlap, overlap_fraction=overlap.fraction)

    def to_project(self, settings: dict[str, Any]) -> dict[str, Any]:
        """The ``learning``, ``annotate`` and ``team`` entries to merge into ``settings``."""
        old = settings.get("learning") or {}
        learning = {
            **old,
            "strategy": self.strategy,
            "model": self.model,
            "queue_size": self.batch_size,
            "compute": str(parse_compute(self.compute)),
            "features": {**(old.get("features") or {}), "text_features": self.text_features},
        }
        learning.pop("tracking", None)
        if self.tracking.strip():  # (kept only when set: an untracked project stores nothing)
            learning["tracking"] = self.tracking.strip()
        annotate = {**(settings.get("annotate") or {}), "retrain_every": self.retrain_every}
        overlap = OverlapSettings(self.overlap, self.overlap_fraction).checked()
        return {"learning": learning, "annotate": annotate, **overlap.to_settings(settings)}
