"""Row-indexable views that keep large feature matrices as they are cached.

* :class:`HStack`: TF-IDF (sparse) and embeddings (dense, float16 on disk) side by side.
  Stored together as one CSR matrix, 1M short texts would take ~2 GB (every embedding value
  with its column index); as two blocks they take ~0.7 GB, and ``X[rows]`` builds the joined
  CSR rows only for the rows asked for (a labeled set, a scoring chunk of 65k).
  :func:`predict_proba` scores a linear model on them block by block (no joined rows).
* :class:`RowSubset`: some rows of a matrix, indexed lazily (a cold start's pool).

Both offer what the engine uses of a matrix: ``shape``, ``ndim``, ``dtype`` and ``X[rows]``
with a slice or an integer array.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.special import expit, softmax
from sklearn.linear_model import LogisticRegression

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
        out = self.blocks[0][rows]
        for block in self.blocks[1:]:
            out = join(out, block[rows])
        return out

    def dot(self, W: np.ndarray, rows: Rows = slice(None)) -> np.ndarray:
        """``X[rows] @ W`` (float64) block by block, without building the joined rows: a
        dense block is upcast :data:`DOT_CHUNK` rows at a time."""
        W = np.asarray(W, dtype=np.float64)
        out: np.ndarray | None = None
        col = 0
        for block in self.blocks:
            w = W[col : col + block.shape[1]]
            col += block.shape[1]
            part = block[rows]
            if sp.issparse(part):
                prod = np.asarray(part @ w)
            else:
                prod = np.empty((part.shape[0], W.shape[1]))
                # one upcast buffer, filled in place chunk after chunk: a fresh array per
                # chunk cost more in page faults than the cast (1M embeddings: ~1.6x)
                buf = np.empty((min(DOT_CHUNK, part.shape[0]), part.shape[1]))
                for start in range(0, part.shape[0], DOT_CHUNK):
                    chunk = part[start : start + DOT_CHUNK]
                    upcast = buf[: chunk.shape[0]]
                    np.copyto(upcast, chunk)
                    prod[start : start + DOT_CHUNK] = upcast @ w
            out = prod if out is None else out + prod
        assert out is not None
        return out


DOT_CHUNK = 16_384  # dense rows upcast to float64 at a time (16k x 256 x 8 bytes = 32 MB)


def predict_proba(estimator: Any, X: Any, rows: Rows) -> np.ndarray:
    """``estimator.predict_proba(X[rows])``. For blocks (:class:`HStack`) and a fitted
    logistic regression it is computed block by block, the same link function on
    ``X @ coef.T + intercept``: building the joined rows of a 65k-row scoring chunk (TF-IDF
    beside 256 embedding columns) costs ~20x the products themselves."""
    if not isinstance(X, HStack) or type(estimator) is not LogisticRegression:
        return estimator.predict_proba(X[rows])
    decision = X.dot(estimator.coef_.T, rows) + estimator.intercept_
    if len(estimator.classes_) <= 2:
        p = expit(decision[:, 0])
        return np.stack([1 - p, p], axis=1)
    return softmax(decision, axis=1)


def join(A: Any, B: Any) -> sp.csr_matrix:
    """``[A | B]`` as CSR, built straight into its arrays: ``scipy.sparse.hstack`` goes through
    COO and, for a dense ``B``, through ``nonzero()``, about three times the result's memory."""
    A = sp.csr_matrix(A, dtype=np.float32) if not sp.issparse(A) else A.tocsr()
    if sp.issparse(B):
        return sp.hstack([A, B], format="csr", dtype=np.float32)
    D = np.asarray(B, dtype=np.float32)
    n, d = D.shape
    per_row = np.diff(A.indptr)
    indptr = A.indptr.astype(np.int64) + np.arange(n + 1, dtype=np.int64) * d
    total = int(indptr[-1])
    data = np.empty(total, dtype=np.float32)
    indices = np.empty(total, dtype=np.int32)
    in_a = np.arange(A.nnz, dtype=np.int64) + np.repeat(np.arange(n, dtype=np.int64) * d, per_row)
    data[in_a] = A.data
    indices[in_a] = A.indices
    dense = np.ones(total, dtype=bool)
    dense[in_a] = False
    del in_a
    data[dense] = D.ravel()
    indices[dense] = np.tile(np.arange(A.shape[1], A.shape[1] + d, dtype=np.int32), n)
    if total < 2**31:  # one index type, so scipy keeps int32 indices instead of upcasting
        indptr = indptr.astype(np.int32)
    return sp.csr_matrix((data, indices, indptr), shape=(n, A.shape[1] + d))


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
