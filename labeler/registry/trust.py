"""Loading a model file safely: SHA-256 checked first, then skops with our own trusted types.

The list of trusted types is the application's, fixed here in the code. It is never read from
the model file, and no model is ever loaded with pickle. skops itself trusts plain scikit-learn
estimators, NumPy arrays and builtins; the types below are the extra, known-safe internals
of the estimators Labeler trains (trees, boosted trees, calibration).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import skops.io as sio
from skops.io.exceptions import UntrustedTypesFoundException

from labeler.errors import LabelerError
from labeler.hashing import file_sha256

TRUSTED_TYPES: tuple[str, ...] = (
    "numpy.dtype",
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
    "sklearn.ensemble._hist_gradient_boosting.binning._BinMapper",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.isotonic.IsotonicRegression",
    "sklearn._loss.loss.HalfBinomialLoss",
    "sklearn._loss.loss.HalfMultinomialLoss",
    "sklearn._loss.link.LogitLink",
    "sklearn._loss.link.MultinomialLogit",
    "sklearn._loss.link.Interval",
    # the raw-input steps of Labeler's model pipelines (labeler.learning.pipeline): plain
    # attributes only (column names, numbers, arrays), no code runs on load
    "labeler.learning.pipeline.TextInput",
    "labeler.learning.pipeline.TabularInput",
    "labeler.learning.pipeline.ImageInput",
    "labeler.learning.pipeline.VectorInput",
)


class ModelIntegrityError(LabelerError):
    """A model file is not what the registry recorded, or holds types we do not trust."""


def load_trusted(path: str | Path, expected_sha256: str) -> Any:
    """Load a skops model after checking its SHA-256; refuse untrusted types."""
    path = Path(path)
    if not path.is_file():
        raise ModelIntegrityError(f"{path}: model file is missing")
    actual = file_sha256(path)
    if actual != expected_sha256:
        raise ModelIntegrityError(
            f"{path}: SHA-256 {actual[:12]}... does not match the recorded "
            f"{expected_sha256[:12]}...; the file was changed, refusing to load it"
        )
    try:
        return sio.load(path, trusted=list(TRUSTED_TYPES))
    except UntrustedTypesFoundException as exc:
        raise ModelIntegrityError(
            f"{path}: holds types Labeler does not trust ({exc}); refusing to load it"
        ) from None
    except Exception as exc:  # noqa: BLE001 - a corrupt archive is reported as one line
        raise ModelIntegrityError(f"{path}: not a readable skops model ({exc})") from None
