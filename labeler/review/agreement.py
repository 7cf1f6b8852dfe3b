"""Inter-annotator agreement: Cohen's kappa for each pair of annotators and Krippendorff's
alpha (nominal) over everyone. A multi-label answer counts as one category (its label set).

Both are computed from each annotator's *active* label per sample (undone labels excluded).
"""

from __future__ import annotations

import itertools
import math
from collections import Counter
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

import pandas as pd


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float:
    """Cohen's kappa of two raters' labels for the same items (NaN with no items).

    kappa = (p_o - p_e) / (1 - p_e), with p_o the observed agreement and p_e the agreement
    expected from each rater's label frequencies. If both raters use a single identical
    category throughout, p_e = 1 and kappa is 1 (perfect, if degenerate, agreement)."""
    if len(a) != len(b):
        raise ValueError("both raters need a label for every item")
    n = len(a)
    if n == 0:
        return math.nan
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    p_e = sum(ca[k] * cb[k] for k in ca) / (n * n)
    if p_e == 1.0:
        return 1.0 if p_o == 1.0 else math.nan
    return (p_o - p_e) / (1.0 - p_e)


def krippendorff_alpha_nominal(units: Sequence[Sequence[Hashable]]) -> float:
    """Krippendorff's alpha for nominal data. ``units`` holds, per item, the values the
    annotators gave (missing ones left out). Items with fewer than two values do not count.

    alpha = 1 - (n - 1) * sum_{c != k} o_ck / sum_{c != k} n_c n_k, where o is the coincidence
    matrix (each ordered pair of values within an item weighted 1 / (m_u - 1)) and n_c its
    marginals. NaN when there are no pairable values; 1 when every value is the same."""
    o: Counter[tuple[Hashable, Hashable]] = Counter()
    for values in units:
        m = len(values)
        if m < 2:
            continue
        for i, j in itertools.permutations(range(m), 2):
            o[(values[i], values[j])] += 1.0 / (m - 1)
    if not o:
        return math.nan
    n_c: Counter[Hashable] = Counter()
    for (c, _), w in o.items():
        n_c[c] += w
    n = sum(n_c.values())
    disagree_observed = sum(w for (c, k), w in o.items() if c != k)
    expected = sum(n_c[c] * n_c[k] for c in n_c for k in n_c if c != k)
    if expected == 0:
        return 1.0
    return 1.0 - (n - 1) * disagree_observed / expected


@dataclass(frozen=True)
class AgreementReport:
    pairs: pd.DataFrame  # annotator_a, annotator_b, items, agreement, kappa
    alpha: float
    items: int  # samples labeled by two or more annotators
    disagreements: int  # of those, samples where the annotators' labels differ
    annotators: list[str]


def agreement_report(
    by_annotator: pd.DataFrame, annotators: Sequence[str] | None = None
) -> AgreementReport:
    """From ``store.labels.by_annotator()`` (columns sample_id, annotator, labels). Only
    samples with two or more annotators count, so the frame may hold just those when
    ``annotators`` names everyone (the default: the annotators in the frame)."""
    annotators = sorted(
        by_annotator["annotator"].unique() if annotators is None else set(annotators)
    )
    # only samples labeled by two or more annotators say anything about agreement
    counts = by_annotator["sample_id"].map(by_annotator["sample_id"].value_counts())
    frame = by_annotator[counts >= 2].copy()
    frame["value"] = [tuple(sorted(x or ())) for x in frame["labels"]]
    wide = (
        frame.pivot_table(index="sample_id", columns="annotator", values="value", aggfunc="last")
        if len(frame)
        else pd.DataFrame()
    )
    rows = []
    for a, b in itertools.combinations(annotators, 2):
        # an annotator who shares no sample with anyone has no column
        both = wide[[a, b]].dropna() if a in wide and b in wide else pd.DataFrame(columns=[a, b])
        kappa = cohen_kappa(list(both[a]), list(both[b])) if len(both) else math.nan
        agreement = float((both[a] == both[b]).mean()) if len(both) else math.nan
        rows.append((a, b, len(both), agreement, kappa))
    pairs = pd.DataFrame(
        rows, columns=["annotator_a", "annotator_b", "items", "agreement", "kappa"]
    )
    units = [list(g) for _, g in frame.groupby("sample_id")["value"]] if len(frame) else []
    multi = [u for u in units if len(u) >= 2]
    return AgreementReport(
        pairs=pairs,
        alpha=krippendorff_alpha_nominal(multi),
        items=len(multi),
        disagreements=sum(len(set(u)) > 1 for u in multi),
        annotators=annotators,
    )
