"""``labeler predict MODEL FILE --out PATH``: score raw rows with a trained model."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from labeler.cli.output import print_json, progress_bar


def register(sub: Any) -> None:
    from labeler.registry.formats import FORMATS

    p = sub.add_parser(
        "predict",
        help="score a file of raw rows with a project's model or a registry version",
        description=(
            "MODEL is a project (its champion, else its latest model), or a registry folder "
            "or mlflow:<tracking uri> followed by #NAME@ALIAS or #NAME:VERSION."
        ),
    )
    p.add_argument("model", metavar="MODEL")
    p.add_argument("file", metavar="FILE", help="CSV, TSV, Parquet, JSONL, Excel or image folder")
    p.add_argument("--out", required=True, metavar="PATH", help="the predictions (replaced)")
    p.add_argument("--format", choices=list(FORMATS), help="default: from --out's suffix, else csv")
    p.add_argument("--id-column", metavar="C", help="the rows' id (default: 'id', else row number)")
    p.add_argument("--json", action="store_true", help="print the report as one JSON document")
    p.set_defaults(func=cmd_predict)


def report_hooks() -> list[Any]:
    """Extra entries of the JSON report (each a :data:`labeler.registry.predict.ReportHook`)."""
    from labeler.registry.predict_drift import predict_drift

    return [predict_drift]


def cmd_predict(args: argparse.Namespace) -> int:
    from labeler.registry.model_ref import load_model_ref
    from labeler.registry.predict import predict_file

    model = load_model_ref(args.model)
    update, close = progress_bar("predict")
    try:
        report = predict_file(
            model,
            args.file,
            args.out,
            fmt=args.format,
            id_column=args.id_column,
            progress=update,
            hooks=report_hooks() if args.json else (),
        )
    finally:
        close()
    if args.json:
        print_json(report.to_json())
    else:
        counts = ", ".join(f"{k}: {v}" for k, v in report.class_counts.items())
        print(
            f"predicted {report.rows} rows with {model.name} v{model.version} "
            f"(sha256 {model.sha256[:12]}) to {report.out}\n{counts}"
        )
        print(f"{report.rows / max(report.seconds, 1e-9):,.0f} rows/s", file=sys.stderr)
    return 0
