"""The code MLflow runs to build a Labeler pyfunc model (a model *from code*: no pickle).

MLflow executes this file when it loads the model; see :mod:`labeler.registry.pyfunc`.
"""

from mlflow.models import set_model

from labeler.registry.pyfunc import LabelerPyfunc

set_model(LabelerPyfunc())
