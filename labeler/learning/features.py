"""Feature matrices per modality, computed once and cached on disk.

* text: hashed word uni/bi-grams weighted by TF-IDF (sparse CSR, float32). Hashing needs no
  vocabulary in memory, so 1M texts stream through in chunks.
* image: the picture in ``sample.file_ref`` read with Pillow, converted to grayscale, resized
  to ``image_size`` x ``image_size`` and scaled to [0, 1] (dense float32).
* tabular: the ``sample.data`` dicts; numeric columns are mean-imputed and standardised,
  other columns are one-hot encoded (most frequent ``max_categories`` values, the rest and
  missing values share one "other" column). Dense float32.
* embeddings: when the samples carry ``sample.vector``, those vectors are the features as given.

The matrix is cached under ``store.artifacts_dir / "features"`` keyed by a hash of the feature
settings and the sample set (ids of immutable samples, plus the project's identity), so a new
import or new settings give a new cache entry and an unchanged project reuses the old one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from labeler.errors import LabelerError
from labeler.progress import CancelToken, ProgressFn, no_progress
from labeler.store.records import bytes_to_vector

if TYPE_CHECKING:
    from labeler.store.project_store import Store

FEATURE_FORMAT = 1  # bump when the way features are computed changes (invalidates caches)
CHUNK = 50_000
TABULAR_CHUNK = 20_000  # rows of JSON per read: bounds the transient memory of parsing


class FeatureError(LabelerError):
    """Features cannot be computed (missing file, unreadable image, inconsistent vectors)."""


@dataclass(frozen=True)
class FeatureSettings:
    """How raw samples become a matrix. Part of the cache key and of every run's params."""

    text_features: int = 2**18
    text_ngrams: int = 2
    image_size: int = 16
    max_categories: int = 30
    use_vectors: bool = True

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> FeatureSettings:
        known = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass
class Features:
    """Row ``i`` of ``X`` belongs to sample ``ids[i]`` (ascending ids)."""

    ids: np.ndarray  # int64
    X: np.ndarray | sp.csr_matrix  # float32
    kind: str  # text | image | tabular | vectors
    key: str
    columns: list[str]

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    def rows(self, sample_ids: np.ndarray | list[int]) -> np.ndarray:
        """Row positions of ``sample_ids`` (which must all be present)."""
        wanted = np.asarray(sample_ids, dtype=np.int64)
        pos = np.searchsorted(self.ids, wanted)
        pos = np.clip(pos, 0, len(self.ids) - 1)
        missing = self.ids[pos] != wanted
        if missing.any():
            raise FeatureError(f"sample {int(wanted[missing][0])} has no features (stale cache)")
        return pos


# -- public entry points ---------------------------------------------------------------------


def load_features(
    store: Store,
    settings: FeatureSettings | None = None,
    progress: ProgressFn | None = None,
    cancel: CancelToken | None = None,
) -> Features:
    """The project's feature matrix, from the on-disk cache or computed (and then cached)."""
    settings = settings or FeatureSettings()
    progress = progress or no_progress
    ids, identity, has_vector = _sample_index(store, cancel)
    kind = _kind(store.info.modality, has_vector, settings)
    key = feature_key(kind, settings, ids, identity)
    folder = store.artifacts_dir / "features"
    cached = _read_cache(folder, key)
    if cached is not None:
        X, columns = cached
        if X.shape[0] == len(ids):
            return Features(ids, X, kind, key, columns)
    if kind == "vectors":
        X, columns = _vector_features(store, len(ids), progress, cancel)
    elif kind == "text":
        X, columns = _text_features(store, len(ids), settings, progress, cancel)
    elif kind == "image":
        X, columns = _image_features(store, len(ids), settings, progress, cancel)
    else:
        X, columns = _tabular_features(store, len(ids), settings, progress, cancel)
    _write_cache(folder, key, X, columns, family=feature_family(kind, settings, identity))
    return Features(ids, X, kind, key, columns)


def feature_kind(store: Store, settings: FeatureSettings | None = None) -> str:
    """The kind of features a retrain would use (the modality when there are no samples)."""
    settings = settings or FeatureSettings()
    ids = store.samples.ids()
    has_vector = bool(ids) and store.samples.get(int(ids[0])).vector is not None
    return _kind(store.info.modality, has_vector, settings)


