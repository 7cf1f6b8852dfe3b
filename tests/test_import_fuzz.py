"""Hypothesis: malformed CSV / JSONL never raise anything but DataImportError, and a failed
import leaves the project exactly as it was."""

from __future__ import annotations

import itertools
import json

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from labeler.data.importer import ColumnMapping, import_file
from labeler.errors import DataImportError
from labeler.store import Store

_counter = itertools.count()

any_chars = st.characters(exclude_categories=())  # includes lone surrogates and controls
cells = st.one_of(
    st.text(alphabet=any_chars, max_size=12),
    st.sampled_from(
        ["pos", "neg", "maybe", "", "[1,2]", "[1,", "nan", "1e400", '"', "a,b", "\x00"]
    ),
    st.integers(-5, 5).map(str),
)
rows = st.lists(st.lists(cells, min_size=0, max_size=5), min_size=0, max_size=8)
headers = st.lists(st.sampled_from(["id", "text", "label", "emb", "x", ""]), min_size=0, max_size=5)


@pytest.fixture(scope="module")
def fuzz_store(tmp_path_factory):
    store = Store.create(
        tmp_path_factory.mktemp("fuzz") / "p", modality="text", labels=["pos", "neg"]
    )
    yield store
    store.close()


def _check(store, path, mapping=None):
    before = store.dump()
    try:
        import_file(store, path, mapping)
        event("imported")
    except DataImportError as exc:
        event("rejected")
        assert "\n" not in str(exc)
        assert store.dump() == before


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    header=headers,
    body=rows,
    raw_tail=st.binary(max_size=20),
    use_emb=st.booleans(),
    newline=st.sampled_from(["\n", "\r\n", "\r"]),
    bom=st.booleans(),
)
def test_fuzzed_csv(fuzz_store, tmp_path_factory, header, body, raw_tail, use_emb, newline, bom):
    folder = tmp_path_factory.getbasetemp() / "fuzz-files"
    folder.mkdir(exist_ok=True)
    path = folder / f"f{next(_counter)}.csv"
    lines = [",".join(header)] + [
        ",".join(json.dumps(c) if i % 2 else c for i, c in enumerate(r)) for r in body
    ]
    text = ("\ufeff" if bom else "") + newline.join(lines)
    path.write_bytes(text.encode("utf-8", "surrogatepass") + raw_tail)
    _check(
        fuzz_store,
        path,
        ColumnMapping(embedding_column="emb") if use_emb and "emb" in header else None,
    )


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(alphabet=any_chars, max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    objs=st.lists(
        st.one_of(
            st.fixed_dictionaries(
                {"text": json_values}, optional={"label": json_values, "id": json_values}
            ),
            json_values,
        ),
        max_size=6,
    ),
    garbage=st.binary(max_size=12),
)
def test_fuzzed_jsonl(fuzz_store, tmp_path_factory, objs, garbage):
    folder = tmp_path_factory.getbasetemp() / "fuzz-files"
    folder.mkdir(exist_ok=True)
    path = folder / f"f{next(_counter)}.jsonl"
    body = "\n".join(json.dumps(o) for o in objs).encode() + b"\n" + garbage
    path.write_bytes(body)
    _check(fuzz_store, path)
