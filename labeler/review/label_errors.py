"""Suspected label errors, confident-learning style, from out-of-fold predicted probabilities.

Single-label (and binary): for each class j a threshold t_j is the mean out-of-fold
probability of j over the samples *labeled* j (how confident the model typically is when j
is right). A sample labeled y is suspected when

* some other class j reaches its threshold (p_j >= t_j) and is the most probable of the
  classes that do: the confident joint counts it as "labeled y, truly j"; or
* no class reaches its threshold but the most probable class is not y (what cleanlab calls
  ``predicted_neq_given``): the model disagrees, without being sure of anything.

Multi-label: each label is its own one-vs-rest question. For label j, t_j+ is the mean p_j
over samples that carry j and t_j- the mean 1 - p_j over samples that do not. A sample is
suspected for label j when it

* lacks j although p_j >= t_j+ and p_j > 0.5 (a *missing* label the model is sure of), or
* carries j although 1 - p_j >= t_j- and p_j < 0.5 (a *wrong* label the model is sure is
  absent).

One row per sample: ``given`` is its label set, ``suggested`` that set with every suspected
label added or removed; ``p_given``/``p_suggested`` are the probabilities of the given and the
suggested state of its clearest contradiction.

Ranking: the thresholds above decide *which* samples are flagged; the probability of the given
label decides their *order*. Single-label rows are ranked by ``score = 1 - p_given``, largest
first: with calibrated out-of-fold probabilities that is the probability that the given label
is wrong, and every single-label retrain now chooses its regularisation and class weighting
by cross-validation and calibrates its probabilities with a temperature
(:mod:`labeler.learning.selection`). Before it did, a fixed unweighted model believed small
or hard classes less even where they were right, and rows were ranked by ``1 - p_given /
t_given`` (``t_given`` the threshold of the given label) to correct for that; measured with
5% flipped labels (``benchmarks/label_errors.py``), with model selection that correction no
longer helps: on digits and on a seven-class imbalanced text set, from the project's
probabilities and from scikit-learn's, the plain ``p_given`` order put as many or more
flipped labels in the top k (the ratio put fewer than cleanlab's ``self_confidence`` on the
text set). Multi-label retrains fit one-vs-rest models that are neither re-weighted nor
calibrated, so there the ratio stays: ``score = 1 - p_given / t_given`` with ``t_given`` the
threshold of the given state (present or absent) of the contradicted label. The older
ordering by the gap ``p_suggested - p_given`` was worse than either. Ties go by sample id.

The weak-model guard: suspects are reported only where the out-of-fold model beats the
class-frequency baseline, i.e. its Brier score is at least :data:`MIN_SKILL` (10 %) below
that of always predicting each class's frequency (multi-label: per label; single-label: over
all classes). A model that has learned little has probabilities that hover around the class
frequencies, so "the model is more confident than usual that this label is wrong" becomes
noise and flags a large share of the samples; its contradictions say nothing about the labels.
The Brier score is used instead of accuracy because it is a proper score of the
probabilities the method reads, and the frequency baseline is the accuracy-free analogue of
"predict the majority class" that stays meaningful for rare labels (where a constant
majority guess already reaches, say, 95 % accuracy). When the guard withholds suspects,
``frame.attrs["note"]`` says why.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

COLUMNS = ["sample_id", "given", "suggested", "p_given", "p_suggested", "score"]
MIN_SKILL = 0.1


def class_thresholds(given: np.ndarray, probs: np.ndarray, n_classes: int) -> np.ndarray:
    """t_j = mean p_j over samples labeled j (inf for a class nobody was labeled with)."""
    out = np.full(n_classes, np.inf)
    for j in range(n_classes):
        mask = given == j
        if mask.any():
            out[j] = probs[mask, j].mean()
    return out


def brier_skill(probs: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Per column: 1 - Brier(model) / Brier(class frequency). 1 is perfect, 0 is no better
    than predicting the frequency, negative is worse; -inf where the column never varies."""
    prior = truth.mean(axis=0)
    model = ((probs - truth) ** 2).mean(axis=0)
    baseline = prior * (1 - prior)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(baseline > 0, 1 - model / np.where(baseline > 0, baseline, 1), -np.inf)


def _empty(note: str = "") -> pd.DataFrame:
    frame = pd.DataFrame(columns=COLUMNS)
    if note:
        frame.attrs["note"] = note
    return frame


def _ranked(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["score", "sample_id"], ascending=[False, True]).reset_index(drop=True)


