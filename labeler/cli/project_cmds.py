"""Project commands: init, import, info, demo."""

from __future__ import annotations

import argparse
from typing import Any

from labeler.cli.output import print_json
from labeler.errors import ProjectError
from labeler.store import Store


def register(sub: Any) -> None:
    p = sub.add_parser("init", help="create a project")
    p.add_argument("project", help="project folder (or URL#name with --database omitted)")
    p.add_argument("--modality", required=True, choices=["text", "image", "tabular"])
    p.add_argument("--labels", required=True, help="comma-separated label names, in shortcut order")
    p.add_argument("--multi-label", action="store_true", help="a sample may carry several labels")
    p.add_argument("--binary", action="store_true", help="two labels, accept/reject style")
    p.add_argument("--database", metavar="URL", help="team mode: a postgresql+psycopg:// URL")
    p.set_defaults(func=cmd_init)

    p = sub.add_parser("info", help="show a project's counts")
    p.add_argument("project")
    p.add_argument("--json", action="store_true", help="print one JSON document")
    p.set_defaults(func=cmd_info)


def cmd_init(args: argparse.Namespace) -> int:
    labels = [x.strip() for x in args.labels.split(",") if x.strip()]
    if args.multi_label and args.binary:
        raise ProjectError("--multi-label and --binary exclude each other")
    task = "multi-label" if args.multi_label else "binary" if args.binary else "single-label"
    with Store.create(
        args.project,
        modality=args.modality,
        labels=labels,
        task_type=task,
        database_url=args.database,
    ) as store:
        print(
            f"created {store.info.task_type} {store.info.modality} project {store.info.name!r} in {store.location.folder}"
        )
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    with Store.open(args.project) as store:
        summary = store.summary()
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
    if s["per_annotator"]:
        lines.append("annotators " + ", ".join(f"{a}: {n}" for a, n in s["per_annotator"].items()))
    for b in s["import_batches"]:
        lines.append(
            f"import #{b['id']}  {b['source']}  {b['rows']} rows, {b['duplicates']} duplicates skipped, {b['time']}"
        )
    return "\n".join(lines)
