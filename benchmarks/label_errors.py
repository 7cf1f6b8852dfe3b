"""Label-error ranking: Labeler's suspected errors against cleanlab's ``find_label_issues``.

    pip install -e ".[bench]"      # cleanlab, a benchmark-only dependency
    python benchmarks/label_errors.py [--sets digits,api-summaries] [--seeds 5] [--out FILE]

Per data set and seed, 5% of the labels are flipped to another class chosen at random. Then,
on exactly the same rows and noisy labels:

* ``project``: the product's own path. A project is created, the noisy table imported
  (``import_file``), a retrain run (``train_once``: features, model, cross-validation, the
  out-of-fold probabilities stored in the project), and review mode's
  ``refresh_suspects(store)`` ranks and stores the suspected errors. cleanlab gets the very
  out-of-fold probabilities the project stored (``oof_probabilities``).
* ``sklearn_cv``: scikit-learn's ``cross_val_predict`` (5 shuffled stratified folds, other
  shuffles than the retrain's, so a second, independent set of probabilities) with the
  same features (the project's default feature choice) and the estimator with the
  parameters the project's retrain chose by cross-validation (``run.params["chosen"]``:
  regularisation and class weighting; no temperature); Labeler's ``find_label_issues`` and
  cleanlab both rank from those probabilities.

Also reported, as ablations of the product's ordering (re-sorting the product's own output):
``labeler_flagged_by_threshold_ratio``, Labeler's flagged rows ordered by the ratio of the
probability of the given label to its class's threshold (the product's ordering until model
selection), and ``labeler_flagged_by_gap``, ordered by ``p_suggested - p_given`` (the
ordering before that); and two orderings that
use the noise rates the confident joint estimates (``noise_orderings``).

``--text-rows N`` runs on a stratified sample of the text set (the README says which size
its table used); ``--keep-probabilities DIR`` saves each seed's probabilities, and
``--rescore`` recomputes all rankings from them without retraining.

cleanlab runs with its defaults (``filter_by="prune_by_noise_rate"``) and
``return_indices_ranked_by`` ``self_confidence`` and ``normalized_margin``. With k the number
of flipped labels: precision@k is the share of flipped labels among the first k a method
lists (among all it lists, if fewer), recall@k the share of the flipped labels found there.
Results: ``benchmarks/results/label_errors.json`` (rewritten after every seed, so a run cut
short keeps what it finished; ``conditions`` holds the load average before and after).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_data import library_versions, sklearn_table, text_set  # noqa: E402

from labeler.data.importer import ColumnMapping, import_file  # noqa: E402
from labeler.learning.catalog import make_estimator, resolve_model  # noqa: E402
from labeler.learning.features import FeatureSettings, tabular_matrix, text_matrix  # noqa: E402
from labeler.learning.settings import TrainSettings  # noqa: E402
from labeler.learning.training import train_once  # noqa: E402
from labeler.review.label_errors import class_thresholds, find_label_issues  # noqa: E402
from labeler.review.service import refresh_suspects  # noqa: E402
from labeler.store import Store  # noqa: E402
from labeler.store.review_stats import oof_probabilities  # noqa: E402

SETS = ("digits", "api-summaries")
FLIP_SHARE = 0.05
CLEANLAB_RANKINGS = ("self_confidence", "normalized_margin")


def load(
    name: str, text_rows: int | None = None, text_table: str | None = None
) -> tuple[pd.DataFrame, str]:
    """The table (``id``, payload columns, ``label``) and its modality."""
    if name == "api-summaries":
        frame = text_set(text_rows, text_table)
        modality = "text"
    else:
        frame = sklearn_table(name)
        frame.columns = [f"f{i}" for i in range(frame.shape[1] - 1)] + ["label"]
        modality = "tabular"
    frame.insert(0, "id", [f"r{i}" for i in range(len(frame))])
    return frame, modality


def flip(labels: np.ndarray, classes: list[str], seed: int) -> tuple[np.ndarray, np.ndarray]:
    """5% of the labels changed to another class, uniformly; and where."""
    rng = np.random.default_rng(seed)
    n = len(labels)
    where = np.sort(rng.choice(n, size=int(round(FLIP_SHARE * n)), replace=False))
    noisy = labels.copy()
    for i in where:
        others = [c for c in classes if c != labels[i]]
        noisy[i] = others[rng.integers(len(others))]
    return noisy, where


def at_k(ranked: list[int], flipped: set[int], k: int) -> dict[str, float | int]:
    top = ranked[:k]
    hits = len(set(top) & flipped)
    return {
        "precision_at_k": hits / len(top) if top else 0.0,
        "recall_at_k": hits / k if k else 0.0,
        "flagged": len(ranked),
        "flagged_precision": len(set(ranked) & flipped) / len(ranked) if ranked else 0.0,
        "flagged_recall": len(set(ranked) & flipped) / k if k else 0.0,
    }


def cleanlab_ranking(labels: np.ndarray, probs: np.ndarray, ranked_by: str) -> list[int]:
    from cleanlab.filter import find_label_issues as cleanlab_find

    return [
        int(i)
        for i in cleanlab_find(labels=labels, pred_probs=probs, return_indices_ranked_by=ranked_by)
    ]


def evaluate(
    positions: np.ndarray,
    given: list[str],
    probs: np.ndarray,
    classes: list[str],
    flipped: set[int],
    labeler_frame: pd.DataFrame | None = None,
) -> dict[str, dict]:
    """Labeler and cleanlab rankings from the same probabilities (row ``i`` of ``probs`` is
    table row ``positions[i]``). ``labeler_frame``: Labeler's suspects (``sample_id`` holding
    table rows) when they were made elsewhere (the project path)."""
    k = len(flipped)
    if labeler_frame is None:
        labeler_frame = find_label_issues(list(positions), given, probs, classes)
    out = {"labeler": at_k([int(i) for i in labeler_frame["sample_id"]], flipped, k)}
    index = {c: j for j, c in enumerate(classes)}
    y = np.array([index[g] for g in given])
    # ablation: the same flagged rows ordered by p_given / t_given, the ordering until model
    # selection (t_given: the mean probability of the given class over rows labeled with it)
    t = class_thresholds(y, np.asarray(probs, dtype=float), len(classes))
    ratio = labeler_frame.assign(
        ratio=labeler_frame["p_given"] / [t[index[g]] for g in labeler_frame["given"]]
    ).sort_values(["ratio", "sample_id"], kind="stable")
    out["labeler_flagged_by_threshold_ratio"] = at_k(
        [int(i) for i in ratio["sample_id"]], flipped, k
    )
    # ablation: the ordering before issue 9, by the gap p_suggested - p_given
    gap = labeler_frame.assign(gap=labeler_frame["p_suggested"] - labeler_frame["p_given"])
    gap = gap.sort_values(["gap", "sample_id"], ascending=[False, True], kind="stable")
    out["labeler_flagged_by_gap"] = at_k([int(i) for i in gap["sample_id"]], flipped, k)
    at = {int(r): i for i, r in enumerate(positions)}
    flagged = np.array([at[int(r)] for r in labeler_frame["sample_id"]], dtype=int)
    suggested = np.array([index[c] for c in labeler_frame["suggested"]], dtype=int)
    for name, order in noise_orderings(y, probs, flagged, suggested).items():
        out[name] = at_k([int(positions[i]) for i in order], flipped, k)
    for ranked_by in CLEANLAB_RANKINGS:
        ranked = [int(positions[i]) for i in cleanlab_ranking(y, probs, ranked_by)]
        out[f"cleanlab_{ranked_by}"] = at_k(ranked, flipped, k)
    return out


def noise_orderings(
    y: np.ndarray, probs: np.ndarray, flagged: np.ndarray, suggested: np.ndarray
) -> dict[str, np.ndarray]:
    """Two orderings of Labeler's flagged rows (indices into ``probs``, most suspicious first)
    that use the noise the confident joint estimates, as alternatives to the product's:

    * ``labeler_flagged_noise_budget_first``: cleanlab's ``prune_by_noise_rate`` idea; per
      (given, suggested) cell, as many rows as the calibrated confident joint estimates
      errors there, chosen by margin ``p_suggested - p_given``, come first (in the product's
      order), the other flagged rows after them;
    * ``labeler_flagged_by_noise_posterior``: by the posterior probability that the given
      label is wrong, ``1 - Q[y|y] p_y / sum_j Q[y|j] p_j``, with ``Q[given|true]`` from the
      calibrated confident joint (Bayes with the estimated noise rates)."""
    n, m = probs.shape
    t = class_thresholds(y, probs, m)
    confident = probs >= t[None, :]
    best = np.where(confident, probs, -np.inf).argmax(axis=1)
    joint = np.zeros((m, m))
    for i in np.flatnonzero(confident.any(axis=1)):
        joint[y[i], best[i]] += 1
    counts = np.bincount(y, minlength=m)
    joint = joint / np.maximum(joint.sum(axis=1, keepdims=True), 1) * counts[:, None]
    p_given = probs[np.arange(n), y]
    first: set[int] = set()
    budget = np.rint(joint).astype(int)
    for a in range(m):
        for b in range(m):
            cell = [int(i) for i, s in zip(flagged, suggested, strict=True) if y[i] == a and s == b]
            if a == b or not cell or budget[a, b] == 0:
                continue
            cell.sort(key=lambda i: -(probs[i, b] - p_given[i]))
            first.update(cell[: budget[a, b]])
    budget_first = np.array(
        [i for i in flagged if int(i) in first] + [i for i in flagged if int(i) not in first],
        dtype=int,
    )
    q = joint / np.maximum(joint.sum(axis=0, keepdims=True), 1e-12)
    wrong = 1 - q[y, y] * p_given / np.maximum((q[y, :] * probs).sum(axis=1), 1e-12)
    posterior = flagged[np.argsort(-wrong[flagged], kind="stable")]
    return {
        "labeler_flagged_noise_budget_first": budget_first,
        "labeler_flagged_by_noise_posterior": posterior,
    }


def rescore(folder: Path, out: Path) -> None:
    """Recompute every ranking of ``out``'s seeds from the probabilities a run saved with
    ``--keep-probabilities`` (no retraining; Labeler's ranking by ``find_label_issues``, the
    function ``refresh_suspects`` runs on the stored probabilities)."""
    doc = json.loads(out.read_text())
    for name, entry in doc["sets"].items():
        for row in entry["per_seed"]:
            saved = np.load(folder / f"{name}-seed{row['seed']}.npz")
            classes = [str(c) for c in saved["classes"]]
            flipped = {int(i) for i in saved["flipped"]}
            row["results"] = {
                "project": evaluate(
                    saved["rows"], [str(g) for g in saved["given"]], saved["probs"], classes,
                    flipped,
                ),
                "sklearn_cv": evaluate(
                    saved["imported"], [str(g) for g in saved["cv_given"]], saved["cv_probs"],
                    classes, flipped,
                ),
            }  # fmt: skip
        seeds = int(entry["seeds_done"].split(" of ")[1])
        doc["sets"][name] = set_entry(
            entry["modality"], [""] * entry["classes"], entry["per_seed"], seeds
        )
    doc["description"] = __doc__.split("\n\n", 2)[2].strip()
    doc["rescored_from_saved_probabilities"] = True
    out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def run_project(
    folder: Path, frame: pd.DataFrame, modality: str, classes: list[str], seed: int
) -> tuple[dict[int, int], pd.DataFrame, np.ndarray, list[str], np.ndarray, float, dict]:
    """Create, import, train and review through the product. Returns the map sample id ->
    row, Labeler's suspects (by table row), the stored out-of-fold rows, given labels and
    probabilities, the retrain's duration and the parameters its model selection chose."""
    csv = folder / "table.csv"
    frame.to_csv(csv, index=False)
    location = folder / "project"
    with Store.create(location, modality=modality, labels=classes) as store:
        pass
    features = None if modality == "text" else [c for c in frame.columns if c.startswith("f")]
    mapping = ColumnMapping(
        id_column="id",
        text_column="text" if modality == "text" else None,
        feature_columns=features,
        label_column="label",
    )
    with Store.open(location) as store:
        import_file(store, csv, mapping)
    start = time.perf_counter()
    run = train_once(location, TrainSettings.from_dict({"seed": seed, "queue_size": 10}))
    seconds = time.perf_counter() - start
    if run.status != "ok":
        raise RuntimeError(f"retrain failed: {run.error}")
    row_of_external = {ext: i for i, ext in enumerate(frame["id"])}
    with Store.open(location) as store:
        suspects = refresh_suspects(store)
        oof = oof_probabilities(store, classes)
        row_of_sample = {
            s.id: row_of_external[s.external_id]
            for s in store.samples.get_many(store.samples.ids())
        }
    suspects = suspects.assign(sample_id=[row_of_sample[int(s)] for s in suspects["sample_id"]])
    rows = np.array([row_of_sample[int(s)] for s in oof.sample_ids])
    given = [g[0] for g in oof.given]
    chosen = dict(run.params.get("chosen") or {})
    return row_of_sample, suspects, rows, given, oof.probs, seconds, chosen


