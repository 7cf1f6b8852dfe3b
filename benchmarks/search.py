"""Search at a million samples: the trigram index against a plain ``LIKE`` scan, same run.

A text project of N samples is built through the importer (``bulk_import``, which fills the
SQLite FTS5 trigram index as it writes): the texts are the ``api_summaries`` set (docstring
summaries of the standard library and Labeler's dependencies, see ``bench_data.py``), each
repeated with its own row number until N; half of the samples are labeled. Then, each timed
as the median of ``--repeats``:

* ``substring_*``: :func:`labeler.store.search.search_ids` for a rare term, a common one and
  a sample id, against the **baseline**, the same question as one plain
  ``SELECT id FROM sample WHERE text LIKE ? OR external_id LIKE ? OR file_ref LIKE ?``
  (a full scan; what the store did without the index);
* ``regex_literal``: a regular expression with a literal run (narrowed through the index)
  against a full ``REGEXP`` scan of the same pattern;
* ``review_first_page`` / ``review_ids``: the review table's first page and full id list
  with the search as a filter (``ReviewFilter(search=...)``);
* ``find_samples``: the annotate view's "find samples" query
  (:func:`labeler.learning.coldstart.search_samples`, unlabeled only, ranked);
* ``import_100k``: importing 100k more samples with the index, against the same import into
  a copy of the project without it (the cost of keeping the index on import);
* ``index_rebuild``: building the index over all N samples, as migration 0009d does for a
  project made before it.

With ``--pg-url`` the same questions run on PostgreSQL (pg_trgm GIN indexes) too, against a
``LIKE`` scan with the indexes switched off (``enable_bitmapscan=off``).
Writes ``benchmarks/results/search.json``.

    python benchmarks/search.py [--rows 1000000] [--repeats 5] [--pg-url URL --pg-rows N]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
RESULTS = ROOT / "benchmarks" / "results"

RARE = "quaternion"
COMMON = "array"
REGEX = r"return(s|ed)? the \w+ of"
LABELS = ["stdlib", "numpy", "scipy", "pandas", "sklearn", "matplotlib", "sqlalchemy"]


def texts(rows: int) -> tuple[list[str], list[str]]:
    from bench_data import api_summaries

    frame = api_summaries()
    base, labels = frame["text"].tolist(), frame["label"].tolist()
    out_t, out_l = [], []
    for i in range(rows):
        out_t.append(f"{base[i % len(base)]} (#{i})")
        out_l.append(labels[i % len(base)])
    return out_t, out_l


def rows_of(all_texts: list[str], start: int, stop: int, prefix: str = "m") -> list[tuple]:
    return [
        (
            f"{prefix}{i:07d}",
            hashlib.blake2b(all_texts[i].encode(), digest_size=16).hexdigest(),
            all_texts[i],
            None,
            None,
            None,
        )
        for i in range(start, stop)
    ]


def build(store, all_texts: list[str], all_labels: list[str], chunk: int = 100_000) -> float:  # type: ignore[no-untyped-def]
    t = time.perf_counter()
    rows = len(all_texts)
    for start in range(0, rows, chunk):
        stop = min(rows, start + chunk)
        with store.samples.bulk_import(f"bench-{start}", uuid.uuid4().hex * 2) as batch:
            ids = batch.add_samples(rows_of(all_texts, start, stop))
            half = len(ids) // 2  # half of the samples labeled (the review table's rows)
            batch.add_labels(ids[:half], [(all_labels[start + k],) for k in range(half)], "ann")
    return time.perf_counter() - t


def median_ms(fn: Callable[[], object], repeats: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t)
    return round(statistics.median(times) * 1000, 2), result


def like_scan(store, needle: str) -> list[int]:  # type: ignore[no-untyped-def]
    """The baseline: the same substring question as a plain scan of ``sample``."""
    import sqlalchemy as sa

    from labeler.store import schema as t
    from labeler.store.search import _like

    s = t.sample
    pattern = _like(needle)
    like = s.c.text.ilike if store.engine.dialect.name == "postgresql" else s.c.text.like
    query = (
        sa.select(s.c.id)
        .where(
            s.c.project_id == store.project_id,
            sa.or_(
                like(pattern, escape="\\"),
                s.c.external_id.like(pattern, escape="\\"),
                s.c.file_ref.like(pattern, escape="\\"),
            ),
        )
        .order_by(s.c.id)
    )
    with store.read() as conn:
        if conn.dialect.name == "postgresql":  # no index: the scan the GIN index replaces
            conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            conn.exec_driver_sql("SET LOCAL enable_indexscan = off")
        return list(conn.execute(query).scalars())


def regex_scan(store, pattern: str) -> list[int]:  # type: ignore[no-untyped-def]
    """The regex baseline: every row through the REGEXP function (no index narrowing)."""
    import sqlalchemy as sa

    from labeler.store import schema as t
    from labeler.store.search import SearchQuery, bounded

    s = t.sample
    cols = (s.c.text, s.c.external_id, s.c.file_ref)
    with store.read() as conn, bounded(conn, SearchQuery(pattern, regex=True), 600):
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
            cond = sa.or_(*(c.op("~*")(pattern) for c in cols))
        else:
            cond = sa.or_(*(sa.func.regexp(pattern, c) for c in cols))
        query = sa.select(s.c.id).where(s.c.project_id == store.project_id, cond).order_by(s.c.id)
        return list(conn.execute(query).scalars())


def questions(store, repeats: int, rows: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from labeler.learning.coldstart import search_samples
    from labeler.store.review_table import ReviewFilter, first_page, review_ids
    from labeler.store.search import SearchQuery, search_ids

    out: dict[str, object] = {}
    an_id = f"m{rows // 3:07d}"
    for name, needle in (("rare", RARE), ("common", COMMON), ("id", an_id)):
        ms, hits = median_ms(lambda n=needle: search_ids(store, SearchQuery(n)), repeats)
        base_ms, base = median_ms(lambda n=needle: like_scan(store, n), max(1, repeats // 2))
        assert hits == base, f"{name}: the index and the scan disagree"
        out[f"substring_{name}"] = {
            "query": needle,
            "matches": len(hits),  # type: ignore[arg-type]
            "indexed_ms": ms,
            "like_scan_ms": base_ms,
            "speedup": round(base_ms / ms, 1) if ms else None,
        }
    ms, hits = median_ms(lambda: search_ids(store, SearchQuery(REGEX, regex=True)), repeats)
    base_ms, base = median_ms(lambda: regex_scan(store, REGEX), 1)
    assert hits == base, "regex: the index and the scan disagree"
    out["regex_literal"] = {
        "query": REGEX,
        "matches": len(hits),  # type: ignore[arg-type]
        "indexed_ms": ms,
        "regexp_scan_ms": base_ms,
        "speedup": round(base_ms / ms, 1) if ms else None,
    }
    flt = ReviewFilter(search=SearchQuery(RARE))
    ms, (ids, _rows) = median_ms(lambda: first_page(store, flt), repeats)  # type: ignore[misc]
    out["review_first_page_ms"] = ms
    ms, ids = median_ms(lambda: review_ids(store, flt), repeats)
    out["review_ids"] = {"query": RARE, "rows": len(ids), "ms": ms}  # type: ignore[arg-type]
    ms, found = median_ms(lambda: search_samples(store, RARE, 50, unlabeled_only=True), repeats)
    out["find_samples"] = {"query": RARE, "found": len(found), "ms": ms}  # type: ignore[arg-type]
    return out


def import_cost(folder: Path, db: Path, all_texts: list[str], rows: int) -> dict[str, float]:
    """Import 100k more samples with the index and into a copy without it."""
    from labeler.store import Store

    extra = min(100_000, rows)
    more = [f"{t} [extra]" for t in all_texts[:extra]]
    copy = folder.parent / f"{folder.name}-noindex"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(folder, copy)
    with sqlite3.connect(copy / db.relative_to(folder)) as raw:
        raw.execute("DROP TABLE sample_fts")
    out = {}
    for name, where in (("with_index_s", folder), ("without_index_s", copy)):
        store = Store.open(where)
        t = time.perf_counter()
        with store.samples.bulk_import(f"extra-{name}", uuid.uuid4().hex * 2) as batch:
            batch.add_samples(rows_of(more, 0, extra, prefix="x"))
        out[name] = round(time.perf_counter() - t, 2)
        store.close()
    shutil.rmtree(copy, ignore_errors=True)
    out["rows"] = extra
    out["overhead"] = round(out["with_index_s"] / out["without_index_s"], 2)
    return out


def rebuild_seconds(db: Path) -> float:
    with sqlite3.connect(db) as raw:
        t = time.perf_counter()
        raw.execute("INSERT INTO sample_fts(sample_fts) VALUES ('rebuild')")
        raw.commit()
        return round(time.perf_counter() - t, 2)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--pg-url", default=None)
    parser.add_argument("--pg-rows", type=int, default=1_000_000)
    parser.add_argument(
        "--pg-project",
        default=None,
        help="URL#NAME of a project this script built before (its samples are reused)",
    )
    args = parser.parse_args()

    from labeler.store import Store

    work = Path(args.workdir or tempfile.mkdtemp(prefix="search-bench-"))
    t = time.perf_counter()
    all_texts, all_labels = texts(max(args.rows, args.pg_rows if args.pg_url else 0))
    text_s = time.perf_counter() - t
    folder = work / f"search-{args.rows}"
    shutil.rmtree(folder, ignore_errors=True)
    store = Store.create(folder, modality="text", labels=LABELS)
    db = store.location.db_path
    build_s = build(store, all_texts[: args.rows], all_labels[: args.rows])
    sqlite_q = questions(store, args.repeats, args.rows)
    store.close()
    result: dict[str, object] = {
        "benchmark": "search",
        "rows": args.rows,
        "repeats": args.repeats,
        "texts_seconds": round(text_s, 1),
        "sqlite": {
            "version": sqlite3.sqlite_version,
            "build_seconds": round(build_s, 1),
            "db_mb": round(db.stat().st_size / 2**20, 1),
            **sqlite_q,
            "import_100k": import_cost(folder, db, all_texts, args.rows),
            "index_rebuild_s": rebuild_seconds(db),
        },
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
    }
    if args.pg_url or args.pg_project:
        if args.pg_project:
            pg, pg_build = Store.open(args.pg_project), None
        else:
            pg = Store.create(
                work / f"search-bench-{uuid.uuid4().hex[:8]}",
                modality="text",
                labels=LABELS,
                database_url=args.pg_url,
            )
            pg_build = build(pg, all_texts[: args.pg_rows], all_labels[: args.pg_rows])
        with pg.write() as conn:  # what autovacuum does soon after a large import
            conn.exec_driver_sql("ANALYZE sample")
            conn.exec_driver_sql("ANALYZE sample_state")
        result["postgresql"] = {
            "rows": args.pg_rows,
            "build_seconds": None if pg_build is None else round(pg_build, 1),
            **questions(pg, args.repeats, args.pg_rows),
        }
        pg.close()
    shutil.rmtree(folder, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "search.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