def feature_key(kind: str, settings: FeatureSettings, ids: np.ndarray, identity: str) -> str:
    """Cache key: feature settings + the sample ids + the project's identity."""
    h = hashlib.sha256()
    h.update(json.dumps({"format": FEATURE_FORMAT, "kind": kind, **asdict(settings)}).encode())
    h.update(np.ascontiguousarray(ids, dtype=np.int64).tobytes())
    h.update(identity.encode())
    return h.hexdigest()[:24]


def feature_family(kind: str, settings: FeatureSettings, identity: str) -> str:
    """The cache key without the sample set: entries of one family differ only in samples."""
    h = hashlib.sha256()
    h.update(json.dumps({"format": FEATURE_FORMAT, "kind": kind, **asdict(settings)}).encode())
    h.update(identity.encode())
    return h.hexdigest()[:24]


# -- in-memory transforms (used by the store path and by ``labeler simulate``) ------------------


def text_matrix(texts: list[str] | pd.Series, settings: FeatureSettings) -> sp.csr_matrix:
    """TF-IDF over hashed n-grams of ``texts`` (one pass; chunked callers use the pieces)."""
    counts = _hash_texts(list(texts), settings)
    return _tfidf(counts)


def tabular_matrix(frame: pd.DataFrame, settings: FeatureSettings) -> tuple[np.ndarray, list[str]]:
    """Impute, scale and one-hot a DataFrame into a float32 matrix and its column names."""
    encoder = _TabularEncoder(settings.max_categories)
    encoder.observe(frame)
    return encoder.finish(encoder.encode(frame)), encoder.column_names()


# -- sample index ---------------------------------------------------------------------------


def _sample_index(store: Store, cancel: CancelToken | None) -> tuple[np.ndarray, str, bool]:
    """Sample ids (ascending), the project's identity, and whether the samples carry vectors.

    Samples are immutable and their ids are never reused within a project, so the ids name
    the sample set; the project's name and creation time guard against a project re-created
    in the same folder. (Reading every content hash would scan the whole sample table: ~15 s
    at 1M rows; the ids come from an index.)"""
    if cancel is not None:
        cancel.check()
    ids = np.asarray(store.samples.ids(), dtype=np.int64)
    if len(ids) == 0:
        raise FeatureError(f"project {store.info.name!r} has no samples; import data first")
    info = store.info
    created = info.created_at.isoformat() if info.created_at else ""
    identity = f"{store.location.url}#{info.name}#{info.id}#{created}"
    has_vector = store.samples.get(int(ids[0])).vector is not None
    return ids, identity, has_vector


def _kind(modality: str, has_vector: bool, settings: FeatureSettings) -> str:
    if has_vector and settings.use_vectors:
        return "vectors"
    return modality


# -- cache ----------------------------------------------------------------------------------


def _read_cache(folder: Path, key: str) -> tuple[np.ndarray | sp.csr_matrix, list[str]] | None:
    meta_path = folder / f"{key}.json"
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if meta.get("sparse"):
            X: np.ndarray | sp.csr_matrix = sp.load_npz(folder / f"{key}.npz").tocsr()
        else:
            X = np.load(folder / f"{key}.npy", mmap_mode="r")
        return X, list(meta.get("columns", []))
    except (OSError, ValueError):
        return None  # a damaged cache entry is recomputed


def _write_cache(
    folder: Path,
    key: str,
    X: np.ndarray | sp.csr_matrix,
    columns: list[str],
    family: str | None = None,
) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    sparse = sp.issparse(X)
    target = folder / (f"{key}.npz" if sparse else f"{key}.npy")
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        if sparse:
            sp.save_npz(fh, X, compressed=False)
        else:
            np.save(fh, X)
    os.replace(tmp, target)
    meta = {"sparse": sparse, "shape": list(X.shape), "columns": columns, "family": family}
    meta_tmp = folder / f".{key}.json.{os.getpid()}.tmp"
    meta_tmp.write_text(json.dumps(meta), encoding="utf-8")
    os.replace(meta_tmp, folder / f"{key}.json")
    if family is not None:
        _prune_cache(folder, key, family, int(X.shape[0]))


def _prune_cache(folder: Path, key: str, family: str, rows: int) -> None:
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


# -- embeddings -----------------------------------------------------------------------------


