"""Cold start (no model yet, or fewer than two classes labeled) and search for rare classes.

* :func:`diverse_seeds`: samples that cover the pool: the samples nearest to k-means centres
  (fitted on a sample of the pool), then greedy k-center picks, each as far as possible from
  everything chosen or labeled so far. With labels of one class only, the centres farthest
  from the labeled samples come first, to find the other classes sooner.
* :func:`search_samples`: keyword search over texts (all words, case-insensitive), a pandas
  query over tabular data (``"age > 60 and colour == 'red'"``), or a substring of an image's
  file name: for a person hunting a rare class by hand.
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

if TYPE_CHECKING:
    from labeler.store.project_store import Store

Matrix = np.ndarray | sp.csr_matrix


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


def search_samples(store: Store, query: str, limit: int = 200) -> list[tuple[int, float]]:
    """Samples matching ``query`` as ``(sample_id, matches)``, most matches first."""
    query = query.strip()
    if not query:
        raise SearchError("the search query is empty")
    modality = store.info.modality
    found: list[tuple[int, float]] = []
    if modality == "text":
        words = [re.escape(w) for w in query.lower().split()]
        patterns = [re.compile(w) for w in words]
        for frame in store.samples.iter_frames(50_000, columns=("text",)):
            for sid, text in zip(frame["id"], frame["text"], strict=True):
                low = (text or "").lower()
                counts = [len(p.findall(low)) for p in patterns]
                if all(counts):
                    found.append((int(sid), float(sum(counts))))
    elif modality == "tabular":
        for frame in store.samples.iter_frames(50_000, columns=("data",)):
            data = pd.DataFrame.from_records([json.loads(d) if d else {} for d in frame["data"]])
            try:
                hit = data.eval(query)
            except Exception as exc:  # noqa: BLE001 - pandas raises many kinds; one line out
                raise SearchError(f"cannot evaluate {query!r} on the data: {exc}") from None
            if not isinstance(hit, pd.Series) or hit.dtype != bool:
                raise SearchError(f"{query!r} is not a true/false condition on the data columns")
            found.extend((int(s), 1.0) for s in frame["id"][hit.to_numpy()])
    else:
        needle = query.lower()
        for frame in store.samples.iter_frames(50_000, columns=("file_ref", "external_id")):
            for sid, ref, ext in zip(
                frame["id"], frame["file_ref"], frame["external_id"], strict=True
            ):
                if needle in f"{ref or ''} {ext or ''}".lower():
                    found.append((int(sid), 1.0))
    found.sort(key=lambda item: (-item[1], item[0]))
    return found[:limit]


def queue_search(store: Store, query: str, limit: int = 200) -> int:
    """Put the unlabeled samples matching ``query`` at the head of the queue. Returns how many."""
    matches = search_samples(store, query, limit=10 * limit)
    labeled = set(store.labels.current()["sample_id"].tolist())
    hits = [(sid, score) for sid, score in matches if sid not in labeled][:limit]
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