def sklearn_probabilities(
    frame: pd.DataFrame, modality: str, classes: list[str], seed: int, chosen: dict
) -> np.ndarray:
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    settings = FeatureSettings()
    if modality == "text":
        X = text_matrix(frame["text"].astype(str), settings)
    else:
        X, _ = tabular_matrix(frame[[c for c in frame.columns if c.startswith("f")]], settings)
    estimator = make_estimator(resolve_model("auto", modality), modality, seed=seed)
    estimator.set_params(**{k: v for k, v in chosen.items() if k in estimator.get_params()})
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=1000 + seed)
    y = frame["label"].to_numpy()
    probs = cross_val_predict(estimator, X, y, cv=cv, method="predict_proba")
    fitted_order = sorted(classes)
    return probs[:, [fitted_order.index(c) for c in classes]]


def mean_table(per_seed: list[dict]) -> dict:
    out: dict = {}
    for source in per_seed[0]["results"]:
        out[source] = {}
        for method in per_seed[0]["results"][source]:
            values = [s["results"][source][method] for s in per_seed]
            out[source][method] = {
                key: round(float(np.mean([v[key] for v in values])), 4) for key in values[0]
            }
    return out


def set_entry(modality: str, classes: list[str], per_seed: list[dict], seeds: int) -> dict:
    """A data set's means over the seeds run so far, the goal check and the per-seed rows."""
    table_rows = mean_table(per_seed)
    return {
        "modality": modality,
        "rows": per_seed[0]["rows"],
        "classes": len(classes),
        "seeds_done": f"{len(per_seed)} of {seeds}",
        "mean": table_rows,
        "labeler_at_least_cleanlab": {
            source: all(
                methods["labeler"]["precision_at_k"] >= methods[m]["precision_at_k"]
                for m in methods
                if m.startswith("cleanlab")
            )
            for source, methods in table_rows.items()
        },
        "per_seed": per_seed,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "label_errors.json"))
    parser.add_argument(
        "--text-rows", type=int, help="a stratified sample of this many rows of the text set"
    )
    parser.add_argument("--text-table", help="the text set saved to CSV before (skips building)")
    parser.add_argument(
        "--keep-probabilities",
        metavar="DIR",
        help="also save each seed's probabilities, labels and flips here (.npz, for analysis)",
    )
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="recompute the rankings of --out from --keep-probabilities DIR (no retraining)",
    )
    args = parser.parse_args()
    if args.rescore:
        rescore(Path(args.keep_probabilities), Path(args.out))
        return 0
    doc: dict = {
        "description": __doc__.split("\n\n", 2)[2].strip(),
        "flip_share": FLIP_SHARE,
        "seeds": args.seeds,
        "text_rows": args.text_rows or "all",
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "conditions": {
            "load_average_start": [round(x, 2) for x in os.getloadavg()],
            "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS", "default"),
        },
        "versions": {
            "cleanlab": importlib.metadata.version("cleanlab"),
            "scikit-learn": importlib.metadata.version("scikit-learn"),
            **library_versions(),
        },
        "sets": {},
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for name in [s for s in args.sets.split(",") if s]:
        frame, modality = load(name, args.text_rows, args.text_table)
        classes = sorted(frame["label"].unique())
        per_seed = []
        for seed in range(args.seeds):
            noisy, where = flip(frame["label"].to_numpy(dtype=object), classes, seed)
            table = frame.assign(label=noisy)
            with tempfile.TemporaryDirectory() as tmp:
                row_of_sample, suspects, rows, given, probs, seconds, chosen = run_project(
                    Path(tmp), table, modality, classes, seed
                )
            imported = np.array(sorted(row_of_sample.values()))
            flipped = set(where.tolist()) & set(imported.tolist())
            results = {
                "project": evaluate(rows, given, probs, classes, flipped, labeler_frame=suspects)
            }
            same = table.iloc[imported].reset_index(drop=True)
            cv_probs = sklearn_probabilities(same, modality, classes, seed, chosen)
            results["sklearn_cv"] = evaluate(
                imported, list(same["label"]), cv_probs, classes, flipped
            )
            if args.keep_probabilities:
                keep = Path(args.keep_probabilities)
                keep.mkdir(parents=True, exist_ok=True)
                np.savez_compressed(
                    keep / f"{name}-seed{seed}.npz",
                    rows=rows,
                    given=np.array(given, dtype=str),
                    probs=probs,
                    imported=imported,
                    cv_given=np.array(list(same["label"]), dtype=str),
                    cv_probs=cv_probs,
                    flipped=np.array(sorted(flipped)),
                    classes=np.array(classes, dtype=str),
                )
            per_seed.append(
                {
                    "seed": seed,
                    "rows": int(len(imported)),
                    "flipped": len(flipped),
                    "retrain_seconds": round(seconds, 1),
                    "chosen": chosen,
                    "results": results,
                }
            )
            line = ", ".join(
                f"{src}/{m} {r['precision_at_k']:.3f}"
                for src, methods in results.items()
                for m, r in methods.items()
            )
            print(f"{name} seed {seed}: k={len(flipped)} precision@k {line}", flush=True)
            doc["sets"][name] = set_entry(modality, classes, per_seed, args.seeds)
            doc["conditions"]["load_average_now"] = [round(x, 2) for x in os.getloadavg()]
            out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out}")
    for name, entry in doc["sets"].items():
        for source, methods in entry["mean"].items():
            for method, r in methods.items():
                print(
                    f"{name:<14} {source:<11} {method:<28} precision@k {r['precision_at_k']:.3f}"
                    f"  recall@k {r['recall_at_k']:.3f}  flagged {r['flagged']:.0f}"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
