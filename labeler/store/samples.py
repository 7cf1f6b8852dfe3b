"""Samples: bulk import (one transaction), lookup and streaming reads."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from labeler.errors import LabelError
from labeler.store import schema as t
from labeler.store.database import SQLITE_CACHE_KIB, utcnow
from labeler.store.ids import reserve_ids
from labeler.store.label_cut import append_events
from labeler.store.records import Sample, bytes_to_vector, dumps
from labeler.store.search import has_fts, index_new_samples

if TYPE_CHECKING:
    from labeler.store.project_store import Store

SAMPLE_COLUMNS = ("external_id", "content_hash", "text", "file_ref", "data", "vector")


class ExternalIdTaken(LabelError):
    """An imported sample's external id is already used by a sample of the project."""

    def __init__(self, index: int) -> None:
        super().__init__(f"external id of row {index} of the chunk is already used")
        self.index = index


class ImportBatch:
    """Writes one import inside one transaction; see :meth:`SampleRepo.bulk_import`."""

    def __init__(self, store: Store, conn: sa.Connection, batch_id: int) -> None:
        self._store = store
        self._conn = conn
        self.batch_id = batch_id
        self.rows_added = 0
        self.duplicates = 0
        self.duplicate_labels = 0
        self.labels_added = 0
        pid = store.project_id
        self.existing_hashes: set[str] = set(
            conn.execute(
                sa.select(t.sample.c.content_hash).where(t.sample.c.project_id == pid)
            ).scalars()
        )
        # SQLite: the unique index finds a reused external id during the insert, and the
        # transaction survives the error (see _insert_sqlite). PostgreSQL aborts a transaction
        # on any error, so there the ids are checked against a set before inserting.
        self._ids_in_memory = conn.dialect.name != "sqlite"
        self._fts = has_fts(conn)  # SQLite's search index, filled with the samples
        self.existing_external_ids: set[str] = (
            set(
                conn.execute(
                    sa.select(t.sample.c.external_id).where(t.sample.c.project_id == pid)
                ).scalars()
            )
            if self._ids_in_memory
            else set()
        )

    @property
    def conn(self) -> sa.Connection:
        """The import's one transaction (for writers that add to the same import)."""
        return self._conn

    def add_samples(self, rows: Sequence[Sequence[Any]]) -> list[int]:
        """Insert rows of ``(external_id, content_hash, text, file_ref, data_json, vector_bytes)``."""
        if not rows:
            return []
        return self.add_columns(*(list(col) for col in zip(*rows, strict=True)))

    def add_columns(
        self,
        external_ids: list[str],
        hashes: list[str],
        texts: list[str | None],
        files: list[str | None],
        data: list[str | None],
        vectors: list[bytes | None],
    ) -> list[int]:
        """Insert samples given column-wise (equal-length lists). Returns the new sample ids.

        The caller has validated the values and removed duplicates. Raises
        :class:`ExternalIdTaken` (nothing of this call written) when an external id is
        already used by a sample of the project.
        """
        n = len(hashes)
        if n == 0:
            return []
        cols = (external_ids, hashes, texts, files, data, vectors)
        if self._ids_in_memory:
            taken = self.existing_external_ids
            if not taken.isdisjoint(external_ids):
                raise ExternalIdTaken(next(i for i, e in enumerate(external_ids) if e in taken))
        ids = reserve_ids(self._conn, t.sample, n)
        if self._conn.dialect.name == "sqlite":
            self._insert_sqlite(ids, cols)
        else:
            pid = self._store.project_id
            keys = ("id", "project_id", "import_batch_id", *SAMPLE_COLUMNS)
            params = zip(ids, repeat(pid, n), repeat(self.batch_id, n), *cols, strict=True)
            self._conn.execute(t.sample.insert(), [dict(zip(keys, p, strict=True)) for p in params])
            self.existing_external_ids.update(external_ids)
        self.existing_hashes.update(hashes)
        self.rows_added += n
        return list(ids)

    def _insert_sqlite(self, ids: Sequence[int], cols: tuple[list[Any], ...]) -> None:
        # Bind only the columns that hold values (absent ones default to NULL) and write the
        # two constants into the statement: binding costs per value, and a tabular import
        # binds 4 values a row instead of 9 (about half the insert time).
        n = len(ids)
        present = [
            (name, col)
            for name, col in zip(SAMPLE_COLUMNS, cols, strict=True)
            if col.count(None) != n
        ]
        names = ", ".join(name for name, _ in present)
        marks = ", ".join("?" for _ in present)
        sql = (
            f"INSERT INTO sample (id, project_id, import_batch_id, {names}) "
            f"VALUES (?, {int(self._store.project_id)}, {int(self.batch_id)}, {marks})"
        )
        # the driver's cursor, in this transaction, takes the rows as an iterator
        cursor = self._conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        cursor.execute("SAVEPOINT add_samples")
        try:
            cursor.executemany(sql, zip(ids, *(col for _, col in present), strict=True))
            if self._fts:
                index_new_samples(cursor, list(ids), cols[0], cols[2], cols[3])
        except sqlite3.IntegrityError:
            cursor.execute("ROLLBACK TO add_samples")
            cursor.execute("RELEASE add_samples")
            index = self._first_taken_id(cols[0])
            if index is None:
                raise
            raise ExternalIdTaken(index) from None
        else:
            cursor.execute("RELEASE add_samples")
        finally:
            cursor.close()

    def _first_taken_id(self, external_ids: list[str]) -> int | None:
        """Index of the first of ``external_ids`` that a sample of the project already has."""
        taken: set[str] = set()
        sample = t.sample
        for start in range(0, len(external_ids), 500):
            taken.update(
                self._conn.execute(
                    sa.select(sample.c.external_id).where(
                        sample.c.project_id == self._store.project_id,
                        sample.c.external_id.in_(external_ids[start : start + 500]),
                    )
                ).scalars()
            )
        return next((i for i, e in enumerate(external_ids) if e in taken), None)

    def add_labels(
        self, sample_ids: Sequence[int], labels: Sequence[Sequence[str]], annotator: str = "import"
    ) -> None:
        """Record given labels as label events (and their derived state) for new samples."""
        if not sample_ids:
            return
        names = set(self._store.info.label_names)
        for lab in labels:
            bad = [x for x in lab if x not in names]
            if bad:
                raise LabelError(f"unknown label {bad[0]!r}")
        now = utcnow()
        pid = self._store.project_id
        label_json = [dumps(list(lab)) for lab in labels]
        event_ids = append_events(
            self._conn,
            pid,
            [
                {
                    "sample_id": sid,
                    "annotator": annotator,
                    "action": "label",
                    "labels": lj,
                    "created_at": now,
                }
                for sid, lj in zip(sample_ids, label_json, strict=True)
            ],
        )
        states = [
            {
                "sample_id": sid,
                "project_id": pid,
                "status": "labeled",
                "labels": lj,
                "annotator": annotator,
                "event_id": eid,
                "n_annotators": 1,
                "disagreement": False,
                "adjudicated": False,
                "flagged": False,
                "updated_at": now,
            }
            for eid, sid, lj in zip(event_ids, sample_ids, label_json, strict=True)
        ]
        self._conn.execute(t.sample_state.insert(), states)
        self.labels_added += len(sample_ids)


