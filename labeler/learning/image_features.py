"""Image features (grayscale pixels, resized) and user-supplied embedding vectors."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from labeler.learning.featureset import CHUNK, FeatureError, FeatureSettings
from labeler.progress import CancelToken, ProgressFn
from labeler.store.records import bytes_to_vector

if TYPE_CHECKING:
    from labeler.store.project_store import Store


def vector_features(
    store: Store, n: int, progress: ProgressFn, cancel: CancelToken | None
) -> tuple[np.ndarray, list[str]]:
    X: np.ndarray | None = None
    row = 0
    for frame in store.samples.iter_frames(CHUNK, columns=("vector",)):
        if cancel is not None:
            cancel.check()
        for sid, raw in zip(frame["id"], frame["vector"], strict=True):
            vec = bytes_to_vector(raw)
            if vec is None:
                raise FeatureError(f"sample {sid} has no embedding vector but others do")
            if X is None:
                X = np.empty((n, len(vec)), dtype=np.float32)
            if len(vec) != X.shape[1]:
                raise FeatureError(
                    f"sample {sid}: embedding has {len(vec)} values, expected {X.shape[1]}"
                )
            X[row] = vec
            row += 1
        progress(row, n)
    assert X is not None
    if not np.isfinite(X).all():
        bad = int(np.nonzero(~np.isfinite(X).all(axis=1))[0][0])
        raise FeatureError(f"embedding of sample row {bad} contains NaN or infinity")
    return X, [f"v{i}" for i in range(X.shape[1])]


def image_features(
    store: Store,
    n: int,
    settings: FeatureSettings,
    progress: ProgressFn,
    cancel: CancelToken | None,
) -> tuple[np.ndarray, list[str]]:
    from PIL import Image, UnidentifiedImageError

    size = settings.image_size
    X = np.empty((n, size * size), dtype=np.float32)
    row = 0
    for frame in store.samples.iter_frames(5_000, columns=("file_ref",)):
        if cancel is not None:
            cancel.check()
        for sid, ref in zip(frame["id"], frame["file_ref"], strict=True):
            if not ref:
                raise FeatureError(f"sample {sid} has no image file")
            try:
                with Image.open(ref) as img:
                    small = img.convert("L").resize((size, size), Image.Resampling.BILINEAR)
                    X[row] = np.asarray(small, dtype=np.float32).reshape(-1) / 255.0
            except (OSError, UnidentifiedImageError) as exc:
                raise FeatureError(f"{ref}: cannot read image of sample {sid} ({exc})") from None
            row += 1
        progress(row, n)
    return X, [f"px{i}" for i in range(size * size)]
