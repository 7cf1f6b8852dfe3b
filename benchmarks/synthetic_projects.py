"""Synthetic projects for the engine benchmarks: ``n`` samples written in one import, the
first ``n_labeled`` of them labeled.

``build_project`` writes the rows a row maker gives it, chunk by chunk, through the store's
bulk import (one transaction, column-wise inserts). ``tabular_rows`` makes rows of normally
distributed features, labeled by a fixed random linear map, with each row's JSON written by
one string format (``json.dumps`` of a rounded-float dict per row took five times longer, the
bulk of a 10M-row build).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

Rows = tuple[list[tuple[Any, ...]], list[str]]
RowMaker = Callable[[int, int], Rows]  # (start, size) -> (sample rows, their labels)
CHUNK = 50_000


def build_project(
    folder: Path,
    modality: str,
    n: int,
    make_rows: RowMaker,
    *,
    labels: Sequence[str],
    n_labeled: int,
    source: str,
    file_hash: str,
    chunk: int = CHUNK,
) -> float:
    """A project of ``n`` samples from ``make_rows``, the first ``n_labeled`` labeled with the
    labels it gives. Returns the seconds taken."""
    from labeler.store import Store

    t0 = time.perf_counter()
    store = Store.create(folder, modality=modality, labels=list(labels))
    try:
        with store.samples.bulk_import(source, file_hash) as batch:
            for start in range(0, n, chunk):
                size = min(chunk, n - start)
                rows, y = make_rows(start, size)
                ids = batch.add_samples(rows)
                if start < n_labeled:
                    k = min(n_labeled - start, size)
                    batch.add_labels(ids[:k], [(lab,) for lab in y[:k]])
    finally:
        store.close()
    return time.perf_counter() - t0


def tabular_rows(
    rng: np.random.Generator, W: np.ndarray, start: int, n: int, digits: int = 4
) -> Rows:
    """``n`` rows of ``W.shape[0]`` features ``f0..`` (``digits`` decimals) labeled
    ``c<argmax(x @ W)>``; the content hash covers the row's number, so rows never collide, and
    the external ids are zero-padded, so the unique index on them grows at its end."""
    X = rng.normal(size=(n, W.shape[0])).astype(np.float32)
    y = (X @ W).argmax(axis=1)
    template = "{" + ", ".join(f'"f{j}": %.{digits}f' for j in range(W.shape[0])) + "}"
    rows = []
    for i, x in enumerate(X.tolist(), start):
        payload = template % tuple(x)
        digest = hashlib.sha256(f"{i}:{payload}".encode()).hexdigest()
        rows.append((f"r{i:09d}", digest, None, None, payload, None))
    return rows, [f"c{k}" for k in y.tolist()]


def build_pool(
    folder: Path, kind: str, n: int, make_rows: RowMaker, *, n_classes: int, n_labeled: int
) -> float:
    """The engine and Dask benchmarks' pool: a ``kind`` ("tabular" or "text") project of
    ``n`` samples with classes ``c0``, ``c1``, ..., its import named by kind and size."""
    return build_project(
        folder,
        "tabular" if kind == "tabular" else "text",
        n,
        make_rows,
        labels=[f"c{k}" for k in range(n_classes)],
        n_labeled=n_labeled,
        source=f"bench-{kind}-{n}",
        file_hash=f"{kind}{n}",
    )