class SampleRepo:
    def __init__(self, store: Store) -> None:
        self._store = store

    @contextmanager
    def bulk_import(
        self, source: str, file_hash: str, params: dict[str, Any] | None = None
    ) -> Iterator[ImportBatch]:
        """One import as one transaction: everything is written, or (on any error) nothing."""
        with self._store.write() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                conn.exec_driver_sql(
                    "PRAGMA cache_size=-131072"
                )  # 128 MiB page cache for bulk writes
            else:
                # one import per project at a time, so deduplication sees every committed row
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:k)"),
                    {"k": 0x4C42_0000 + self._store.project_id},
                )
            try:
                bid = conn.execute(
                    t.import_batch.insert().values(
                        project_id=self._store.project_id,
                        source=source,
                        file_hash=file_hash,
                        row_count=0,
                        params=dumps(params or {}),
                        created_at=utcnow(),
                    )
                ).inserted_primary_key[0]
                batch = ImportBatch(self._store, conn, int(bid))
                yield batch
                conn.execute(
                    t.import_batch.update()
                    .where(t.import_batch.c.id == bid)
                    .values(row_count=batch.rows_added, duplicates=batch.duplicates)
                )
            finally:
                if sqlite:
                    conn.exec_driver_sql(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        self._refresh_statistics()

    def _refresh_statistics(self) -> None:
        """Give the query planner row statistics after an import (SQLite: a sampled ANALYZE,
        milliseconds even at 1M rows; without them it may scan a project's index instead of
        looking ids up). PostgreSQL's autovacuum keeps its own statistics."""
        if self._store.engine.dialect.name != "sqlite":
            return
        with self._store.write() as conn:
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
            conn.exec_driver_sql("ANALYZE")

    def has_legacy_rows(self) -> bool:
        """Whether the project holds rows from imports that recorded no ``row_format`` (made
        before tabular row format 2; see ``labeler.data.importer.ROW_FORMAT``)."""
        b = t.import_batch
        with self._store.read() as conn:
            found = conn.execute(
                sa.select(b.c.id)
                .where(
                    b.c.project_id == self._store.project_id,
                    b.c.row_count > 0,
                    sa.not_(b.c.params.contains('"row_format"', autoescape=True)),
                )
                .limit(1)
            ).first()
        return found is not None

    def count(self) -> int:
        with self._store.read() as conn:
            return conn.execute(
                sa.select(sa.func.count())
                .select_from(t.sample)
                .where(t.sample.c.project_id == self._store.project_id)
            ).scalar_one()

    def ids(self) -> list[int]:
        """All sample ids of the project, ascending."""
        return self.id_array().tolist()

    def id_array(self) -> np.ndarray:
        """All sample ids of the project, ascending (int64). When they form one unbroken
        range (ids are unique, so ``count == max - min + 1`` says so), the range is built
        from three aggregates instead of fetching every row: 1M ids cost ~1 s row by row."""
        own = t.sample.c.project_id == self._store.project_id
        with self._store.read() as conn:
            low, high, count = conn.execute(
                sa.select(
                    sa.func.min(t.sample.c.id), sa.func.max(t.sample.c.id), sa.func.count()
                ).where(own)
            ).one()
            if not count:
                return np.empty(0, dtype=np.int64)
            if int(high) - int(low) + 1 == int(count):
                return np.arange(int(low), int(high) + 1, dtype=np.int64)
            rows = conn.execute(sa.select(t.sample.c.id).where(own).order_by(t.sample.c.id))
            return np.fromiter(rows.scalars(), dtype=np.int64)

    def first_id(self) -> int | None:
        """The project's smallest sample id (None without samples)."""
        with self._store.read() as conn:
            return conn.execute(
                sa.select(sa.func.min(t.sample.c.id)).where(
                    t.sample.c.project_id == self._store.project_id
                )
            ).scalar()

    def get(self, sample_id: int) -> Sample:
        found = self.get_many([sample_id])
        if not found:
            raise LabelError(f"sample {sample_id} is not in project {self._store.info.name!r}")
        return found[0]

    def get_many(self, sample_ids: Sequence[int]) -> list[Sample]:
        """Samples by id, in the order asked (unknown ids are left out)."""
        out: dict[int, Sample] = {}
        ids = list(sample_ids)
        with self._store.read() as conn:
            for start in range(0, len(ids), 500):
                # by primary key only: with ``project_id`` in the WHERE clause SQLite (without
                # statistics) scans the (project_id, external_id) index, i.e. the whole
                # project, instead of looking the ids up (50 ms vs 0.3 ms at 100k samples)
                rows = conn.execute(
                    sa.select(t.sample).where(t.sample.c.id.in_(ids[start : start + 500]))
                ).all()
                for r in rows:
                    if r.project_id == self._store.project_id:
                        out[r.id] = _to_sample(r)
        return [out[i] for i in ids if i in out]

    def by_external_id(self, external_id: str) -> Sample | None:
        with self._store.read() as conn:
            row = conn.execute(
                sa.select(t.sample).where(
                    t.sample.c.project_id == self._store.project_id,
                    t.sample.c.external_id == external_id,
                )
            ).first()
        return _to_sample(row) if row else None

    def iter_frames(
        self, chunk_size: int = 50_000, columns: Sequence[str] = SAMPLE_COLUMNS
    ) -> Iterator[pd.DataFrame]:
        """Stream samples as DataFrames of ``id`` plus ``columns`` (raw stored values), by id."""
        cols = [t.sample.c.id, *(t.sample.c[c] for c in columns)]
        last = 0
        while True:
            with self._store.read() as conn:
                rows = conn.execute(
                    sa.select(*cols)
                    .where(t.sample.c.project_id == self._store.project_id, t.sample.c.id > last)
                    .order_by(t.sample.c.id)
                    .limit(chunk_size)
                ).all()
            if not rows:
                return
            frame = pd.DataFrame(rows, columns=["id", *columns])
            last = int(frame["id"].iloc[-1])
            yield frame


def _to_sample(r: Any) -> Sample:
    return Sample(
        id=r.id,
        external_id=r.external_id,
        content_hash=r.content_hash,
        text=r.text,
        file_ref=r.file_ref,
        data=json.loads(r.data) if r.data else None,
        vector=bytes_to_vector(r.vector),
        import_batch_id=r.import_batch_id,
    )
