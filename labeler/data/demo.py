"""Demo projects built from datasets that ship inside installed packages (nothing is downloaded).

* ``digits``: scikit-learn's 8x8 handwritten digits as PNG files (image modality, labels 0-9);
* ``tabular``: scikit-learn's wine recipes (13 measurements, three cultivars);
* ``text``: API docstrings of installed libraries (Python stdlib, NumPy, pandas,
  scikit-learn); the task is to tell which library a docstring comes from.

Each demo is imported unlabeled, so the annotator starts from a cold start. The true labels
are written next to the project as ``truth.csv`` (with the features, ready for
``labeler simulate``), never into the project.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import numpy as np
import pandas as pd

from labeler.data.importer import ColumnMapping, import_file
from labeler.errors import ProjectError
from labeler.learning.settings import new_project_settings
from labeler.progress import ProgressFn
from labeler.store import Store
from labeler.store.location import existing_db_file

DEMO_KINDS = ("digits", "text", "tabular")
TEXT_LIBRARIES = {
    "stdlib": [
        "os",
        "os.path",
        "re",
        "json",
        "collections",
        "itertools",
        "functools",
        "pathlib",
        "datetime",
        "statistics",
        "string",
        "shutil",
        "textwrap",
        "random",
        "math",
    ],
    "numpy": ["numpy", "numpy.linalg", "numpy.random", "numpy.fft", "numpy.ma"],
    "pandas": ["pandas", "pandas.api.types"],
    "scikit-learn": [
        "sklearn.linear_model",
        "sklearn.ensemble",
        "sklearn.metrics",
        "sklearn.preprocessing",
        "sklearn.cluster",
        "sklearn.model_selection",
        "sklearn.decomposition",
        "sklearn.feature_extraction.text",
        "sklearn.svm",
        "sklearn.neighbors",
        "sklearn.tree",
        "sklearn.utils",
    ],
}


def default_demo_dir(kind: str) -> Path:
    return Path.cwd() / f"labeler-demo-{kind}"


def create_demo(
    kind: str, folder: str | Path | None = None, progress: ProgressFn | None = None
) -> Store:
    """Create (or reopen, if it is already there) the demo project ``kind`` in ``folder``."""
    if kind not in DEMO_KINDS:
        raise ProjectError(f"unknown demo {kind!r}; choose one of {', '.join(DEMO_KINDS)}")
    folder = Path(folder) if folder is not None else default_demo_dir(kind)
    if existing_db_file(folder) is not None:
        return Store.open(folder)
    if folder.exists() and any(folder.iterdir()):
        raise ProjectError(
            f"{folder}: folder exists and is not a demo project; choose another --dir"
        )
    folder.mkdir(parents=True, exist_ok=True)
    data_dir = folder / "demo-data"
    data_dir.mkdir(exist_ok=True)
    if kind == "digits":
        pool, truth, labels = _digits(data_dir)
        store = Store.create(folder, modality="image", labels=labels, shortcuts=labels)
        mapping = ColumnMapping(id_column="id", image_column="image")
    elif kind == "tabular":
        pool, truth, labels = _wine()
        store = Store.create(folder, modality="tabular", labels=labels)
        mapping = ColumnMapping(
            id_column="id", feature_columns=[c for c in pool.columns if c != "id"]
        )
    else:
        pool, truth, labels = _docstrings()
        store = Store.create(
            folder, modality="text", labels=labels, settings=new_project_settings("text")
        )
        mapping = ColumnMapping(id_column="id", text_column="text")
    pool_file = data_dir / "pool.csv"
    pool.to_csv(pool_file, index=False)
    truth.to_csv(folder / "truth.csv", index=False)
    import_file(store, pool_file, mapping, progress=progress)
    store.update_settings(demo=kind)
    return store


def _digits(data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    from PIL import Image
    from sklearn.datasets import load_digits

    ds = load_digits()
    img_dir = data_dir / "images"
    img_dir.mkdir(exist_ok=True)
    ids, paths = [], []
    for i, img in enumerate(ds.images):
        arr = (255 - np.clip(img * 16, 0, 255)).astype(np.uint8)  # dark ink on white paper
        path = img_dir / f"digit-{i:04d}.png"
        Image.fromarray(arr, mode="L").save(path)
        ids.append(f"digit-{i:04d}")
        paths.append(f"images/{path.name}")
    pool = pd.DataFrame({"id": ids, "image": paths})
    truth = pd.DataFrame(ds.data, columns=[f"px{i}" for i in range(ds.data.shape[1])])
    truth.insert(0, "id", ids)
    truth["label"] = [str(t) for t in ds.target]
    return pool, truth, [str(d) for d in range(10)]


def _wine() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    from sklearn.datasets import load_wine

    ds = load_wine(as_frame=True)
    frame = ds.data.copy()
    frame.columns = [c.replace("/", "_") for c in frame.columns]
    frame.insert(0, "id", [f"wine-{i:03d}" for i in range(len(frame))])
    names = ["cultivar_A", "cultivar_B", "cultivar_C"]
    truth = frame.copy()
    truth["label"] = [names[t] for t in ds.target]
    return frame, truth, names


def _docstrings() -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    rows: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for library, modules in TEXT_LIBRARIES.items():
        for mod_name in modules:
            try:
                mod = importlib.import_module(mod_name)
            except ImportError:
                continue
            for name in sorted(dir(mod)):
                if name.startswith("_"):
                    continue
                obj = getattr(mod, name, None)
                if not (
                    inspect.isfunction(obj)
                    or inspect.isclass(obj)
                    or inspect.isbuiltin(obj)
                    or callable(obj)
                ):
                    continue
                doc = inspect.getdoc(obj) or ""
                summary = _first_paragraph(doc)
                if len(summary) < 25 or summary in seen:
                    continue
                seen.add(summary)
                rows.append((f"{mod_name}.{name}", summary, library))
    frame = pd.DataFrame(rows, columns=["source", "text", "label"])
    frame = frame.sample(frac=1.0, random_state=0).reset_index(drop=True)
    # the id must not give the answer away (a qualified name such as "numpy.add" names the
    # library): the annotator sees a neutral number; truth.csv keeps where each text is from
    frame.insert(0, "id", [f"doc-{i:05d}" for i in range(len(frame))])
    return frame[["id", "text"]], frame, list(TEXT_LIBRARIES)


def _first_paragraph(doc: str) -> str:
    para = doc.strip().split("\n\n")[0]
    return " ".join(para.split())[:600]
