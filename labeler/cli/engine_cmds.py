"""``labeler train``, ``labeler queue`` and ``labeler simulate``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from labeler.cli.output import print_json, progress_bar
from labeler.errors import LabelerError


class TrainFailed(LabelerError):
    """The retrain was recorded as failed (the previous model stays in use)."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="retrain the model on the current labels and rank the queue")
    p.add_argument("project", help="project folder or DATABASE_URL#name")
    p.add_argument("--strategy", help="query strategy (default: the project's setting)")
    p.add_argument("--model", help="model from the catalog (default: the project's setting)")
    p.add_argument("--queue-size", type=int, help="how many samples to rank")
    p.add_argument(
        "--compute",
        help="where pool scoring runs: local, dask-local[:N] or dask://HOST:PORT "
        "(default: the project's setting)",
    )
    p.add_argument(
        "--tracking",
        metavar="mlflow:URI",
        help="log this retrain as an MLflow run there (default: the project's setting; "
        "'' for none)",
    )
    p.add_argument("--json", action="store_true", help="print the run record as JSON")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("queue", help="show the next samples to label and why each was chosen")
    p.add_argument("project", help="project folder or DATABASE_URL#name")
    p.add_argument("-n", type=int, default=10, help="how many (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_queue)

    p = sub.add_parser(
        "simulate", help="replay active learning on labeled data to compare strategies"
    )
    p.add_argument("file", help="CSV, TSV, Parquet or JSONL table")
    p.add_argument("--label-column", required=True, help="column holding the true label")
    p.add_argument("--text-column", help="use this text column as the only feature")
    p.add_argument(
        "--strategy",
        default="margin",
        help="comma-separated strategies (random is always added as the baseline)",
    )
    p.add_argument("--seeds", type=int, default=5, help="repetitions (default 5)")
    p.add_argument("--budget", type=int, help="labels to spend (default: the pool, at most 2000)")
    p.add_argument("--model", default="auto", help="model from the catalog (default auto)")
    p.add_argument(
        "--metric",
        default="macro-f1",
        help="score of the learning curves: accuracy or macro-f1 (default macro-f1)",
    )
    p.add_argument("--initial", type=int, help="random labels to start from")
    p.add_argument("--json", dest="json_out", metavar="OUT", help="write the report JSON here")
    p.add_argument("--plot", metavar="PNG", help="draw the learning curves to this PNG")
    p.set_defaults(func=cmd_simulate)


# -- train -------------------------------------------------------------------------------------


def _train_as_the_one_trainer(location: Any, settings: Any) -> Any:
    """Train holding the project's trainer lock (waiting for a colleague's app to finish its
    retrain first): one trainer per project, the CLI included."""
    import uuid

    from labeler.learning.training import default_trainer, train_once
    from labeler.store import Store
    from labeler.store.train_lease import TrainLease, current_trainer

    trainer = default_trainer()
    with Store.open(location) as store:
        lease = TrainLease(store, trainer, uuid.uuid4().hex)
        holder = current_trainer(store)
        if holder is not None:
            print(f"waiting for {holder.holder}'s retrain to finish", file=sys.stderr)
        lease.acquire(wait=True)
        update, close = progress_bar("training", unit="%")
        try:
            return train_once(location, settings, progress=update, trainer=trainer)
        finally:
            close()
            lease.release(keep_pending=True)  # colleagues' apps still retrain on request


def cmd_train(args: argparse.Namespace) -> int:
    from labeler.learning.catalog import resolve_model
    from labeler.learning.features import feature_kind
    from labeler.learning.settings import TrainSettings
    from labeler.learning.strategies import check_strategy
    from labeler.store import Store

    changes: dict[str, Any] = {}
    if args.strategy:
        changes["strategy"] = args.strategy
    if args.model:
        changes["model"] = args.model
    if args.queue_size is not None:
        if args.queue_size < 1:
            raise LabelerError("--queue-size must be at least 1")
        changes["queue_size"] = args.queue_size
    if args.compute:
        from labeler.learning.compute import parse_compute

        changes["compute"] = str(parse_compute(args.compute))
    if args.tracking is not None:
        from labeler.learning.tracking import parse_tracking

        parse_tracking(args.tracking)  # a malformed URI is refused before training
        changes["tracking"] = args.tracking.strip()
    with Store.open(args.project) as store:
        settings = TrainSettings.from_project(store).with_(**changes)
        location = store.location
        # Bad options are refused here, before a failed run is recorded in the project.
        check_strategy(settings.strategy)
        resolve_model(settings.model, feature_kind(store, settings.features))
    run = _train_as_the_one_trainer(location, settings)
    from labeler.learning.after_run import after_retrain

    after = after_retrain(location, settings, run)
    for warning in after.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    doc = {**_run_doc(run), "mlflow_run_id": after.mlflow_run_id}
    if args.json:
        print_json(doc)
    elif run.status == "ok":
        m = run.metrics
        acc = "n/a" if m.get("accuracy") is None else f"{m['accuracy']:.3f}"
        f1 = "n/a" if m.get("macro_f1") is None else f"{m['macro_f1']:.3f}"
        print(
            f"model v{run.model_version}: {run.label_count} labels, {run.params.get('model')}, "
            f"cross-validated accuracy {acc}, macro-F1 {f1} ({m.get('cv_folds')} folds)"
        )
        with Store.open(location) as store:
            ranked = len(store.models.queue())
        print(
            f"queue: {ranked} samples ranked by {run.strategy} "
            f"in {run.durations.get('total', 0):.1f} s; model saved to {run.artifact}"
        )
        if after.mlflow_run_id:
            print(f"tracked as MLflow run {after.mlflow_run_id}")
    if run.status != "ok":
        with Store.open(location) as store:
            head = store.models.queue(1)
            fresh = store.models.latest_ok() is None
        if fresh and head and head[0].strategy == "cold-start":
            kept = "no model yet; the queue holds diverse samples to label first"
        elif fresh:
            kept = "no model yet"
        else:
            kept = "previous model and queue kept"
        raise TrainFailed(f"training failed: {run.error} ({kept})")
    return 0


def _run_doc(run: Any) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "status": run.status,
        "model_version": run.model_version,
        "label_count": run.label_count,
        "strategy": run.strategy,
        "metrics": run.metrics,
        "durations": run.durations,
        "params": run.params,
        "artifact": run.artifact,
        "artifact_sha256": run.artifact_sha256,
        "error": run.error,
        "started_at": run.started_at.isoformat(timespec="seconds") + "Z",
        "finished_at": run.finished_at.isoformat(timespec="seconds") + "Z"
        if run.finished_at
        else None,
    }


