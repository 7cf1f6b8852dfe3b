"""The on-disk cache of feature matrices (``artifacts/features``): one matrix per key, written
atomically, older sample sets of the same family pruned."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import numpy as np
import scipy.sparse as sp


def read_cache(
    folder: Path, key: str
) -> tuple[np.ndarray | sp.csr_matrix, list[str], dict | None] | None:
    """``(X, columns, state)``: ``state`` is what the features learned (tabular statistics),
    None if the entry holds none."""
    meta_path = folder / f"{key}.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("sparse"):
            X: np.ndarray | sp.csr_matrix = sp.load_npz(folder / f"{key}.npz").tocsr()
        else:
            X = np.load(folder / f"{key}.npy", mmap_mode="r")
        return X, list(meta.get("columns", [])), meta.get("state")
    except (OSError, ValueError):
        return None  # a damaged cache entry is recomputed


def write_cache(
    folder: Path,
    key: str,
    X: np.ndarray | sp.csr_matrix,
    columns: list[str],
    family: str | None = None,
    state: dict | None = None,
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    sparse = sp.issparse(X)
    target = folder / (f"{key}.npz" if sparse else f"{key}.npy")
    tmp = target.with_name(f".{target.name}.{_unique()}.tmp")
    with open(tmp, "wb") as fh:
        if sparse:
            sp.save_npz(fh, X, compressed=False)
        else:
            np.save(fh, X)
    os.replace(tmp, target)
    meta = {
        "sparse": sparse,
        "shape": list(X.shape),
        "columns": columns,
        "family": family,
        "state": state,
    }
    meta_tmp = folder / f".{key}.json.{_unique()}.tmp"
    meta_tmp.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(meta_tmp, folder / f"{key}.json")
    if family is not None:
        prune_cache(folder, key, family, int(X.shape[0]))


def _unique() -> str:
    """A temporary-file tag no other writer uses (processes *and* threads: two trainers of
    one process writing the same key must not rename each other's files away)."""
    return f"{os.getpid()}.{uuid.uuid4().hex[:8]}"


def prune_cache(folder: Path, key: str, family: str, rows: int) -> None:
    """Delete entries of the same family over fewer samples: samples are only ever added, so
    an older sample set never comes back (without this every import left a matrix behind)."""
    for meta_path in folder.glob("*.json"):
        if meta_path.stem == key:
            continue
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if meta.get("family") != family or int(meta.get("shape", [rows])[0]) >= rows:
                continue
            for suffix in (".npy", ".npz"):  # the matrix first: a failure keeps the entry known
                meta_path.with_suffix(suffix).unlink(missing_ok=True)
            meta_path.unlink()
        except (OSError, ValueError, TypeError, IndexError):
            continue  # in use (Windows), damaged or removed by another trainer: leave it
