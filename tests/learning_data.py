"""Small synthetic projects for the engine tests (written straight through the store API)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from labeler.store import Store


def _hash(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()


def blobs(n: int = 120, n_classes: int = 3, n_features: int = 4, seed: int = 0):
    """Well separated Gaussian blobs: ``(X, y)`` with class names ``c0, c1, ...``."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=6.0, size=(n_classes, n_features))
    y = np.arange(n) % n_classes
    X = centres[y] + rng.normal(size=(n, n_features))
    return X, np.asarray([f"c{k}" for k in y])


def add_tabular(
    store: Store,
    X: np.ndarray,
    labels: Sequence[Sequence[str] | None] | None = None,
    extra: dict[str, Sequence[object]] | None = None,
) -> list[int]:
    """Import rows of ``X`` (columns f0..) as tabular samples; ``labels[i]`` (or None) as given."""
    rows = []
    for i, x in enumerate(X):
        data = {f"f{j}": (None if np.isnan(v) else float(v)) for j, v in enumerate(x)}
        for name, values in (extra or {}).items():
            data[name] = values[i]
        payload = json.dumps(data, sort_keys=True)
        digest = _hash(payload + str(i))
        rows.append((f"row{i}-{digest[:8]}", digest, None, None, payload, None))
    return _import(store, rows, labels)


def add_texts(
    store: Store, texts: Sequence[str], labels: Sequence[Sequence[str] | None] | None = None
) -> list[int]:
    rows = [(f"t{i}", _hash(f"{i}:{t}"), t, None, None, None) for i, t in enumerate(texts)]
    return _import(store, rows, labels)


def add_images(
    store: Store,
    folder: Path,
    pixels: np.ndarray,
    labels: Sequence[Sequence[str] | None] | None = None,
) -> list[int]:
    """Write each ``pixels[i]`` (2-D, 0..255) as a PNG and import it as an image sample."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, img in enumerate(pixels):
        path = folder / f"img{i}.png"
        Image.fromarray(np.asarray(img, dtype=np.uint8), mode="L").save(path)
        rows.append((f"img{i}", _hash(f"{i}:{path}"), None, str(path), None, None))
    return _import(store, rows, labels)


def add_vectors(
    store: Store, V: np.ndarray, labels: Sequence[Sequence[str] | None] | None = None
) -> list[int]:
    rows = [
        (
            f"v{i}",
            _hash(f"{i}:{v.tobytes().hex()}"),
            None,
            None,
            None,
            np.asarray(v, "<f4").tobytes(),
        )
        for i, v in enumerate(V)
    ]
    return _import(store, rows, labels)


def _import(store: Store, rows: list, labels: Sequence[Sequence[str] | None] | None) -> list[int]:
    with store.samples.bulk_import("test", _hash(str(len(rows)) + str(rows[:1]))) as batch:
        ids = batch.add_samples(rows)
        if labels is not None:
            pairs = [(sid, tuple(lab)) for sid, lab in zip(ids, labels, strict=True) if lab]
            if pairs:
                batch.add_labels([p[0] for p in pairs], [p[1] for p in pairs])
    return ids


def label(
    store: Store, sample_ids: Sequence[int], labels: Sequence[str], annotator: str = "ann"
) -> None:
    for sid, lab in zip(sample_ids, labels, strict=True):
        store.labels.add(int(sid), [lab], annotator)


def add_slow_tabular(store: Store, n: int = 6000, labeled: int | None = None) -> list[int]:
    """Rows whose labels are noise: a forest grows deep trees, so cross-validating one takes
    about a minute (a retrain that is surely still fitting when a test stops it)."""
    X, y = blobs(n=n, n_classes=3, n_features=20, seed=1)
    y = np.random.default_rng(0).permutation(y)
    count = n if labeled is None else labeled
    return add_tabular(store, X, [(v,) if i < count else None for i, v in enumerate(y)])
