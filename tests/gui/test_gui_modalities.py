"""Image and tabular samples in the annotate view: fit, zoom, field/value form; label keys win
over view keys (a digits project uses 0-9 as its labels' keys)."""

from __future__ import annotations

import pandas as pd
import pytest
from PIL import Image
from PySide6.QtCore import Qt

from labeler.data.importer import ColumnMapping, import_file
from labeler.store import Store
from tests.gui.gui_helpers import fill_tabular, open_and_wait, press, shown_id

pytestmark = pytest.mark.gui


def image_project(tmp_path) -> Store:  # type: ignore[no-untyped-def]
    rows = []
    for i in range(4):
        path = tmp_path / f"img{i}.png"
        Image.new("L", (8, 8), color=40 * i).save(path)
        rows.append({"id": f"img{i}", "image": str(path)})
    pd.DataFrame(rows).to_csv(tmp_path / "images.csv", index=False)
    store = Store.create(
        tmp_path / "proj", modality="image", labels=["0", "1"], shortcuts=["0", "1"]
    )
    import_file(store, tmp_path / "images.csv", ColumnMapping(id_column="id", image_column="image"))
    return store


def test_image_fit_zoom_and_digit_keys(qtbot, window, tmp_path) -> None:
    store = image_project(tmp_path)
    view = open_and_wait(qtbot, window, store)
    image_view = view.display.image_view
    assert view.display.currentWidget() is image_view
    assert image_view.error is None
    fitted = image_view.displayed_size()
    area = image_view.viewport().size()
    assert fitted.width() > 8 * 10  # an 8x8 image is enlarged to fit the view
    assert fitted.width() <= area.width() and fitted.height() <= area.height()
    qtbot.keyClick(view, Qt.Key.Key_Plus)
    assert image_view.displayed_size().width() > fitted.width()
    qtbot.keyClick(view, Qt.Key.Key_Asterisk)
    assert image_view.displayed_size() == fitted
    first = shown_id(view)
    press(qtbot, view, "0")  # the label "0", not a zoom key
    assert store.labels.state(first).labels == ("0",)
    assert view.label_bar.buttons["0"].text() == "0"  # key and name are the same: shown once


def test_missing_image_file_is_reported_in_the_view(qtbot, window, tmp_path) -> None:
    store = image_project(tmp_path)
    first = store.samples.get_many(store.samples.ids()[:1])[0]
    tmp_path.joinpath("img0.png").unlink()
    view = open_and_wait(qtbot, window, store)
    assert shown_id(view) == first.id
    assert "cannot display image" in view.display.image_view.error
    press(qtbot, view, "1")  # the annotator can still skip past it with a label or Space
    assert shown_id(view) != first.id


def test_tabular_form(qtbot, window, make_store) -> None:
    store = make_store(modality="tabular", labels=("low", "high"))
    fill_tabular(store, 3)
    view = open_and_wait(qtbot, window, store)
    table = view.display.table_view
    assert view.display.currentWidget() is table
    fields = {table.item(r, 0).text(): table.item(r, 1).text() for r in range(table.rowCount())}
    assert fields == {"colour": "apple", "count": "0", "height": "1.5"}