def find_label_issues(
    sample_ids: Sequence[int],
    given: Sequence[str],
    probs: np.ndarray,
    classes: Sequence[str],
    min_skill: float = MIN_SKILL,
) -> pd.DataFrame:
    """Suspects among samples with labels ``given`` and out-of-fold ``probs`` (n x K, columns
    in ``classes`` order). Returns a frame with :data:`COLUMNS`, most suspicious first."""
    classes = list(classes)
    index = {c: i for i, c in enumerate(classes)}
    keep = [i for i, g in enumerate(given) if g in index]
    if not keep:
        return _empty()
    ids = np.asarray(sample_ids)[keep]
    y = np.array([index[given[i]] for i in keep])
    p = np.asarray(probs, dtype=float)[keep]
    onehot = np.eye(len(classes))[y]
    prior = onehot.mean(axis=0)
    baseline = float((prior * (1 - prior)).sum())
    skill = 1 - float(((p - onehot) ** 2).mean(axis=0).sum()) / baseline if baseline else -np.inf
    if skill < min_skill:
        return _empty(
            f"the out-of-fold model is not better than the class frequencies (Brier skill "
            f"{skill:.2f} < {min_skill:.2f}): no suspected errors reported"
        )
    t = class_thresholds(y, p, len(classes))
    confident = p >= t[None, :]
    masked = np.where(confident, p, -np.inf)
    has = confident.any(axis=1)
    best = np.where(has, masked.argmax(axis=1), p.argmax(axis=1))
    suspect = best != y
    rows = np.flatnonzero(suspect)
    p_given = p[rows, y[rows]]
    p_sugg = p[rows, best[rows]]
    frame = pd.DataFrame(
        {
            "sample_id": ids[rows].astype(int),
            "given": [classes[k] for k in y[rows]],
            "suggested": [classes[k] for k in best[rows]],
            "p_given": p_given,
            "p_suggested": p_sugg,
            "score": 1.0 - p_given,
        },
        columns=COLUMNS,
    )
    return _ranked(frame)


def find_multilabel_issues(
    sample_ids: Sequence[int],
    given: Sequence[Sequence[str]],
    probs: np.ndarray,
    classes: Sequence[str],
    min_skill: float = MIN_SKILL,
) -> pd.DataFrame:
    """Suspects among multi-label samples with label sets ``given`` and out-of-fold
    one-vs-rest ``probs`` (n x K, columns in ``classes`` order; rows need not sum to 1).
    ``given``/``suggested`` in the result are tuples of labels in ``classes`` order."""
    classes = list(classes)
    n = len(sample_ids)
    if n == 0:
        return _empty()
    index = {c: i for i, c in enumerate(classes)}
    truth = np.zeros((n, len(classes)), dtype=float)
    for i, labels in enumerate(given):
        for lab in labels:
            if lab in index:
                truth[i, index[lab]] = 1.0
    proba = np.asarray(probs, dtype=float)
    skill = brier_skill(proba, truth)
    usable = skill >= min_skill
    if not usable.any():
        return _empty(
            "for no label is the out-of-fold model better than the label's frequency "
            f"(Brier skill < {min_skill:.2f}): no suspected errors reported"
        )
    present = truth == 1
    with np.errstate(invalid="ignore"):
        t_pos = np.where(
            present.any(axis=0), (proba * truth).sum(axis=0) / present.sum(axis=0), np.inf
        )
        t_neg = np.where(
            (~present).any(axis=0),
            ((1 - proba) * (1 - truth)).sum(axis=0) / (~present).sum(axis=0),
            np.inf,
        )
    # thresholds and the guard broadcast per column (label)
    missing = ~present & (proba >= t_pos) & (proba > 0.5) & usable
    wrong = present & ((1 - proba) >= t_neg) & (proba < 0.5) & usable
    flagged = missing | wrong
    margin = np.where(flagged, np.abs(2 * proba - 1), -np.inf)
    records = []
    for i in np.flatnonzero(flagged.any(axis=1)):
        j = int(margin[i].argmax())
        p_state = proba[i, j] if missing[i, j] else 1 - proba[i, j]  # of the suggested state
        usual = t_neg[j] if missing[i, j] else t_pos[j]  # threshold of the given state
        suggested = (present[i] & ~wrong[i]) | missing[i]
        records.append(
            (
                int(sample_ids[i]),
                tuple(c for k, c in enumerate(classes) if present[i, k]),
                tuple(c for k, c in enumerate(classes) if suggested[k]),
                float(1 - p_state),
                float(p_state),
                float(1 - (1 - p_state) / max(usual, 1e-12)),
            )
        )
    if not records:
        return _empty()
    return _ranked(pd.DataFrame.from_records(records, columns=COLUMNS))
