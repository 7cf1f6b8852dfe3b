"""Row-indexable views that keep large feature matrices as they are cached.

* :class:`HStack`: TF-IDF (sparse) and embeddings (dense, float16 on disk) side by side.
  Stored together as one CSR matrix, 1M short texts would take ~2 GB (every embedding value
  with its column index); as two blocks they take ~0.7 GB, and ``X[rows]`` builds the joined
  CSR rows only for the rows asked for (a labeled set, a scoring chunk of 65k).
* :class:`RowSubset`: some rows of a matrix, indexed lazily (a cold start's pool).

Both offer what the engine uses of a matrix: ``shape``, ``ndim``, ``dtype`` and ``X[rows]``
with a slice or an integer array.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

Rows = slice | np.ndarray | list[int]


class HStack:
    """Blocks concatenated column-wise; each block's rows are already normalised."""

    ndim = 2
    dtype = np.dtype(np.float32)

    def __init__(self, blocks: list[Any]) -> None:
        n = {int(b.shape[0]) for b in blocks}
        if len(n) != 1:
            raise ValueError("blocks must have the same number of rows")
        self.blocks = blocks
        self.shape = (n.pop(), sum(int(b.shape[1]) for b in blocks))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: Rows) -> sp.csr_matrix:
        parts = []
        for block in self.blocks:
            part = block[rows]
            if not sp.issparse(part):
                part = sp.csr_matrix(np.asarray(part, dtype=np.float32))
            parts.append(part)
        return sp.hstack(parts, format="csr", dtype=np.float32)


class RowSubset:
    """Rows ``rows`` of ``base``; ``view[i]`` is ``base[rows[i]]``."""

    ndim = 2

    def __init__(self, base: Any, rows: np.ndarray) -> None:
        self.base = base
        self.rows = np.asarray(rows, dtype=np.int64)
        self.shape = (len(self.rows), int(base.shape[1]))
        self.dtype = getattr(base, "dtype", np.dtype(np.float32))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, rows: Rows) -> Any:
        return self.base[self.rows[rows]]
