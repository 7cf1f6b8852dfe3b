"""Export and registry commands: ``labeler export``, ``labeler registry push|list``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from labeler.cli.output import print_json, progress_bar
from labeler.store import Store


def register(sub: Any) -> None:
    from labeler.export import FORMATS
    from labeler.export.policy import POLICIES

    p = sub.add_parser("export", help="export the labeled samples as a versioned snapshot")
    p.add_argument("project")
    p.add_argument("--format", required=True, choices=list(FORMATS))
    p.add_argument("--out", required=True, metavar="PATH", help="new file (never overwritten)")
    p.add_argument(
        "--policy",
        default="latest",
        choices=list(POLICIES),
        help="which label to take when several annotators labeled a sample (default: latest)",
    )
    p.add_argument(
        "--document-root",
        metavar="DIR",
        help="label-studio: image URLs are /data/local-files/?d=<path under DIR> (Label "
        "Studio's LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT); kept as the project's setting, "
        "so imports map them back (default: /)",
    )
    p.add_argument("--json", action="store_true", help="print the manifest as JSON")
    p.set_defaults(func=cmd_export)

    reg = sub.add_parser("registry", help="push models to a registry and list them")
    rsub = reg.add_subparsers(dest="registry_command", metavar="ACTION", required=True)
    p = rsub.add_parser("push", help="push the project's latest model")
    p.add_argument("project")
    p.add_argument("--registry", metavar="URI", help="folder or mlflow:<tracking uri>")
    p.add_argument("--force", action="store_true", help="make it champion without comparing scores")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_push)
    p = rsub.add_parser("list", help="list model versions and their aliases")
    p.add_argument("project", nargs="?", help="use this project's default registry folder")
    p.add_argument("--registry", metavar="URI", help="folder or mlflow:<tracking uri>")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_list)


def cmd_export(args: argparse.Namespace) -> int:
    from labeler.export import export_dataset

    with Store.open(args.project) as store:
        if args.document_root:
            root = str(Path(args.document_root).expanduser().resolve())
            store.update_settings(label_studio={"document_root": root})
        update, close = progress_bar("export")
        try:
            result = export_dataset(
                store, args.format, args.out, policy=args.policy, progress=update
            )
        finally:
            close()
    m = result.manifest
    if args.json:
        print_json({"path": str(result.path), "manifest_path": str(result.manifest_path), **m})
    else:
        counts = ", ".join(f"{k}: {v}" for k, v in m["class_counts"].items())
        print(
            f"exported snapshot v{m['snapshot_version']}: {m['rows']} rows ({counts}) to "
            f"{result.path}\nmanifest {result.manifest_path}  sha256 {m['sha256']}"
        )
    return 0


def cmd_push(args: argparse.Namespace) -> int:
    from labeler.registry import open_registry
    from labeler.registry.push import push_project_model

    with Store.open(args.project) as store:
        registry = open_registry(args.registry, store)
        update, close = progress_bar("snapshot")
        try:
            result = push_project_model(store, registry, force=args.force, progress=update)
        finally:
            close()
    if args.json:
        print_json({"registry": registry.uri, **result.to_json()})
    else:
        v, prom = result.version, result.promotion
        print(
            f"pushed {v.name} v{v.version} to {registry.uri} (aliases: {', '.join(v.aliases)})\n"
            f"{'promoted to champion' if prom.promoted else 'not promoted'}: {prom.reason}"
        )
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    from labeler.registry import open_registry

    if args.project and not args.registry:
        with Store.open(args.project) as store:
            registry = open_registry(None, store)
    else:
        registry = open_registry(args.registry)
    versions = registry.versions()
    if args.json:
        print_json({"registry": registry.uri, "versions": [v.to_json() for v in versions]})
        return 0
    if not versions:
        print(f"no models in {registry.uri}")
        return 0
    for v in versions:
        score = v.metrics.get("accuracy", v.metrics.get("macro_f1"))
        score_text = f"  accuracy {score:.3f}" if isinstance(score, float) else ""
        aliases = f"  [{', '.join(v.aliases)}]" if v.aliases else ""
        print(f"{v.name} v{v.version}  {v.created_at}{score_text}  sha256 {v.sha256[:12]}{aliases}")
    return 0
