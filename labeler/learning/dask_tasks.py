"""The functions Dask workers run: each reads one partition of the pool from the project
store (a folder every worker reaches, or the team's PostgreSQL database) and returns a small
result. They run in worker processes, so they take plain data: a :class:`TaskSpec` (shipped
once per call) and a :class:`~labeler.learning.partition_scoring.Partition`.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labeler.learning.feature_cache import read_cache, write_cache
from labeler.learning.partition_scoring import Partition, PartitionResult, score_partition
from labeler.learning.partition_stats import (
    TabularMoments,
    column_verdicts,
    parsed_chunks,
    tabular_moments,
    text_document_frequency,
)

_stores: dict[str, Any] = {}
_stores_lock = threading.Lock()
RAW_COLUMN = {"text": "text", "tabular": "data", "image": "file_ref", "vectors": "vector"}


@dataclass
class TaskSpec:
    """What every task of one call needs."""

    location: dict[str, str]  # ProjectLocation.to_json()
    kind: str  # feature kind: text | tabular | image | vectors
    settings: Any = None  # FeatureSettings
    max_categories: int = 30
    columns: list[tuple[str, bool]] = field(default_factory=list)  # tabular pass 2
    pipeline: Any = None  # the fitted model pipeline (scoring)
    members: list | None = None  # committee members (scoring)
    strategy: str = "margin"
    n: int = 500  # candidates per partition
    labeled: np.ndarray | None = None  # sorted labeled sample ids
    class_order: np.ndarray | None = None
    multi_label: bool = False
    with_features: bool = False
    density: Any = None  # (DensityModel, largest raw density or None): strategy density
    cache_dir: str | None = None  # partition features: a folder the workers share
    fingerprint: str = ""  # of the pipeline's raw-input step: part of the cache key


def store_key(location: dict[str, str]) -> str:
    """The key of a project's store in a worker's cache."""
    return f"{location['url']}#{location['name']}"


def _store(location: dict[str, str]) -> Any:
    """The project store, opened once per worker process (and closed by :func:`close_stores`
    when the retrain's pool closes, or when the worker ends)."""
    from labeler.store.location import ProjectLocation
    from labeler.store.project_store import Store

    key = store_key(location)
    with _stores_lock:
        store = _stores.get(key)
        if store is None:
            store = Store.open(ProjectLocation.from_json(location))
            _stores[key] = store
        return store


def close_stores(keys: list[str] | None = None) -> int:
    """Close the stores this worker process keeps open: those of ``keys``, or all of them.
    Returns how many were closed. A task still reading from one finishes (closing releases
    the pooled connections; one in use is closed when its read ends)."""
    with _stores_lock:
        chosen = list(_stores) if keys is None else [k for k in keys if k in _stores]
        stores = [_stores.pop(k) for k in chosen]
    for store in stores:
        with contextlib.suppress(Exception):  # a database already gone: nothing to release
            store.close()
    return len(stores)


def open_stores() -> list[str]:
    """The keys of the stores this worker process keeps open."""
    with _stores_lock:
        return sorted(_stores)


def read_partition(location: dict[str, str], part: Partition, kind: str) -> pd.DataFrame:
    """``id`` and the raw stored column of the partition's samples, ascending by id."""
    from labeler.store.partition_rows import partition_frame

    return partition_frame(_store(location), part.first, part.last, RAW_COLUMN[kind])


def raw_input(frame: pd.DataFrame, kind: str) -> list[pd.DataFrame]:
    """The pipeline's raw input for stored rows, in chunks (tabular rows are parsed in the
    in-process feature pass's chunks, so column types come out the same)."""
    from labeler.learning.pipeline import IMAGE_COLUMN, TEXT_COLUMN, VECTOR_COLUMN
    from labeler.store.records import bytes_to_vector

    if kind == "tabular":
        return parsed_chunks(frame["data"])
    if kind == "text":
        return [pd.DataFrame({TEXT_COLUMN: frame["text"].tolist()})]
    if kind == "image":
        return [pd.DataFrame({IMAGE_COLUMN: frame["file_ref"].tolist()})]
    return [pd.DataFrame({VECTOR_COLUMN: [bytes_to_vector(v) for v in frame["vector"]]})]


# -- statistics --------------------------------------------------------------------------------


def text_frequency(spec: TaskSpec, part: Partition) -> tuple[np.ndarray, int]:
    frame = read_partition(spec.location, part, "text")
    texts = ["" if t is None else str(t) for t in frame["text"]]
    return text_document_frequency(texts, spec.settings), len(texts)


def tabular_types(spec: TaskSpec, part: Partition) -> dict[str, tuple[int, bool]]:
    frame = read_partition(spec.location, part, "tabular")
    return column_verdicts(parsed_chunks(frame["data"]), spec.max_categories)


def tabular_stats(spec: TaskSpec, part: Partition) -> TabularMoments:
    frame = read_partition(spec.location, part, "tabular")
    return tabular_moments(parsed_chunks(frame["data"]), spec.columns)


# -- scoring -----------------------------------------------------------------------------------


def partition_features(spec: TaskSpec, part: Partition) -> tuple[np.ndarray, Any]:
    """Sample ids and features of the partition: from the shared cache, or computed with the
    pipeline's raw-input step (and cached for the next retrain with the same step)."""
    key = hashlib.sha256(
        f"{spec.fingerprint}:{part.first}:{part.last}:{part.size}".encode()
    ).hexdigest()[:24]
    folder = Path(spec.cache_dir) if spec.cache_dir else None
    if folder is not None:
        cached = read_cache(folder, key)
        ids_path = folder / f"{key}.ids.npy"
        if cached is not None and ids_path.is_file():
            try:
                ids = np.load(ids_path)
            except (OSError, ValueError):
                ids = None  # a damaged entry is computed again
            if ids is not None and len(ids) == cached[0].shape[0] == part.size:
                return ids, cached[0]
    frame = read_partition(spec.location, part, spec.kind)
    step = spec.pipeline.steps[0][1]
    chunks = raw_input(frame, spec.kind)
    if spec.kind == "tabular":  # a column absent from a chunk is missing in all its rows
        chunks = [chunk.reindex(columns=step.columns_) for chunk in chunks]
    blocks = [step.transform(chunk) for chunk in chunks]
    X = blocks[0] if len(blocks) == 1 else _stack(blocks)
    ids = frame["id"].to_numpy(dtype=np.int64)
    if folder is not None:
        try:
            write_cache(folder, key, X, [])
            tmp = folder / f".{key}.ids.{os.getpid()}.tmp"
            with open(tmp, "wb") as fh:
                np.save(fh, ids)
            os.replace(tmp, folder / f"{key}.ids.npy")
        except OSError:
            pass  # a worker that cannot write the shared folder computes again next time
    return ids, X


def _stack(blocks: list[Any]) -> Any:
    import scipy.sparse as sp

    if sp.issparse(blocks[0]):
        return sp.vstack(blocks, format="csr")
    return np.vstack(blocks)


def density_peak(spec: TaskSpec, part: Partition) -> float:
    """The largest raw density of the partition's rows (the whole pool's normalises it)."""
    _, X = partition_features(spec, part)
    return float(spec.density[0].raw(X).max()) if X.shape[0] else 0.0


def score(spec: TaskSpec, part: Partition) -> PartitionResult:
    ids, X = partition_features(spec, part)
    estimator = spec.pipeline.steps[-1][1]
    return score_partition(
        part,
        ids,
        X,
        spec.labeled if spec.labeled is not None else np.empty(0, np.int64),
        strategy=spec.strategy,
        estimator=estimator,
        class_order=spec.class_order,
        n=spec.n,
        multi_label=spec.multi_label,
        members=spec.members,
        with_features=spec.with_features,
        density=spec.density,
    )
