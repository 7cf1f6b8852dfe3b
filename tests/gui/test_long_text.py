"""A very long text sample is shown cut, with "Show all" to see the whole of it."""

from __future__ import annotations

from labeler.gui.sample_views import SHOWN_CHARS, TextSampleView
from labeler.store.records import Sample


def _sample(text: str) -> Sample:
    return Sample(1, "big", "0" * 64, text, None, None, None, 1)


def test_a_long_text_is_cut_until_show_all(qtbot) -> None:  # type: ignore[no-untyped-def]
    view = TextSampleView()
    qtbot.addWidget(view)
    big = "word " * 1_000_000  # 5 MB: laid out whole it would freeze the window
    view.show_sample(_sample(big))
    shown = view.toPlainText()
    assert view.is_cut and view.show_all_action.isEnabled()
    assert shown.startswith(big[:SHOWN_CHARS]) and len(shown) < SHOWN_CHARS + 100
    assert f"{len(big) - SHOWN_CHARS:,} more characters" in shown
    view.show_all_action.trigger()
    assert view.toPlainText() == big and not view.is_cut
    view.show_sample(_sample("short"))  # the next sample starts cut-free
    assert view.toPlainText() == "short" and not view.show_all_action.isEnabled()
