"""The model card: a short markdown document pushed with every model version."""

from __future__ import annotations

import json
from typing import Any


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, dict | list):
        return "`" + json.dumps(value, default=str)[:200] + "`"
    return str(value)


def _exactness(lineage: dict[str, Any]) -> str:
    if lineage.get("exact"):
        return (
            f"- Exactly the training labels: the labels as of label event "
            f"{lineage.get('as_of_event')} (label-set SHA-256 "
            f"`{lineage.get('label_set_sha256', '?')}`, the run's own)"
        )
    return "- Labels at push time (the run did not record its exact label set)"


def model_card(
    *,
    name: str,
    modality: str,
    task_type: str,
    label_set: list[str],
    model_version: int | None,
    estimator: str,
    metrics: dict[str, Any],
    params: dict[str, Any],
    feature_settings: dict[str, Any],
    lineage: dict[str, Any],
    label_count: int | None,
) -> str:
    lines = [
        f"# Model card: {name}",
        "",
        f"- Task: {task_type} classification of {modality} samples",
        f"- Labels: {', '.join(label_set)}",
        f"- Estimator: `{estimator}`",
        f"- Project model version: {model_version if model_version is not None else 'n/a'}",
        f"- Trained on: {label_count if label_count is not None else 'n/a'} labels",
        "",
        "## Training data (lineage)",
        "",
    ]
    if lineage:
        lines += [
            f"- Snapshot: v{lineage.get('snapshot_version', '?')} of project "
            f"{lineage.get('project', name)!r} ({lineage.get('format', '?')}, "
            f"{lineage.get('rows', '?')} rows, label policy {lineage.get('label_policy', '?')})",
            f"- SHA-256: `{lineage.get('sha256', '?')}`",
            _exactness(lineage),
            f"- Schema version: {lineage.get('schema_version', '?')}",
            f"- Class counts: {_fmt(lineage.get('class_counts', {}))}",
            f"- Annotators: {_fmt(lineage.get('annotators', {}))}",
        ]
    else:
        lines.append("- not recorded")
    lines += ["", "## Metrics (cross-validated, from the training run)", ""]
    flat = {k: v for k, v in metrics.items() if not isinstance(v, dict)}
    if flat:
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {k} | {_fmt(v)} |" for k, v in sorted(flat.items())]
    else:
        lines.append("- none recorded")
    nested = {k: v for k, v in metrics.items() if isinstance(v, dict)}
    for key, value in sorted(nested.items()):
        lines.append(f"- {key}: {_fmt(value)}")
    lines += ["", "## Features and parameters", ""]
    lines.append(f"- Feature settings: {_fmt(feature_settings) if feature_settings else 'default'}")
    for key, value in sorted(params.items()):
        lines.append(f"- {key}: {_fmt(value)}")
    lines += [
        "",
        "## Use and limits",
        "",
        "- Intended for the labeling project above; scores are estimates from cross-validation",
        "  on the labels available at training time, which active learning picks non-randomly.",
        "- The model file is a pipeline from raw input columns to class probabilities;",
        "  score a file of raw rows with `labeler predict <registry>#NAME@champion FILE --out",
        "  OUT`, or load it with Labeler's registry (`labeler.registry.open_registry(uri)",
        "  .load(name, 'champion')`): the file's SHA-256 is checked and only trusted types",
        "  are loaded. In MLflow: `mlflow.pyfunc.load_model('models:/NAME@champion')`.",
        "",
    ]
    return "\n".join(lines)
