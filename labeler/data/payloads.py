"""Row validation and payload building for the importer (one chunk at a time).

A payload is what the store keeps per sample: text, an image file reference, tabular fields
(JSON) and/or an embedding vector (float32 bytes). Its content hash (BLAKE2b, 128 bit, hex)
covers exactly the payload, so the same content under another id is a duplicate.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from labeler.data.json_rows import json_objects, legacy_json_lines
from labeler.errors import DataImportError
from labeler.store.records import ProjectInfo

if TYPE_CHECKING:
    from labeler.data.importer import ColumnMapping
    from labeler.data.label_studio import Annotation

MULTI_LABEL_SEPARATORS = ("|", ";")
MAX_ID_LENGTH = 300  # the external_id column's size
# the largest payload of one sample (text, or a tabular row as JSON), in bytes of UTF-8;
# a project may set its own (``settings["import"]["max_payload_bytes"]``)
DEFAULT_MAX_PAYLOAD_BYTES = 1_000_000


def max_payload_bytes(info: ProjectInfo) -> int:
    """The project's limit on one sample's payload (bytes of UTF-8)."""
    value = (info.settings.get("import") or {}).get("max_payload_bytes")
    return int(value) if isinstance(value, int) and value > 0 else DEFAULT_MAX_PAYLOAD_BYTES


def _size(n_bytes: int) -> str:
    return f"{n_bytes / 1e6:.1f} MB" if n_bytes >= 100_000 else f"{n_bytes} bytes"


def _is_encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


@dataclass
class Built:
    hashes: list[str]
    external_ids: list[str | None]
    texts: list[str | None]
    files: list[str | None]
    data: list[str | None]
    vectors: list[bytes | None]
    labels: list[tuple[str, ...] | None]
    # content hashes in the row format of projects imported before row format 2 (see
    # labeler.data.json_rows.legacy_json_lines), when the project holds such rows
    legacy_hashes: list[str] | None = None
    # Label Studio imports: per row, every annotation as (annotator, labels, time)
    given: list[list[Annotation]] | None = None

    def columns(self, keep: list[int] | None = None) -> tuple[list[Any], ...]:
        """The stored columns (external id, hash, text, file, data, vector), optionally only
        the rows in ``keep``."""
        cols = (self.external_ids, self.hashes, self.texts, self.files, self.data, self.vectors)
        if keep is None:
            return cols  # type: ignore[return-value]
        return tuple([col[i] for i in keep] for col in cols)


def _hash_rows(
    n: int,
    texts: list[str | None],
    file_hashes: list[bytes] | None,
    data: list[str | None],
    vectors: list[bytes | None],
) -> list[str]:
    """Content hash per row over the payload parts that are present (one BLAKE2b call a row)."""
    blake = hashlib.blake2b
    has_text = bool(texts) and texts[0] is not None
    has_vector = bool(vectors) and vectors[0] is not None
    if data and data[0] is not None and not (has_text or has_vector or file_hashes is not None):
        # tabular fields only (the bulk case): no per-row part lists
        return [blake(b"d" + d.encode(), digest_size=16).hexdigest() for d in data]  # type: ignore[union-attr]
    parts: list[list[bytes]] = [[] for _ in range(n)]
    if has_text:
        for p, t in zip(parts, texts, strict=True):
            p.append(b"t" + t.encode("utf-8"))  # type: ignore[union-attr]
    if file_hashes is not None:
        for p, fh in zip(parts, file_hashes, strict=True):
            p.append(b"i" + fh)
    if data and data[0] is not None:
        for p, d in zip(parts, data, strict=True):
            p.append(b"d" + d.encode("utf-8"))  # type: ignore[union-attr]
    if has_vector:
        for p, v in zip(parts, vectors, strict=True):
            p.append(b"v" + v)  # type: ignore[operator]
    if all(len(p) == 1 for p in parts[:1]):  # one payload kind (the common case): no join
        return [blake(p[0], digest_size=16).hexdigest() for p in parts]
    return [blake(b"\x1f".join(p), digest_size=16).hexdigest() for p in parts]


class PayloadBuilder:
    def __init__(
        self,
        info: ProjectInfo,
        mapping: ColumnMapping,
        source: str,
        base_dir: Path,
        legacy_hashes: bool = False,
    ) -> None:
        self.info = info
        self.mapping = mapping
        self.source = source
        self.base_dir = base_dir
        self.numeric: dict[str, bool] | None = None  # per feature column, fixed by the first chunk
        self.embedding_dim: int | None = None
        # also hash tabular rows in the old row format (the project has rows imported in it),
        # so that re-importing a file imported before is still seen as duplicates
        self.legacy_hashes = legacy_hashes
        self._legacy_data: list[str] | None = None
        self._labels = set(info.label_names)
        self.max_payload = max_payload_bytes(info)

    def _error(self, message: str, row: int | None, column: str | None) -> DataImportError:
        return DataImportError(message, file=self.source, row=row, column=column)

    def _too_big(self, what: str, size: int) -> str:
        return (
            f"{what} is {_size(size)}, more than the limit of {_size(self.max_payload)} per "
            "sample (project setting import.max_payload_bytes)"
        )

    def build(self, frame: pd.DataFrame, first_row: int) -> Built:
        n = len(frame)
        m = self.mapping
        frame = frame.reset_index(drop=True)
        ext_ids = self._ids(frame, first_row) if m.id_column else [None] * n
        texts = self._texts(frame, first_row) if m.text_column else [None] * n
        files, file_hashes = (
            self._images(frame, first_row) if m.image_column else ([None] * n, [b""] * n)
        )
        data = self._features(frame, first_row) if m.feature_columns else [None] * n
        vectors = self._embeddings(frame, first_row) if m.embedding_column else [None] * n
        labels = self._parse_labels(frame, first_row) if m.label_column else [None] * n
        fhashes = file_hashes if m.image_column else None
        hashes = _hash_rows(n, texts, fhashes, data, vectors)
        legacy = None
        if self._legacy_data is not None:
            legacy = _hash_rows(n, texts, fhashes, self._legacy_data, vectors)  # type: ignore[arg-type]
            self._legacy_data = None
        return Built(hashes, ext_ids, texts, files, data, vectors, labels, legacy)

    # -- columns -----------------------------------------------------------------------

    def _ids(self, frame: pd.DataFrame, first_row: int) -> list[str | None]:
        col = self.mapping.id_column
        values = frame[col]
        missing = values.isna().to_numpy()
        if missing.any():
            raise self._error("missing id", first_row + int(np.argmax(missing)), col)
        # Arrow-backed strings are str values and valid UTF-8: no per-row checks needed
        arrow_text = isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"
        if not arrow_text:
            for i, v in enumerate(values.tolist()):
                if isinstance(v, list | tuple | dict | np.ndarray | bytes):
                    raise self._error(
                        f"an id must be a single value, got {type(v).__name__}", first_row + i, col
                    )
        as_text = values.astype(str)
        too_long = (as_text.str.len() > MAX_ID_LENGTH).to_numpy()
        if too_long.any():
            i = int(np.argmax(too_long))
            raise self._error(f"id is longer than {MAX_ID_LENGTH} characters", first_row + i, col)
        for i, v in enumerate([] if arrow_text else as_text.tolist()):
            if not _is_encodable(v):
                raise self._error("id is not valid Unicode (lone surrogate)", first_row + i, col)
        repeated = as_text.duplicated().to_numpy()
        if repeated.any():
            i = int(np.argmax(repeated))
            raise self._error(
                f"id {as_text.iloc[i]!r} appears twice in the file", first_row + i, col
            )
        return as_text.tolist()

    def _texts(self, frame: pd.DataFrame, first_row: int) -> list[str | None]:
        col = self.mapping.text_column
        out: list[str | None] = []
        for i, v in enumerate(frame[col].tolist()):
            if v is None or (isinstance(v, float) and math.isnan(v)):
                raise self._error("missing text", first_row + i, col)
            if isinstance(v, list | tuple | dict | np.ndarray | bool):
                raise self._error(f"expected text, got {type(v).__name__}", first_row + i, col)
            if isinstance(v, bytes):
                try:
                    v = v.decode("utf-8")
                except UnicodeDecodeError:
                    raise self._error("text is not valid UTF-8", first_row + i, col) from None
            text = str(v)
            if not text.strip():
                raise self._error("empty text", first_row + i, col)
            if "\x00" in text:
                raise self._error("text contains a NUL character", first_row + i, col)
            try:
                size = len(text.encode("utf-8"))
            except UnicodeEncodeError:
                raise self._error(
                    "text is not valid Unicode (lone surrogate)", first_row + i, col
                ) from None
            if size > self.max_payload:
                raise self._error(self._too_big("text", size), first_row + i, col)
            out.append(text)
        return out

    def _images(self, frame: pd.DataFrame, first_row: int) -> tuple[list[str | None], list[bytes]]:
        from PIL import Image, UnidentifiedImageError

        col = self.mapping.image_column
        files: list[str | None] = []
        hashes: list[bytes] = []
        for i, v in enumerate(frame[col].tolist()):
            row = first_row + i
            if v is None or (isinstance(v, float) and math.isnan(v)) or not str(v).strip():
                raise self._error("missing image path", row, col)
            p = Path(str(v)).expanduser()
            if not p.is_absolute():
                p = self.base_dir / p
            try:
                raw = p.read_bytes()
            except OSError as exc:
                raise self._error(
                    f"cannot read image {str(p)!r} ({exc.strerror or exc})", row, col
                ) from None
            try:
                with Image.open(p) as im:
                    im.load()  # decodes the pixels: a truncated file fails here, not later
            except (
                UnidentifiedImageError,
                OSError,
                SyntaxError,
                ValueError,
                Image.DecompressionBombError,
            ) as exc:
                raise self._error(f"unreadable image {str(p)!r} ({exc})", row, col) from None
            files.append(str(p.resolve()))
            hashes.append(hashlib.blake2b(raw, digest_size=16).digest())
        return files, hashes

    def _features(self, frame: pd.DataFrame, first_row: int) -> list[str | None]:
        cols = list(self.mapping.feature_columns or [])
        sub = frame[cols].copy()
        if self.numeric is None:
            self.numeric = {}
            for c in cols:
                s = sub[c]
                if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
                    self.numeric[c] = True
                else:
                    conv = _to_numeric(s)
                    self.numeric[c] = bool(s.notna().any()) and bool(
                        (conv.notna() == s.notna()).all()
                    )
        for c in cols:
            s = sub[c]
            if self.numeric[c]:
                if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                    conv = s.astype("float64")
                else:
                    conv = _to_numeric(s)
                    bad = conv.isna() & s.notna()
                    if bad.any():
                        i = int(np.argmax(bad.to_numpy()))
                        raise self._error(
                            f"{s.iloc[i]!r} is not a number (the column is numeric)",
                            first_row + i,
                            c,
                        )
                if np.isinf(conv.to_numpy(dtype="float64", na_value=np.nan)).any():
                    i = int(np.argmax(np.isinf(conv.to_numpy(dtype="float64", na_value=np.nan))))
                    raise self._error("infinite value", first_row + i, c)
                sub[c] = conv
            elif not isinstance(s.dtype, pd.StringDtype):  # string dtypes hold str or missing
                for i, v in enumerate(s.tolist()):
                    if isinstance(v, list | tuple | dict | np.ndarray):
                        raise self._error(
                            f"expected a single value, got {type(v).__name__}", first_row + i, c
                        )
                    if isinstance(v, str) and not _is_encodable(v):
                        raise self._error(
                            "value is not valid Unicode (lone surrogate)", first_row + i, c
                        )
                sub[c] = (
                    s.astype("object")
                    .where(s.notna(), None)
                    .map(lambda x: None if x is None else str(x))
                )
        if self.legacy_hashes:
            self._legacy_data = legacy_json_lines(sub)
        rows = json_objects(sub, [self.numeric[c] for c in cols])
        for i, row in enumerate(rows):
            if row is not None and len(row) * 4 > self.max_payload:
                size = len(row.encode("utf-8"))
                if size > self.max_payload:
                    column = max(cols, key=lambda c: len(str(sub[c].iloc[i])))
                    raise self._error(self._too_big("the row", size), first_row + i, column)
        return rows  # type: ignore[return-value]

    def _embeddings(self, frame: pd.DataFrame, first_row: int) -> list[bytes | None]:
        col = self.mapping.embedding_column
        out: list[bytes | None] = []
        for i, v in enumerate(frame[col].tolist()):
            row = first_row + i
            vec = _parse_vector(v)
            if vec is None:
                raise self._error("embedding is not a list of numbers", row, col)
            if vec.size == 0:
                raise self._error("empty embedding", row, col)
            if not np.isfinite(vec).all():
                raise self._error("embedding contains NaN or infinity", row, col)
            if self.embedding_dim is None:
                self.embedding_dim = int(vec.size)
            elif vec.size != self.embedding_dim:
                raise self._error(
                    f"embedding has {vec.size} values, earlier rows have {self.embedding_dim}",
                    row,
                    col,
                )
            out.append(vec.astype("<f4").tobytes())
        return out

    def _parse_labels(self, frame: pd.DataFrame, first_row: int) -> list[tuple[str, ...] | None]:
        col = self.mapping.label_column
        out: list[tuple[str, ...] | None] = []
        multi = self.info.multi_label
        for i, v in enumerate(frame[col].tolist()):
            row = first_row + i
            if v is None or (isinstance(v, float) and math.isnan(v)):
                out.append(None)
                continue
            if isinstance(v, list | tuple | np.ndarray):
                names = [str(x).strip() for x in v]
            else:
                text = str(v).strip()
                if text == "":
                    out.append(None)
                    continue
                if multi and text.startswith("["):
                    try:
                        names = [str(x).strip() for x in json.loads(text)]
                    except ValueError:
                        raise self._error(
                            f"label list {text!r} is not valid JSON", row, col
                        ) from None
                elif multi:
                    names = [text]
                    for sep in MULTI_LABEL_SEPARATORS:
                        if sep in text:
                            names = [x.strip() for x in text.split(sep) if x.strip()]
                            break
                else:
                    names = [text]
            for name in names:
                if name not in self._labels:
                    raise self._error(
                        f"unknown label {name!r} (the project's labels are {', '.join(self.info.label_names)})",
                        row,
                        col,
                    )
            if not multi and len(names) != 1:
                raise self._error(f"expected one label, got {len(names)}", row, col)
            out.append(tuple(dict.fromkeys(names)))
        return out


def _parse_vector(v: Any) -> np.ndarray | None:
    if isinstance(v, np.ndarray | list | tuple):
        try:
            return np.asarray(v, dtype="float64").ravel() if np.asarray(v).ndim == 1 else None
        except (TypeError, ValueError):
            return None
    if isinstance(v, str):
        text = v.strip()
        try:
            if text.startswith("["):
                parsed = json.loads(text)
                if not isinstance(parsed, list) or any(isinstance(x, list | dict) for x in parsed):
                    return None
                return np.asarray(parsed, dtype="float64")
            return np.asarray([float(x) for x in text.replace(",", " ").split()], dtype="float64")
        except (TypeError, ValueError):
            return None
    return None


def _to_numeric(s: pd.Series) -> pd.Series:
    """Numbers where cells parse as numbers, NaN elsewhere (nested values count as non-numbers)."""
    try:
        return pd.to_numeric(s, errors="coerce")
    except (TypeError, ValueError):
        return s.map(_number_or_nan).astype("float64")


def _number_or_nan(v: Any) -> float:
    if isinstance(v, bool | np.bool_) or not isinstance(v, int | float | str | np.number):
        return math.nan
    try:
        return float(v)
    except ValueError:
        return math.nan
