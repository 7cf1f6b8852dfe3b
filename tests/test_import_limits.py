"""Input limits: a sample's payload larger than the project's limit (1 MB of text by default)
is a row error naming the row and the column, and the project is left as it was."""

from __future__ import annotations

import pytest

from labeler.data.importer import ColumnMapping, import_file
from labeler.errors import DataImportError


def test_a_text_over_one_megabyte_is_a_row_error(make_store, tmp_path):
    store = make_store(modality="text", labels=("pos", "neg"))
    big = "é" * 600_000  # 1.2 MB of UTF-8 (600k characters)
    f = tmp_path / "texts.csv"
    f.write_text(f"id,text\na,short\nb,{big}\nc,also short\n", encoding="utf-8")
    before = store.dump()
    with pytest.raises(
        DataImportError,
        match=r"row 2, column 'text': text is 1\.2 MB, more than the limit of 1\.0 MB",
    ):
        import_file(store, f)
    assert store.dump() == before
    ok = tmp_path / "ok.csv"
    ok.write_text(f"id,text\nd,{'x' * 999_990}\n", encoding="utf-8")  # just under the limit
    assert import_file(store, ok).added == 1


def test_the_limit_is_a_project_setting(make_store, tmp_path):
    store = make_store(modality="text", labels=("pos", "neg"))
    store.update_settings(**{"import": {"max_payload_bytes": 50}})
    f = tmp_path / "texts.jsonl"
    f.write_text('{"text": "fine"}\n{"text": "' + "y" * 60 + '"}\n', encoding="utf-8")
    with pytest.raises(DataImportError, match=r"row 2, column 'text': text is 60 bytes"):
        import_file(store, f)


def test_a_tabular_row_over_the_limit_names_its_widest_column(make_store, tmp_path):
    store = make_store(modality="tabular", labels=("pos", "neg"))
    store.update_settings(**{"import": {"max_payload_bytes": 200}})
    f = tmp_path / "rows.csv"
    f.write_text(f"id,size,notes\nr1,1,short\nr2,2,{'n' * 300}\n", encoding="utf-8")
    with pytest.raises(DataImportError, match=r"row 2, column 'notes': the row is \d+ bytes"):
        import_file(store, f, ColumnMapping(feature_columns=["size", "notes"]))