# -- queue -------------------------------------------------------------------------------------


def cmd_queue(args: argparse.Namespace) -> int:
    from labeler.learning.strategies import SCORE_MEANING
    from labeler.store import Store

    if args.n < 1:
        raise LabelerError("-n must be at least 1")
    with Store.open(args.project) as store:
        entries = store.models.queue(args.n)
        samples = {s.id: s for s in store.samples.get_many([e.sample_id for e in entries])}
        preds = store.models.predictions([e.sample_id for e in entries])
    rows = []
    for e in entries:
        s = samples.get(e.sample_id)
        p = preds.get(e.sample_id)
        rows.append(
            {
                "rank": e.rank,
                "sample_id": e.sample_id,
                "external_id": s.external_id if s else None,
                "strategy": e.strategy,
                "score": e.score,
                "score_meaning": SCORE_MEANING.get(e.strategy, ""),
                "model_version": e.model_version,
                "predicted": list(p.labels) if p else None,
                "confidence": p.confidence if p else None,
                "preview": _preview(s) if s else "",
            }
        )
    if args.json:
        print_json(rows)
        return 0
    if not rows:
        print("the queue is empty: run `labeler train PROJECT` (or everything is labeled)")
        return 0
    for r in rows:
        score = "-" if r["score"] is None else f"{r['score']:.4f}"
        version = "none" if r["model_version"] is None else f"v{r['model_version']}"
        guess = ""
        if r["predicted"] is not None:
            guess = f"  predicted {','.join(r['predicted']) or '(none)'} ({r['confidence']:.2f})"
        print(
            f"{r['rank'] + 1:>4}. {r['external_id']}  {r['strategy']} score {score}, "
            f"model {version}{guess}  {r['preview']}"
        )
    return 0


def _preview(sample: Any, width: int = 60) -> str:
    if sample.text:
        text = " ".join(sample.text.split())
    elif sample.file_ref:
        text = sample.file_ref
    elif sample.data:
        text = ", ".join(f"{k}={v}" for k, v in list(sample.data.items())[:4])
    else:
        text = ""
    return text if len(text) <= width else text[: width - 1] + "…"


# -- simulate ----------------------------------------------------------------------------------


def cmd_simulate(args: argparse.Namespace) -> int:
    from labeler.learning.simulate import check_metric, prepare, read_table, simulate, write_json
    from labeler.learning.strategies import check_strategy

    strategies = [s.strip() for s in args.strategy.split(",") if s.strip()]
    for name in strategies:
        check_strategy(name)
    check_metric(args.metric)
    if args.seeds < 1:
        raise LabelerError("--seeds must be at least 1")
    if args.initial is not None and args.initial < 1:
        raise LabelerError("--initial must be at least 1")
    if args.budget is not None and args.budget < 2:
        raise LabelerError("--budget must be at least 2")
    frame = read_table(args.file)
    table = prepare(frame, args.label_column, source=args.file, text_column=args.text_column)

    def log(message: str) -> None:
        print(f"simulate: {message}", file=sys.stderr, flush=True)

    if table.ignored:
        log(f"identifier column(s) {', '.join(table.ignored)} left out of the features")
    log(
        f"{len(table.y)} rows, {len(set(table.y))} classes, {table.kind} features "
        f"({table.X.shape[1]} columns); strategies {', '.join(['random', *strategies])}"
    )
    doc = simulate(
        table,
        strategies,
        seeds=args.seeds,
        budget=args.budget,
        model=args.model,
        metric=args.metric,
        initial=args.initial,
        log=log,
    )
    if args.json_out:
        write_json(doc, args.json_out)
    if args.plot:
        from labeler.learning.plots import plot_simulation

        plot_simulation(doc, args.plot)
    print(
        f"full-data {doc['metric']} {doc['full_score']:.3f} ({doc['model']}, {doc['seeds']} seeds)"
    )
    print("  labels from which the mean curve stays at or above the target (first reached):")

    def count(value: int | None) -> str:
        return "never" if value is None else f"{value:g}"

    for name, entry in doc["strategies"].items():
        to95 = f"{count(entry['labels_to_95'])} ({count(entry['first_reach_95'])})"
        to98 = f"{count(entry['labels_to_98'])} ({count(entry['first_reach_98'])})"
        print(f"  {name:<16} 95%: {to95:>13}   98%: {to98:>13}")
    return 0