def _vector_features(
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


# -- text -----------------------------------------------------------------------------------


def _hash_texts(texts: list[str], settings: FeatureSettings) -> sp.csr_matrix:
    from sklearn.feature_extraction.text import HashingVectorizer

    vec = HashingVectorizer(
        n_features=settings.text_features,
        ngram_range=(1, settings.text_ngrams),
        alternate_sign=False,
        norm=None,
        dtype=np.float32,
    )
    return vec.transform(["" if t is None else str(t) for t in texts]).tocsr()


def _tfidf(counts: sp.csr_matrix) -> sp.csr_matrix:
    from sklearn.feature_extraction.text import TfidfTransformer

    tfidf = TfidfTransformer(sublinear_tf=True)
    out = tfidf.fit_transform(counts)
    return out.astype(np.float32).tocsr()


def _text_features(
    store: Store,
    n: int,
    settings: FeatureSettings,
    progress: ProgressFn,
    cancel: CancelToken | None,
) -> tuple[sp.csr_matrix, list[str]]:
    parts = []
    done = 0
    for frame in store.samples.iter_frames(CHUNK, columns=("text",)):
        if cancel is not None:
            cancel.check()
        parts.append(_hash_texts(frame["text"].tolist(), settings))
        done += len(frame)
        progress(done, n)
    return _tfidf(sp.vstack(parts, format="csr")), []


# -- images ---------------------------------------------------------------------------------


def _image_features(
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


# -- tabular --------------------------------------------------------------------------------


def _parse_json_rows(raw: pd.Series) -> pd.DataFrame:
    """Parse a chunk of JSON object strings into a DataFrame (pyarrow when it can)."""
    texts = ["{}" if r is None else r for r in raw]
    try:
        import pyarrow.json as paj

        table = paj.read_json(io.BytesIO("\n".join(texts).encode("utf-8")))
        return table.to_pandas()
    except Exception:  # noqa: BLE001 - mixed types per column: fall back to the slow parser
        return pd.DataFrame.from_records([json.loads(t) for t in texts])


class _TabularEncoder:
    """Two-phase tabular encoding: ``observe`` chunks (types, categories), then ``encode``."""

    def __init__(self, max_categories: int) -> None:
        self.max_categories = max_categories
        self.columns: list[str] = []
        self.numeric: dict[str, bool] = {}
        self.counts: dict[str, dict[str, int]] = {}

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
        standardise(X, self._numeric_positions())
        return X

    def _numeric_positions(self) -> list[int]:
        pos, j = [], 0
        for name in self.columns:
            if self.numeric[name]:
                pos.append(j)
                j += 1
            else:
                j += len(self.categories(name)) + 1
        return pos


def standardise(X: np.ndarray, columns: list[int]) -> None:
    """Mean-impute and scale the given columns of ``X`` in place (chunked, float32)."""
    for j in columns:
        col = X[:, j]
        finite = np.isfinite(col)
        if not finite.any():
            col[:] = 0.0
            continue
        mean = float(col[finite].mean(dtype=np.float64))
        std = float(col[finite].std(dtype=np.float64))
        col[~finite] = mean
        col -= mean
        if std > 0:
            col /= std


def _tabular_features(
    store: Store,
    n: int,
    settings: FeatureSettings,
    progress: ProgressFn,
    cancel: CancelToken | None,
) -> tuple[np.ndarray, list[str]]:
    encoder = _TabularEncoder(settings.max_categories)
    # Pass 1: column types and category counts. While every column seen is numeric and the
    # columns do not change, the values go straight into the final matrix (one pass).
    X: np.ndarray | None = None
    row = 0
    for frame in store.samples.iter_frames(TABULAR_CHUNK, columns=("data",)):
        if cancel is not None:
            cancel.check()
        parsed = _parse_json_rows(frame["data"])
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
        return encoder.finish(X), encoder.column_names()
    # Pass 2: encode into one preallocated matrix now that categories are known.
    X = np.empty((n, encoder.width()), dtype=np.float32)
    row = 0
    for frame in store.samples.iter_frames(TABULAR_CHUNK, columns=("data",)):
        if cancel is not None:
            cancel.check()
        block = encoder.encode(_parse_json_rows(frame["data"]))
        X[row : row + len(block)] = block
        row += len(block)
        progress(n + row, 2 * n)
    return encoder.finish(X), encoder.column_names()
