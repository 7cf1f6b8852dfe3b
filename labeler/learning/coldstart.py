"""Cold start (no model yet, or fewer than two classes labeled) and search for rare classes.

* :func:`diverse_seeds`: samples that cover the pool: the samples nearest to k-means centres
  (fitted on a sample of the pool), then greedy k-center picks, each as far as possible from
  everything chosen or labeled so far. With labels of one class only, the centres farthest
  from the labeled samples come first, to find the other classes sooner.
* :func:`search_samples`: keyword search over texts and ids (all words, case-insensitive, or
  a regular expression; run in SQL on the project's trigram index), a pandas query over
  tabular data (``"age > 60 and colour == 'red'"``), or a substring of an image's file name
  or id: for a person hunting a rare class by hand. The annotate view's "Find samples" (``/``)
  puts the unlabeled matches next in the annotator's queue.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.cluster import MiniBatchKMeans
from sklearn.metrics import pairwise_distances_argmin_min
from sklearn.metrics.pairwise import euclidean_distances

from labeler.errors import LabelerError
from labeler.progress import CancelToken
from labeler.store.search import SearchError as StoreSearchError
from labeler.store.search import SearchQuery, search_ids

if TYPE_CHECKING:
    from labeler.store.project_store import Store

Matrix = np.ndarray | sp.csr_matrix
CANDIDATES = 10  # samples read per wanted hit, to rank them by how often they match


class SearchError(LabelerError):
    """A search query that cannot be run (empty, or a bad tabular expression)."""


def diverse_seeds(
    X_pool: Matrix,
    n: int,
    *,
    X_labeled: Matrix | None = None,
    seed: int = 0,
    n_centres: int = 50,
    sample_size: int = 20_000,
    cancel: CancelToken | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` pool positions that cover the pool, best first, and a score for each."""
    size = X_pool.shape[0]
    n = min(n, size)
    if n <= 0:
        return np.empty(0, dtype=np.int64), np.empty(0)
    rng = np.random.default_rng(seed)
    sub_idx = np.sort(rng.choice(size, size=min(size, max(sample_size, n)), replace=False))
    sub = X_pool[sub_idx]
    k = max(1, min(n_centres, n, sub.shape[0]))
    km = MiniBatchKMeans(n_clusters=k, random_state=seed, n_init=3, batch_size=2048).fit(sub)
    share = np.bincount(km.labels_, minlength=k) / sub.shape[0]
    # The sampled point nearest each centre (a real sample, not a synthetic centre).
    nearest, _ = pairwise_distances_argmin_min(km.cluster_centers_, sub)
    if X_labeled is not None and X_labeled.shape[0] > 0:
        _, far = pairwise_distances_argmin_min(km.cluster_centers_, X_labeled)
        order = np.lexsort((-share, -far))  # farthest from what is labeled first
    else:
        order = np.argsort(-share, kind="stable")  # biggest clusters first
    picks: list[int] = []
    scores: list[float] = []
    for c in order:
        if nearest[c] not in picks:
            picks.append(int(nearest[c]))
            scores.append(float(share[c]))
    # Greedy k-center on the sample for the rest of the queue.
    if len(picks) < n:
        min_dist = euclidean_distances(sub, sub[picks]).min(axis=1)
        if X_labeled is not None and X_labeled.shape[0] > 0:
            _, to_labeled = pairwise_distances_argmin_min(sub, X_labeled)
            min_dist = np.minimum(min_dist, to_labeled)
        min_dist[picks] = -1.0
        while len(picks) < min(n, sub.shape[0]):
            if cancel is not None and len(picks) % 64 == 0:
                cancel.check()
            best = int(np.argmax(min_dist))
            picks.append(best)
            scores.append(float(min_dist[best]))
            min_dist = np.minimum(min_dist, euclidean_distances(sub, sub[best : best + 1]).ravel())
            min_dist[best] = -1.0
    return sub_idx[np.asarray(picks, dtype=np.int64)], np.asarray(scores)


def search_samples(
    store: Store,
    query: str,
    limit: int = 200,
    *,
    regex: bool = False,
    unlabeled_only: bool = False,
) -> list[tuple[int, float]]:
    """Samples matching ``query`` as ``(sample_id, matches)``, most matches first.

    Texts and ids: every word of ``query`` (or, with ``regex``, the regular expression),
    case-insensitive, found in SQL through the project's trigram index
    (:mod:`labeler.store.search`); the candidates are then ranked by how often they match.
    Tabular: a pandas condition over the data columns. Images: a substring of the file name
    or id. ``unlabeled_only`` leaves out samples that have a current label.
    """
    modality = store.info.modality
    if modality == "tabular" and not regex:
        return _search_tabular(store, query, limit, unlabeled_only)
    try:
        wanted = SearchQuery(query, regex=regex, words=not regex)
    except StoreSearchError as exc:
        raise SearchError(str(exc)) from None
    try:
        ids = search_ids(store, wanted, unlabeled_only=unlabeled_only, limit=CANDIDATES * limit)
    except StoreSearchError as exc:
        raise SearchError(str(exc)) from None
    if regex:
        patterns = [re.compile(wanted.text, re.IGNORECASE)]
    else:
        patterns = [re.compile(re.escape(w), re.IGNORECASE) for w in wanted.text.split()]
    found = []
    for sample in store.samples.get_many(ids):
        where = f"{sample.text or sample.file_ref or ''}\n{sample.external_id}"
        found.append((int(sample.id), float(sum(len(p.findall(where)) for p in patterns))))
    found.sort(key=lambda item: (-item[1], item[0]))
    return found[:limit]


def _search_tabular(
    store: Store, query: str, limit: int, unlabeled_only: bool
) -> list[tuple[int, float]]:
    query = query.strip()
    if not query:
        raise SearchError("the search query is empty")
    labeled = set(store.labels.current()["sample_id"].tolist()) if unlabeled_only else set()
    found: list[tuple[int, float]] = []
    for frame in store.samples.iter_frames(50_000, columns=("data",)):
        data = pd.DataFrame.from_records([json.loads(d) if d else {} for d in frame["data"]])
        try:
            hit = data.eval(query)
        except Exception as exc:  # noqa: BLE001 - pandas raises many kinds; one line out
            raise SearchError(f"cannot evaluate {query!r} on the data: {exc}") from None
        if not isinstance(hit, pd.Series) or hit.dtype != bool:
            raise SearchError(f"{query!r} is not a true/false condition on the data columns")
        found.extend((int(s), 1.0) for s in frame["id"][hit.to_numpy()] if int(s) not in labeled)
    return found[:limit]


def queue_search(store: Store, query: str, limit: int = 200, *, regex: bool = False) -> int:
    """Put the unlabeled samples matching ``query`` at the head of the queue. Returns how many."""
    hits = search_samples(store, query, limit, regex=regex, unlabeled_only=True)
    if not hits:
        return 0
    latest = store.models.latest_ok()
    hit_ids = {sid for sid, _ in hits}
    rest = [
        (e.sample_id, e.score, e.strategy)
        for e in store.models.queue()
        if e.sample_id not in hit_ids
    ]
    store.models.replace_queue(latest.model_version if latest else None, "search", hits + rest)
    return len(hits)
