"""Reading Label Studio task JSON (the importer's path for .json files)."""

from __future__ import annotations

import json

import pytest

from labeler.errors import DataImportError
from labeler.export.label_studio import read_tasks


def choice(*labels: str, **extra: object) -> dict:
    return {
        "result": [
            {
                "from_name": "label",
                "to_name": "text",
                "type": "choices",
                "value": {"choices": list(labels)},
            }
        ],
        **extra,
    }


def write(tmp_path, tasks) -> str:
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps(tasks), encoding="utf-8")
    return str(path)


def test_the_label_is_the_newest_live_annotation_ground_truth_or_not(tmp_path):
    """Label Studio marks imported annotations ground truth; a correction made there is a
    newer annotation and must win (it was lost when ground truth was preferred)."""
    tasks = [
        {"id": 7, "data": {"text": "first"}, "annotations": [choice("pos"), choice("neg")]},
        {
            "data": {"text": "second", "id": "x-2"},
            "annotations": [choice("neg", ground_truth=True), choice("pos")],
        },
        {
            "data": {"text": "third"},
            "annotations": [choice("pos"), choice("neg", was_cancelled=True)],
        },
        {"data": {"text": "fourth"}, "annotations": []},
        {"data": {"text": "fifth"}, "meta": {"external_id": "m-5"}},
    ]
    frame = read_tasks(write(tmp_path, tasks))
    assert list(frame["id"]) == ["7", "x-2", "3", "4", "m-5"]
    assert list(frame["text"]) == ["first", "second", "third", "fourth", "fifth"]
    assert list(frame["label"]) == ["neg", "pos", "pos", None, None]
    anns = list(frame["__label_studio_annotations__"])
    assert [[a.labels for a in row] for row in anns] == [
        [("pos",), ("neg",)],
        [("neg",), ("pos",)],
        [("pos",)],
        [],
        [],
    ]


def test_several_choices_make_every_label_a_list(tmp_path):
    tasks = [
        {"data": {"image": "/img/a.png"}, "annotations": [choice("cat", "dog")]},
        {"data": {"image": "/img/b.png"}, "annotations": [choice("dog")]},
        {"data": {"image": "/img/c.png"}},
    ]
    frame = read_tasks(write(tmp_path, tasks))
    assert list(frame["image"]) == ["/img/a.png", "/img/b.png", "/img/c.png"]
    assert list(frame["label"]) == [["cat", "dog"], ["dog"], None]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[{", "not valid JSON"),
        ('{"tasks": 1}', "expected a list"),
        ('[{"data": {"text": "ok"}}, {"nodata": 1}]', "row 2"),
    ],
)
def test_bad_files_name_the_file_and_row(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataImportError, match=message) as info:
        read_tasks(path)
    assert str(path) in str(info.value)
