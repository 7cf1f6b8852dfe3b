"""Data sets for the benchmarks, built from files that ship inside installed packages.

Nothing is downloaded: scikit-learn's bundled tables (digits, wine, breast cancer) and a
text set read from the source of installed libraries.

``api_summaries``: the first paragraph of the docstring of every public function, class and
method (one line of 3+ words, at most 200 characters) in the Python standard library and
in NumPy, SciPy, pandas, scikit-learn, matplotlib and SQLAlchemy (Labeler's own
dependencies and theirs), labeled with the library it comes from. Short, message-like texts
in seven imbalanced classes (the standard library holds about a third, NumPy about 6%);
summaries that occur in more than one library are left out (their label is ambiguous). The
files are parsed, never imported, so building the set runs no library code.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import sysconfig
from pathlib import Path

import pandas as pd
from sklearn.datasets import load_breast_cancer, load_digits, load_wine

LIBRARIES = ("numpy", "scipy", "pandas", "sklearn", "matplotlib", "sqlalchemy")
DISTRIBUTIONS = {"sklearn": "scikit-learn", "sqlalchemy": "SQLAlchemy"}
SKIP_PARTS = {"test", "tests", "testing", "site-packages", "idlelib", "lib2to3"}


def sklearn_table(name: str) -> pd.DataFrame:
    """One of scikit-learn's bundled tables with its target as the ``label`` column."""
    loader = {"digits": load_digits, "wine": load_wine, "breast-cancer": load_breast_cancer}[name]
    data = loader()
    columns = [str(c) for c in getattr(data, "feature_names", [])] or [
        f"x{i}" for i in range(data.data.shape[1])
    ]
    frame = pd.DataFrame(data.data, columns=columns)
    frame["label"] = [str(data.target_names[t]) for t in data.target]
    return frame


def _roots() -> dict[str, Path]:
    roots = {"stdlib": Path(sysconfig.get_paths()["stdlib"])}
    for name in LIBRARIES:
        roots[name] = Path(importlib.import_module(name).__file__).parent
    return roots


def _summaries(root: Path) -> set[str]:
    found: set[str] = set()
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if SKIP_PARTS & set(parts) or any(p.startswith("_") for p in parts[:-1]):
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            if node.name.startswith("_"):
                continue
            doc = ast.get_docstring(node)
            if not doc:
                continue
            first = " ".join(doc.strip().split("\n\n")[0].split())
            if len(first.split()) >= 3 and len(first) <= 200:
                found.add(first)
    return found


def api_summaries() -> pd.DataFrame:
    """The ``api_summaries`` text set (columns ``text``, ``label``), in a stable order."""
    owners: dict[str, set[str]] = {}
    for library, root in _roots().items():
        for text in _summaries(root):
            owners.setdefault(text, set()).add(library)
    rows = sorted((text, next(iter(libs))) for text, libs in owners.items() if len(libs) == 1)
    return pd.DataFrame(rows, columns=["text", "label"])


def library_versions() -> dict[str, str]:
    """Versions of the libraries the text set is read from (it changes with them)."""
    out = {"python-stdlib": sysconfig.get_python_version()}
    for name in LIBRARIES:
        out[name] = importlib.metadata.version(DISTRIBUTIONS.get(name, name))
    return out


def text_set(rows: int | None, table: str | None) -> pd.DataFrame:
    """The API-summaries text set (``table``: the same set saved to CSV earlier, to skip
    rebuilding it), or a stratified sample of ``rows`` of it (fixed: random_state 0)."""
    frame = pd.read_csv(table) if table else api_summaries()
    if rows is None or rows >= len(frame):
        return frame
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(frame, train_size=rows, stratify=frame["label"], random_state=0)
    return keep.sort_index().reset_index(drop=True)
