"""Tabular features: the ``sample.data`` JSON objects; numeric columns mean-imputed and
standardised, other columns one-hot encoded (dense float32)."""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from labeler.learning.featureset import TABULAR_CHUNK, FeatureError, FeatureSettings
from labeler.progress import CancelToken, ProgressFn

if TYPE_CHECKING:
    from labeler.store.project_store import Store


def parse_json_rows(raw: pd.Series) -> pd.DataFrame:
    """Parse a chunk of JSON object strings into a DataFrame (pyarrow when it can)."""
    texts = ["{}" if r is None else r for r in raw]
    try:
        import pyarrow.json as paj

        table = paj.read_json(io.BytesIO("\n".join(texts).encode("utf-8")))
        return table.to_pandas()
    except Exception:  # noqa: BLE001 - mixed types per column: fall back to the slow parser
        return pd.DataFrame.from_records([json.loads(t) for t in texts])


class TabularEncoder:
    """Two-phase tabular encoding: ``observe`` chunks (types, categories), then ``encode``."""

    def __init__(self, max_categories: int) -> None:
        self.max_categories = max_categories
        self.columns: list[str] = []
        self.numeric: dict[str, bool] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self.stats: list[tuple[float, float]] = []  # (mean, scale) per numeric column

    def observe(self, frame: pd.DataFrame) -> None:
        for col in frame.columns:
            name = str(col)
            values = frame[col]
            if name not in self.numeric:
                self.columns.append(name)
                present = values.dropna()
                as_num = pd.to_numeric(present, errors="coerce")
                is_bool = (
                    present.map(lambda v: isinstance(v, bool)).any() if len(present) else False
                )
                self.numeric[name] = bool(as_num.notna().all()) and not is_bool
                self.counts[name] = {}
            if not self.numeric[name]:
                counts = self.counts[name]
                for key, c in values.dropna().astype(str).value_counts().items():
                    counts[key] = counts.get(key, 0) + int(c)

    def categories(self, name: str) -> list[str]:
        ranked = sorted(self.counts[name].items(), key=lambda kv: (-kv[1], kv[0]))
        return [k for k, _ in ranked[: self.max_categories]]

    def column_names(self) -> list[str]:
        out: list[str] = []
        for name in self.columns:
            if self.numeric[name]:
                out.append(name)
            else:
                out.extend(f"{name}={c}" for c in self.categories(name))
                out.append(f"{name}=<other>")
        return out

    def width(self) -> int:
        return len(self.column_names())

    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Raw block: numeric values (NaN where missing) and one-hot columns, float32."""
        out = np.zeros((len(frame), self.width()), dtype=np.float32)
        j = 0
        for name in self.columns:
            values = frame[name] if name in frame.columns else pd.Series([None] * len(frame))
            if self.numeric[name]:
                out[:, j] = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float32)
                j += 1
            else:
                cats = self.categories(name)
                codes = pd.Categorical(values.astype("string"), categories=cats).codes
                other = codes < 0
                codes = np.where(other, len(cats), codes)
                out[np.arange(len(frame)), j + codes] = 1.0
                j += len(cats) + 1
        return out

    def finish(self, X: np.ndarray) -> np.ndarray:
        """Impute and scale the numeric columns of the encoded matrix, in place."""
        self.stats = standardise(X, self._numeric_positions())
        return X

    def state(self) -> dict:
        """What the encoding learned (JSON-able): the raw-input step of the model pipeline
        (:class:`labeler.learning.pipeline.TabularInput`) applies it to new rows."""
        return {
            "columns": list(self.columns),
            "numeric": [self.numeric[c] for c in self.columns],
            "categories": [[] if self.numeric[c] else self.categories(c) for c in self.columns],
            "means": [m for m, _ in self.stats],
            "scales": [s for _, s in self.stats],
        }

    def _numeric_positions(self) -> list[int]:
        pos, j = [], 0
        for name in self.columns:
            if self.numeric[name]:
                pos.append(j)
                j += 1
            else:
                j += len(self.categories(name)) + 1
        return pos


def standardise(X: np.ndarray, columns: list[int]) -> list[tuple[float, float]]:
    """Mean-impute and scale the given columns of ``X`` in place (chunked, float32); returns
    each column's ``(mean, scale)``: ``x -> (x - mean) / scale``, missing -> 0."""
    stats: list[tuple[float, float]] = []
    for j in columns:
        col = X[:, j]
        finite = np.isfinite(col)
        if not finite.any():
            col[:] = 0.0
            stats.append((0.0, 1.0))
            continue
        mean = float(col[finite].mean(dtype=np.float64))
        std = float(col[finite].std(dtype=np.float64))
        col[~finite] = mean
        col -= mean
        if std > 0:
            col /= std
        stats.append((mean, std if std > 0 else 1.0))
    return stats


def tabular_features(
    store: Store,
    n: int,
    settings: FeatureSettings,
    progress: ProgressFn,
    cancel: CancelToken | None,
) -> tuple[np.ndarray, list[str], dict]:
    """The matrix, its column names and the encoder's :meth:`~TabularEncoder.state`."""
    encoder = TabularEncoder(settings.max_categories)
    # Pass 1: column types and category counts. While every column seen is numeric and the
    # columns do not change, the values go straight into the final matrix (one pass).
    X: np.ndarray | None = None
    row = 0
    for frame in store.samples.iter_frames(TABULAR_CHUNK, columns=("data",)):
        if cancel is not None:
            cancel.check()
        parsed = parse_json_rows(frame["data"])
        width_before = encoder.width() if encoder.columns else None
        encoder.observe(parsed)
        if X is None and row == 0 and encoder.columns and all(encoder.numeric.values()):
            X = np.empty((n, encoder.width()), dtype=np.float32)
        elif X is not None and (
            encoder.width() != width_before or not all(encoder.numeric.values())
        ):
            X = None  # columns changed: fall back to the second pass
        if X is not None:
            X[row : row + len(parsed)] = encoder.encode(parsed)
        row += len(frame)
        progress(row, n if X is not None else 2 * n)
    if not encoder.columns:
        raise FeatureError("tabular samples carry no data columns")
    if X is not None and row == n:
        return encoder.finish(X), encoder.column_names(), encoder.state()
    # Pass 2: encode into one preallocated matrix now that categories are known.
    X = np.empty((n, encoder.width()), dtype=np.float32)
    row = 0
    for frame in store.samples.iter_frames(TABULAR_CHUNK, columns=("data",)):
        if cancel is not None:
            cancel.check()
        block = encoder.encode(parse_json_rows(frame["data"]))
        X[row : row + len(block)] = block
        row += len(block)
        progress(n + row, 2 * n)
    return encoder.finish(X), encoder.column_names(), encoder.state()
