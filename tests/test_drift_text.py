"""Drift checks on text in TF-IDF space (the demo's docstrings, real text that ships with
the installed libraries): at most one alarm over 20 random splits, and an alarm when the
batch comes from other libraries."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from labeler.data.demo import _docstrings
from labeler.learning.batch_drift import frame_drift


@pytest.fixture(scope="module")
def docs():
    _, frame, _ = _docstrings()
    return frame.reset_index(drop=True)


@pytest.mark.slow
def test_text_at_most_one_false_alarm_over_20_random_splits(docs):
    texts = docs["text"].to_numpy()
    vec = TfidfVectorizer(sublinear_tf=True, min_df=2).fit(texts)
    levels = []
    for seed in range(20):
        order = np.random.default_rng(seed).permutation(len(texts))
        half = len(texts) // 2
        result = frame_drift(
            texts[order[:half]], texts[order[half:]], transform=vec.transform, seed=seed
        )
        levels.append(result["level"])
    assert all(level in ("none", "moderate", "strong") for level in levels)
    assert sum(level != "none" for level in levels) <= 1, levels


def test_text_from_other_libraries_alarms_and_a_like_batch_does_not(docs):
    labels = sorted(set(docs["label"]))
    first, rest = labels[: len(labels) // 2], labels[len(labels) // 2 :]
    reference = docs[docs["label"].isin(first)]["text"].to_numpy()
    other = docs[docs["label"].isin(rest)]["text"].to_numpy()
    vec = TfidfVectorizer(sublinear_tf=True, min_df=2).fit(reference)
    order = np.random.default_rng(0).permutation(len(reference))
    half = len(order) // 2
    like = frame_drift(reference[order[:half]], reference[order[half:]], transform=vec.transform)
    assert like["level"] == "none" and like["method"] == "domain-auc", like["line"]
    alarm = frame_drift(reference[order[:half]], other[:half], transform=vec.transform)
    assert alarm["level"] in ("moderate", "strong"), alarm["line"]
    assert alarm["line"] == f"drift: {alarm['level']} (AUC {alarm['score']:.2f})"
