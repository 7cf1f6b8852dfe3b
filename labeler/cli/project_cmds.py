"""Project commands: init, import, info, demo."""

from __future__ import annotations

import argparse
from typing import Any

from labeler.cli.output import print_json, progress_bar
from labeler.errors import LabelerError, ProjectError
from labeler.learning.featureset import DEFAULT_TEXT_FEATURES, TEXT_FEATURES
from labeler.learning.settings import new_project_settings
from labeler.store import Store
from labeler.store.overlap import OverlapSettings


def register(sub: Any) -> None:
    p = sub.add_parser("init", help="create a project")
    p.add_argument("project", help="project folder (or URL#name with --database omitted)")
    p.add_argument("--modality", required=True, choices=["text", "image", "tabular"])
    p.add_argument("--labels", required=True, help="comma-separated label names, in shortcut order")
    p.add_argument("--multi-label", action="store_true", help="a sample may carry several labels")
    p.add_argument("--binary", action="store_true", help="two labels, accept/reject style")
    p.add_argument("--database", metavar="URL", help="team mode: a postgresql+psycopg:// URL")
    p.add_argument(
        "--text-features",
        choices=TEXT_FEATURES,
        help="text projects: TF-IDF, WordLlama sentence embeddings (offline) or both "
        f"(default: {DEFAULT_TEXT_FEATURES})",
    )
    p.add_argument(
        "--overlap",
        type=int,
        metavar="K",
        help="team mode: distinct annotators per overlap sample, for agreement (default: 1)",
    )
    p.add_argument(
        "--overlap-fraction",
        type=float,
        metavar="F",
        help="share of samples (0-1) that get --overlap annotators (default: 1)",
    )
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("import", help="import a data file or image folder into a project")
    p.add_argument("project")
    p.add_argument(
        "file", help="CSV, TSV, Parquet, JSONL, Excel, Label Studio JSON, or a folder of images"
    )
    g = p.add_mutually_exclusive_group()
    g.add_argument("--text-column", metavar="C")
    g.add_argument("--image-column", metavar="C")
    g.add_argument("--feature-columns", metavar="C1,C2,...")
    p.add_argument(
        "--embedding-column", metavar="C", help="a column of embedding vectors (list per row)"
    )
    p.add_argument(
        "--id-column", metavar="C", help="stable external id (default: column 'id' if present)"
    )
    p.add_argument(
        "--label-column", metavar="C", help="existing labels, imported as events by 'import'"
    )
    p.add_argument("--json", action="store_true", help="print the import report as JSON")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("info", help="show a project's counts")
    p.add_argument("project")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("demo", help="create a demo project (from bundled datasets) and open it")
    p.add_argument("--kind", choices=["digits", "text", "tabular"], default="digits")
    p.add_argument("--dir", metavar="DIR", help="project folder (default ./labeler-demo-KIND)")
    p.add_argument(
        "--screenshot", metavar="PNG", help="open the demo, save a screenshot of the window, exit"
    )
    p.add_argument(
        "--no-gui", action="store_true", help="only create the project and print its info"
    )
    p.set_defaults(func=cmd_demo)


def cmd_init(args: argparse.Namespace) -> int:
    labels = [x.strip() for x in args.labels.split(",") if x.strip()]
    if args.multi_label and args.binary:
        raise ProjectError("--multi-label and --binary exclude each other")
    task = "multi-label" if args.multi_label else "binary" if args.binary else "single-label"
    settings = new_project_settings(args.modality, args.text_features)
    if args.overlap is not None or args.overlap_fraction is not None:
        default = OverlapSettings()
        overlap = OverlapSettings(
            default.overlap if args.overlap is None else args.overlap,
            default.fraction if args.overlap_fraction is None else args.overlap_fraction,
        ).checked()
        settings.update(overlap.to_settings(settings))
    with Store.create(
        args.project,
        modality=args.modality,
        labels=labels,
        task_type=task,
        database_url=args.database,
        settings=settings,
    ) as store:
        print(
            f"created {store.info.task_type} {store.info.modality} project {store.info.name!r} in {store.location.folder}"
        )
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from labeler.data.importer import ColumnMapping, import_file
    from labeler.learning.batch_drift import batch_drift

    features = None
    if args.feature_columns:
        features = [c.strip() for c in args.feature_columns.split(",") if c.strip()]
    mapping = ColumnMapping(
        id_column=args.id_column,
        text_column=args.text_column,
        image_column=args.image_column,
        feature_columns=features,
        embedding_column=args.embedding_column,
        label_column=args.label_column,
    )
    with Store.open(args.project) as store:
        update, close = progress_bar("importing")
        try:
            report = import_file(store, args.file, mapping, progress=update)
        finally:
            close()
        drift = batch_drift(store, report.batch_id) if args.json else None
    if args.json:
        print_json({**report.__dict__, "drift": drift})
    else:
        print(
            f"imported {report.added} samples from {report.source} "
            f"({report.duplicates} duplicates skipped, {report.labels} labels)"
        )
        if report.duplicate_labels:
            print(
                f"note: {report.duplicate_labels} skipped duplicate rows carried a label; "
                "those labels were not imported (label the existing samples instead)"
            )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from labeler.data.demo import create_demo

    update, close = progress_bar("building demo")
    try:
        store = create_demo(args.kind, args.dir, progress=update)
    finally:
        close()
    folder = str(store.location.folder)
    summary = store.summary()
    store.close()
    if args.no_gui:
        print(format_summary(summary))
        return 0
    try:
        from labeler.cli.gui_cmds import run_gui
    except ImportError as exc:
        if args.screenshot:
            raise LabelerError(f"the desktop app is not available ({exc})") from None
        print(format_summary(summary))
        return 0
    return run_gui(folder, screenshot=args.screenshot)


def cmd_info(args: argparse.Namespace) -> int:
    from labeler.learning.batch_drift import batch_drift

    with Store.open(args.project) as store:
        summary = store.summary()
        summary["drift"] = batch_drift(store)
        overlap = OverlapSettings.from_settings(store.info.settings)
        summary["overlap"] = {"k": overlap.overlap, "fraction": overlap.fraction}
    if args.json:
        print_json(summary)
    else:
        print(format_summary(summary))
    return 0


def format_summary(s: dict[str, Any]) -> str:
    lines = [
        f"project   {s['project']} ({s['modality']}, {s['task_type']})",
        f"database  {s['database']}",
        f"samples   {s['samples']}  labeled {s['labeled']}  unlabeled {s['unlabeled']}"
        f"  skipped {s['skipped']}  flagged {s['flagged']}",
        "labels    "
        + "  ".join(
            f"[{lab['shortcut']}] {lab['name']}: {s['per_class'].get(lab['name'], 0)}"
            for lab in s["labels"]
        ),
    ]
    overlap = s.get("overlap")
    if overlap and overlap["k"] > 1:
        lines.append(f"overlap   {OverlapSettings(overlap['k'], overlap['fraction']).describe()}")
    if s["per_annotator"]:
        lines.append("annotators " + ", ".join(f"{a}: {n}" for a, n in s["per_annotator"].items()))
    for b in s["import_batches"]:
        lines.append(
            f"import #{b['id']}  {b['source']}  {b['rows']} rows, {b['duplicates']} duplicates skipped, {b['time']}"
        )
    drift = s.get("drift")
    if drift and drift.get("batch") is not None:
        lines.append(f"{drift['line']}  (import #{drift['batch']} vs labels of earlier imports)")
    return "\n".join(lines)
