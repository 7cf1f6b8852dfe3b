"""A Labeler pipeline as an MLflow ``pyfunc`` model: ``mlflow.pyfunc.load_model(uri)
.predict(raw_dataframe)`` runs it in any process, and ``mlflow models serve`` serves it.

Saved as a model *from code* (MLflow's safe format, no cloudpickle): the model directory
holds

* ``pyfunc_model.py`` (:mod:`labeler.registry.pyfunc_model`), which MLflow executes on load;
  it builds a :class:`LabelerPyfunc`;
* ``artifacts/model.skops``: the pipeline, loaded with skops and Labeler's list of trusted
  types after its SHA-256 is checked against the one in the model config;
* ``code/labeler``: the Qt-free part of this Labeler (``code_paths``), so the loading
  process needs scikit-learn, skops and pandas but not an installed Labeler;
* a signature of the raw input columns (text: one string column ``text``; tabular: the
  feature columns, numbers as ``double``, categories as ``string``; images: ``image``, file
  paths) and the outputs, and an input example of raw rows.

``predict`` returns one row per input row: ``label`` (several labels of a multi-label model
joined by ``|``) and ``proba_<class>`` per class.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd

LABEL_SEPARATOR = "|"
PIPELINE_ARTIFACT = "pipeline"


class LabelerPyfunc(mlflow.pyfunc.PythonModel):
    """Loads the pipeline safely (SHA-256, trusted types) and scores raw rows."""

    def load_context(self, context: Any) -> None:
        from labeler.registry.trust import load_trusted

        config = context.model_config or {}
        self.pipeline = load_trusted(context.artifacts[PIPELINE_ARTIFACT], config["sha256"])

    # no type hints here: MLflow reads them as a schema (the signature is given explicitly)
    def predict(self, context, model_input, params=None):  # noqa: ANN001, ANN201
        return predictions_table(self.pipeline, _as_frame(model_input))


def _as_frame(model_input: Any) -> pd.DataFrame:
    if isinstance(model_input, pd.DataFrame):
        return model_input
    if isinstance(model_input, dict):
        return pd.DataFrame(model_input)
    return pd.DataFrame({"text": list(model_input)})


def predictions_table(pipeline: Any, frame: pd.DataFrame) -> pd.DataFrame:
    """``label`` and ``proba_<class>`` columns for the raw rows of ``frame``."""
    from labeler.learning.pipeline import predict_frame

    labels, proba = predict_frame(pipeline, frame)
    out = pd.DataFrame({"label": [LABEL_SEPARATOR.join(lab) for lab in labels]})
    for j, name in enumerate(pipeline.labeler_info_["classes"]):
        out[f"proba_{name}"] = proba[:, j]
    return out


def signature_of(pipeline: Any, example: pd.DataFrame | None) -> Any:
    """Raw input columns and their types; the output table's columns."""
    from mlflow.models import ModelSignature, infer_signature
    from mlflow.types import ColSpec, Schema

    info = pipeline.labeler_info_
    outputs = Schema(
        [ColSpec("string", "label")] + [ColSpec("double", f"proba_{c}") for c in info["classes"]]
    )
    inputs = info["inputs"]
    if any(kind == "array" for kind in inputs.values()):
        if example is None:
            return None
        return ModelSignature(inputs=infer_signature(example).inputs, outputs=outputs)
    tabular = info["feature_kind"] == "tabular"
    specs = [ColSpec(kind, name, required=not tabular) for name, kind in inputs.items()]
    return ModelSignature(inputs=Schema(specs), outputs=outputs)


def _code_copy(target: Path) -> Path:
    """The Qt-free part of the ``labeler`` package, copied under ``target``."""
    import labeler

    source = Path(labeler.__file__).parent
    dest = target / "labeler"
    shutil.copytree(
        source, dest, ignore=shutil.ignore_patterns("gui", "__pycache__", "*.pyc", "assets")
    )
    return dest


def requirements(pipeline: Any) -> list[str]:
    """What a fresh environment needs to load and run the pipeline (pinned as here)."""
    from importlib.metadata import PackageNotFoundError, version

    names = ["scikit-learn", "skops", "pandas", "numpy", "scipy", "pyarrow", "SQLAlchemy"]
    info = pipeline.labeler_info_
    if info["feature_kind"] == "text" and "embedding" in str(
        pipeline.named_steps["features"].get_params().get("parts", "")
    ):
        names.append("wordllama")
    if info["feature_kind"] == "image":
        names.append("pillow")
    out = []
    for name in names:
        try:
            out.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            out.append(name)
    return out


def save_pyfunc(
    pipeline: Any, skops_path: Path, sha256: str, target: Path, example: pd.DataFrame | None
) -> None:
    """Save the pipeline at ``skops_path`` (SHA-256 ``sha256``) as an MLflow pyfunc model in
    the new folder ``target`` (see the module docstring)."""
    from labeler.registry import pyfunc_model

    with tempfile.TemporaryDirectory(prefix="labeler-pyfunc-") as tmp:
        code = _code_copy(Path(tmp))
        mlflow.pyfunc.save_model(
            str(target),
            python_model=pyfunc_model.__file__,
            artifacts={PIPELINE_ARTIFACT: str(skops_path)},
            model_config={"sha256": sha256},
            code_paths=[str(code)],
            signature=signature_of(pipeline, example),
            input_example=example,
            pip_requirements=requirements(pipeline),
        )
