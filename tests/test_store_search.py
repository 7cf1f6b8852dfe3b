"""Sample search in SQL (labeler.store.search) on both back ends: substrings, words and
regular expressions on the text and the id, answered from the trigram index that the
migration builds and each import extends."""

from __future__ import annotations

import hashlib

import pytest
import sqlalchemy as sa

from labeler.store import Store
from labeler.store.database import make_engine, migrate
from labeler.store.search import (
    SearchError,
    SearchQuery,
    required_literals,
    sample_ids_matching,
    search_ids,
)

TEXTS = [
    "The invoice was paid twice",
    "Refund for order 1234 please",
    "my ORDER never arrived",
    "Error 404 at checkout",
    "error 500 at login, then error 502",
    "ok",
    "50% off: buy_now",
]


def add(store: Store, texts: list[str], prefix: str = "msg") -> list[int]:
    rows = [
        (
            f"{prefix}-{i}",
            hashlib.sha256(f"{prefix}{text}".encode()).hexdigest(),
            text,
            None,
            None,
            None,
        )
        for i, text in enumerate(texts)
    ]
    with store.samples.bulk_import("fixture", hashlib.sha256(prefix.encode()).hexdigest()) as b:
        return b.add_samples(rows)


def find(store: Store, text: str, **kw: object) -> list[int]:
    return search_ids(store, SearchQuery(text, **kw))  # type: ignore[arg-type]


def test_substrings_words_ids_and_regexes(make_store) -> None:
    store = make_store(modality="text", labels=("a", "b"))
    ids = add(store, TEXTS)
    assert find(store, "order") == [ids[1], ids[2]]  # case-insensitive
    assert find(store, "ORDER never") == [ids[2]]  # one substring, spaces and all
    assert find(store, "never order", words=True) == [ids[2]]  # every word, any order
    assert find(store, "never order") == []
    assert find(store, "msg-3") == [ids[3]]  # the sample's id
    assert find(store, "ok") == [ids[5]]  # two characters: scanned, same answer
    assert find(store, "50%") == [ids[6]]  # LIKE's wildcards are plain characters
    assert find(store, "y_n") == [ids[6]]
    assert find(store, "y%n") == []
    assert find(store, r"error 5\d\d", regex=True) == [ids[4]]
    assert find(store, r"^refund", regex=True) == [ids[1]]
    assert find(store, r"(paid|arrived)", regex=True) == [ids[0], ids[2]]
    assert find(store, r"msg-[56]$", regex=True) == [ids[5], ids[6]]
    # later imports are searchable at once
    more = add(store, ["another order came in"], prefix="late")
    assert find(store, "order") == [ids[1], ids[2], more[0]]
    store.labels.add(ids[1], ["a"], "ann")
    assert search_ids(store, SearchQuery("order"), unlabeled_only=True) == [ids[2], more[0]]
    assert search_ids(store, SearchQuery("order"), limit=1) == [ids[1]]


def test_bad_searches_are_one_line_errors(make_store) -> None:
    store = make_store(modality="text", labels=("a", "b"))
    add(store, TEXTS)
    with pytest.raises(SearchError, match="empty"):
        SearchQuery("   ")
    with pytest.raises(SearchError, match="not a regular expression"):
        SearchQuery("(unclosed", regex=True)


def test_a_regex_search_stops_at_its_time_limit(backend, make_store) -> None:
    store = make_store(modality="text", labels=("a", "b"))
    add(store, [f"row {i} " + "a" * 40 for i in range(3000)])
    slow = SearchQuery(r"(a|aa)+$x", regex=True)  # backtracks on every row, matches none
    with pytest.raises(SearchError, match="took longer than"):
        search_ids(store, slow, seconds=0.0 if backend == "sqlite" else 0.001)


def test_required_literals_of_a_pattern() -> None:
    assert required_literals(r"error \d+ at login") == ["error ", " at login"]
    assert required_literals(r"^refund") == ["refund"]
    assert required_literals(r"abc|def") == []
    assert required_literals(r"ab(cde)?fg") == []
    assert required_literals(r"colou?r") == ["colo"]  # an optional u ends the run
    assert required_literals(r"colour?s") == ["colou"]


def test_substrings_are_answered_from_the_trigram_index(make_store) -> None:
    store = make_store(modality="text", labels=("a", "b"))
    add(store, TEXTS)
    with store.read() as conn:
        query = sample_ids_matching(store, SearchQuery("invoice"))
        if conn.dialect.name == "sqlite":
            plan = " ".join(
                str(r[-1])
                for r in conn.execute(
                    sa.text(
                        "EXPLAIN QUERY PLAN "
                        + str(query.compile(compile_kwargs={"literal_binds": True}))
                    )
                )
            )
            assert "VIRTUAL TABLE INDEX" in plan, plan
        else:
            names = set(
                conn.execute(
                    sa.text("SELECT indexname FROM pg_indexes WHERE tablename='sample'")
                ).scalars()
            )
            assert {"ix_sample_text_trgm", "ix_sample_external_id_trgm"} <= names


def test_a_project_made_before_search_gets_its_samples_indexed(tmp_path) -> None:
    folder = tmp_path / "old"
    folder.mkdir()
    db = folder / "project.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine, db, target="0008", create=True)
    with engine.begin() as conn:
        run = conn.exec_driver_sql
        run(
            "INSERT INTO project (name, modality, task_type, settings, created_at)"
            " VALUES ('old','text','single-label','{}','2025-01-01 00:00:00')"
        )
        run("INSERT INTO label_def (project_id, position, name) VALUES (1,0,'a'),(1,1,'b')")
        run(
            "INSERT INTO import_batch (project_id, source, file_hash, row_count, created_at)"
            " VALUES (1,'f','h',2,'2025-01-01 00:00:00')"
        )
        for i, text in enumerate(("a parcel went missing", "all good")):
            run(
                "INSERT INTO sample (project_id, external_id, content_hash, text, import_batch_id)"
                f" VALUES (1,'s{i}','h{i}','{text}',1)"
            )
    engine.dispose()
    store = Store.open(folder)
    try:
        assert find(store, "parcel") == [1]
        with store.read() as conn:
            n = conn.exec_driver_sql(
                "SELECT count(*) FROM sample_fts WHERE sample_fts MATCH '\"parcel\"'"
            ).scalar_one()
        assert n == 1
    finally:
        store.close()
